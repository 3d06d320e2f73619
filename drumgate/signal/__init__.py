"""Audio: probing and loading, onset detection, drum transcription and its evaluation."""
