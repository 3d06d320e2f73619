"""What the schema of `configs/musdb.json` cannot say, checked when it is loaded, before any track.

A schema checks each value on its own; these rules tie values together: the drum stem must be one of
the stems probed, the `transcription` band must keep some frequency (`fmin` below `fmax` and below
half the sample rate, and wide enough to hold a spectrogram bin), and its frames must not step over
audio (`hop_s` no longer than `fft_s`). Broken, each one only showed up per track: a StopIteration,
numpy warnings, or an empty manifest refused without naming the setting. `configs/onsets.json` has
its own check (`drumgate.signal.onsets.load_onset_blocks`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate.errors import DrumgateError

if TYPE_CHECKING:
    import numpy as np

PROBE_SECONDS = 0.5


def check_musdb(path: Path, raw: Mapping[str, Any]) -> None:
    """`configs/musdb.json`, already valid for its schema."""
    stems = list(raw["stems"])
    drum_stem = raw["drum_stem"]
    if drum_stem not in stems:
        raise DrumgateError(f"drum_stem {drum_stem!r} is not among stems ({', '.join(stems)}): no track's drums"
                            " would be read", path=path,
                            hint=f"fix: set drum_stem to one of stems, or add {json.dumps(drum_stem)} to stems")
    from drumgate.signal.transcribe import TEMPLATE_SR, TranscribeParams, mel_spectrogram

    try:
        params = TranscribeParams.from_mapping(raw["transcription"])
    except DrumgateError as err:
        err.path = err.path or path
        raise
    shipped = TranscribeParams()
    # the templates are rendered at TEMPLATE_SR and the stems read at sample_rate: the band must suit both
    rates = sorted({int(raw["sample_rate"]), TEMPLATE_SR})
    _check_band(path, (params.fmin, params.fmax), (shipped.fmin, shipped.fmax), rates,
                lambda sr: bool(mel_spectrogram(_noise(sr), sr, params).any()))
    if params.hop_s > params.fft_s:
        raise DrumgateError(f"transcription.hop_s {params.hop_s:g} s is longer than transcription.fft_s"
                            f" {params.fft_s:g} s: the audio between two frames is never looked at", path=path,
                            hint="fix: make transcription.hop_s at most transcription.fft_s"
                                 f", shipped as {shipped.hop_s:g} and {shipped.fft_s:g}")


def _noise(sr: int) -> np.ndarray:
    """Seeded white noise: every frequency is in it, so a band that keeps nothing of it keeps nothing of a stem."""
    import numpy as np

    return np.random.default_rng(0).standard_normal(int(PROBE_SECONDS * sr))


def _check_band(path: Path, band: tuple[float, float], shipped: tuple[float, float], rates: list[int],
                keeps_noise: Callable[[int], bool]) -> None:
    (fmin, fmax), low, high = band, "transcription.fmin", "transcription.fmax"
    fix = f"fix: make {low} lower than {high}, shipped as {shipped[0]:g} and {shipped[1]:g}"
    nyquist = min(rates) / 2
    if fmin >= fmax:
        raise DrumgateError(f"{low} {fmin:g} Hz is not below {high} {fmax:g} Hz: the band keeps no frequency",
                            path=path, hint=fix)
    if fmin >= nyquist:
        raise DrumgateError(f"{low} {fmin:g} Hz is not below {nyquist:g} Hz, half the {min(rates)} Hz sample rate:"
                            " the band keeps no frequency", path=path,
                            hint=f"fix: make {low} lower than {nyquist:g}, shipped as {shipped[0]:g}")
    empty_at = next((sr for sr in rates if not keeps_noise(sr)), None)
    if empty_at is not None:
        raise DrumgateError(f"{low} {fmin:g} Hz to {high} {fmax:g} Hz holds no frequency bin of the spectrogram"
                            f" at {empty_at} Hz: the band keeps no frequency", path=path,
                            hint=f"fix: widen the band, lower {low} or raise {high}, shipped as {shipped[0]:g}"
                                 f" and {shipped[1]:g}")
