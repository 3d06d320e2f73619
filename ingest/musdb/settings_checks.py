"""What the schema of `configs/musdb.json` cannot say, checked when it is loaded, before any track.

A schema checks each value on its own; these rules tie values together: the drum stem must be one of
the stems probed, the `transcription` band must keep some frequency (`fmin` below `fmax` and below
half the sample rate, and wide enough to hold a spectrogram bin), and its frames must not step over
audio (`hop_s` no longer than `fft_s`). Broken, each one only showed up per track: a StopIteration,
numpy warnings, or an empty manifest refused without naming the setting. The frame and peak-picker
spans (`SPANS`) must lie in a range that means something for drums: a `hop_s` of 1e-9 made every
sample a frame (a run that never ended), an `fft_s` of 1 s wrote an empty manifest and 1e6 s or a
peak window of 1e6 s asked for gigabytes (exit 3); a hop must also hold one sample at the sample
rate. `configs/onsets.json` has its own check (`drumgate.signal.onsets.load_onset_blocks`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate.errors import DrumgateError

if TYPE_CHECKING:
    import numpy as np

    from drumgate.signal.transcribe import TranscribeParams

PROBE_SECONDS = 0.5
# seconds each `transcription` span may take, and what goes wrong outside: frames are at most 200 a second
# (a 4-minute stem's STFT already takes about 0.8 GB at the shipped 100), and no span is longer than the
# peak picker's windows in configs/onsets.json may be
SPANS: dict[str, tuple[float, float, str, str]] = {  # key: low, high, what goes wrong below, above
    "hop_s": (0.005, 0.1, "the frames would be too many to hold", "drum hits a frame apart would merge"),
    "fft_s": (0.005, 0.1, "a window that short holds no low drum", "a window that long smears drum hits together"),
    "pre_max_s": (0.0, 1.0, "", "the peak picker's window would outgrow the memory"),
    "post_max_s": (0.0, 1.0, "", "the peak picker's window would outgrow the memory"),
    "avg_s": (0.0, 2.0, "", "the peak picker's window would outgrow the memory"),
    "wait_s": (0.0, 1.0, "", "one hit per class would be kept per track"),
}


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
    _check_spans(path, params, shipped, min(rates))
    if params.hop_s > params.fft_s:
        raise DrumgateError(f"transcription.hop_s {params.hop_s:g} s is longer than transcription.fft_s"
                            f" {params.fft_s:g} s: the audio between two frames is never looked at", path=path,
                            hint="fix: make transcription.hop_s at most transcription.fft_s"
                                 f", shipped as {shipped.hop_s:g} and {shipped.fft_s:g}")
    _check_band(path, (params.fmin, params.fmax), (shipped.fmin, shipped.fmax), rates,
                lambda sr: bool(mel_spectrogram(_noise(sr), sr, params).any()))


def _check_spans(path: Path, params: TranscribeParams, shipped: TranscribeParams, sr: int) -> None:
    """Each span of `SPANS` in its range, and a hop of at least one sample at the lowest rate `sr`."""
    for key, (low, high, too_short, too_long) in SPANS.items():
        value, default = float(getattr(params, key)), float(getattr(shipped, key))
        fix = f"fix: set transcription.{key} between {low:g} and {high:g}, shipped as {default:g}"
        if not low <= value <= high:
            side, why = (f"shorter than {low:g}", too_short) if value < low else (f"longer than {high:g}", too_long)
            raise DrumgateError(f"transcription.{key} {value:g} s is {side} s: {why}", path=path, hint=fix)
    if params.hop_s * sr < 1:
        high = SPANS["hop_s"][1]
        fix = (f"fix: set transcription.hop_s between {1 / sr:.6g} and {high:g}" if 1 / sr <= high
               else "fix: set sample_rate to the stems' rate, 44100 for MUSDB18-HQ")
        raise DrumgateError(f"transcription.hop_s {params.hop_s:g} s is less than one sample at {sr} Hz: the frames"
                            " would not step as set", path=path, hint=fix)


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
