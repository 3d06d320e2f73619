"""drumgate: keep drum-transcription training data in git and trust it."""

__version__ = "0.1.0"
