"""Onset detection for isolated drum stems: log-filtered spectral flux with adaptive peak picking.

The recipe follows the SuperFlux idea (domain.md §5): a magnitude STFT at a high frame rate,
log-spaced bands, log compression, flux against a frequency-max-filtered earlier frame, then a
peak picker that wants a local maximum above a moving mean or median plus `delta`. Everything is numpy;
parameters live in `configs/onsets.json` (`load_onset_params`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import fft as scipy_fft

from drumgate.errors import DrumgateError


@dataclass(frozen=True)
class OnsetParams:
    fps: float = 200.0
    window_s: float = 0.046
    bands_per_octave: int = 12
    fmin: float = 30.0
    fmax: float = 17000.0
    log_mul: float = 1.0
    max_bins: int = 3
    lag: int = 1
    pre_max_s: float = 0.03
    post_max_s: float = 0.03
    pre_avg_s: float = 0.1
    post_avg_s: float = 0.07
    delta: float = 0.06
    threshold: float = 0.04
    combine_s: float = 0.02
    normalise_percentile: float = 100.0
    threshold_mode: str = "mean"

    @classmethod
    def from_dict(cls, values: dict[str, Any], base: OnsetParams | None = None) -> OnsetParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DrumgateError(f"unknown onset parameter(s): {', '.join(unknown)}")
        return replace(base or cls(), **values)


@dataclass(frozen=True)
class Onsets:
    times_s: np.ndarray
    strengths: np.ndarray

    def __len__(self) -> int:
        return len(self.times_s)


@lru_cache(maxsize=16)
def _filterbank(sr: int, n_fft: int, bands_per_octave: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular log-spaced bands as a (bins, bands) matrix; bands narrower than a bin merge."""
    bin_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    top = min(fmax, sr / 2)
    count = int(np.floor(np.log2(top / fmin) * bands_per_octave)) + 1
    centres = fmin * 2.0 ** (np.arange(count) / bands_per_octave)
    centre_bins = np.unique(np.clip(np.round(centres / (sr / n_fft)).astype(int), 1, len(bin_freqs) - 1))
    bank = np.zeros((len(bin_freqs), max(len(centre_bins) - 2, 1)), dtype=np.float32)
    for band in range(len(centre_bins) - 2):
        lo, mid, hi = centre_bins[band : band + 3]
        rise = np.linspace(0.0, 1.0, mid - lo, endpoint=False)
        fall = np.linspace(1.0, 0.0, hi - mid, endpoint=False)
        bank[lo:mid, band] = rise
        bank[mid:hi, band] = fall
        if mid - lo == 0:
            bank[mid, band] = 1.0
    return bank


def _frames(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    padded = np.pad(signal.astype(np.float32, copy=False), (n_fft // 2, n_fft // 2))
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)
    return view[::hop]


def onset_envelope(signal: np.ndarray, sr: int, params: OnsetParams) -> tuple[np.ndarray, float]:
    """The flux envelope (one value per frame) and the frame rate actually used."""
    hop = max(1, round(sr / params.fps))
    n_fft = int(2 ** np.round(np.log2(params.window_s * sr)))
    frames = _frames(signal, n_fft, hop)
    window = np.hanning(n_fft).astype(np.float32)
    spectrum = np.abs(scipy_fft.rfft(frames * window, axis=1)).astype(np.float32, copy=False)
    bank = _filterbank(sr, n_fft, params.bands_per_octave, params.fmin, params.fmax)
    bands = np.log1p(params.log_mul * (spectrum @ bank))
    reference = bands
    if params.max_bins > 1:
        reference = _max_filter_axis1(bands, params.max_bins)
    lag = max(1, params.lag)
    flux = np.zeros(len(bands), dtype=np.float32)
    if len(bands) > lag:
        diff = bands[lag:] - reference[:-lag]
        flux[lag:] = np.maximum(diff, 0.0).sum(axis=1)
    return flux, sr / hop


def _max_filter_axis1(values: np.ndarray, size: int) -> np.ndarray:
    half = size // 2
    padded = np.pad(values, ((0, 0), (half, half)), mode="edge")
    out = padded[:, : values.shape[1]].copy()
    for offset in range(1, size):
        np.maximum(out, padded[:, offset : offset + values.shape[1]], out=out)
    return out


def _moving(values: np.ndarray, before: int, after: int, mode: str) -> np.ndarray:
    """Moving max, median or mean over [i - before, i + after], edges padded with zeros."""
    fill = 0.0
    padded = np.pad(values, (before, after), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1)
    if mode == "max":
        return windows.max(axis=1)
    if mode == "median":
        return _moving_median(padded, before + after + 1, len(values))
    cumulative = np.concatenate(([0.0], np.cumsum(padded, dtype=np.float64)))
    width = before + after + 1
    return ((cumulative[width:] - cumulative[:-width]) / width).astype(np.float32)


def _moving_median(padded: np.ndarray, width: int, count: int) -> np.ndarray:
    """Median of each `width` window of `padded` (scipy's filter when the window has a centre)."""
    if width % 2 == 0:
        windows = np.lib.stride_tricks.sliding_window_view(padded, width)
        return np.median(windows, axis=1).astype(np.float32)
    from scipy.ndimage import median_filter

    centred = median_filter(padded, size=width, mode="constant")
    return centred[width // 2 : width // 2 + count].astype(np.float32)


def pick_peaks(envelope: np.ndarray, fps: float, params: OnsetParams) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and strengths of peaks: local max, above the local mean or median (`threshold_mode`)
    plus delta, above threshold, and at least `combine_s` after the previous one."""
    if len(envelope) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=np.float32)
    scale = float(np.percentile(envelope, params.normalise_percentile))
    if scale <= 1e-9:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=np.float32)
    env = np.minimum(envelope / scale, 1.0).astype(np.float32)
    pre_max = max(0, round(params.pre_max_s * fps))
    post_max = max(0, round(params.post_max_s * fps))
    pre_avg = max(0, round(params.pre_avg_s * fps))
    post_avg = max(0, round(params.post_avg_s * fps))
    local_max = _moving(env, pre_max, post_max, "max")
    local_level = _moving(env, pre_avg, post_avg, params.threshold_mode)
    candidates = np.flatnonzero(
        (env >= local_max) & (env >= local_level + params.delta) & (env >= params.threshold) & (env > 0)
    )
    combine = round(params.combine_s * fps)
    kept: list[int] = []
    for index in candidates:
        if kept and index - kept[-1] <= combine:
            continue
        kept.append(int(index))
    chosen = np.asarray(kept, dtype=int)
    return chosen, env[chosen]


def detect_onsets(signal: np.ndarray, sr: int, params: OnsetParams | None = None) -> Onsets:
    """Onset times (seconds) and strengths (0..1, relative to the stem's own loudest flux)."""
    settings = params or OnsetParams()
    mono = np.asarray(signal, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if mono.ndim != 1:
        raise DrumgateError(f"expected a 1-D or (frames, channels) signal, got shape {mono.shape}")
    if len(mono) == 0:
        return Onsets(np.zeros(0), np.zeros(0))
    envelope, fps = onset_envelope(mono, sr, settings)
    indices, strengths = pick_peaks(envelope, fps, settings)
    times = indices / fps
    return Onsets(times.astype(np.float64), strengths.astype(np.float64))


def load_onset_params(ws: Any, stem_class: str | None = None) -> OnsetParams:
    """`configs/onsets.json`: `default` parameters, optionally overridden `per_class`."""
    params = load_onset_blocks(ws, [] if stem_class is None else [stem_class])
    return params["default"] if stem_class is None else params[stem_class]


def load_onset_blocks(ws: Any, classes: Iterable[str] = (), sr: int | None = None) -> dict[str, OnsetParams]:
    """`configs/onsets.json` read once: `default` and, for each of `classes`, its `per_class` override
    over the default. With `sr`, each block is refused (exit 2) when its values cannot find an onset
    at that analysis rate: the schema bounds each value alone, and these pairs would silently detect
    nothing. Only the blocks asked for are judged (MUSDB reads the default block alone, so another
    stem class's override is not its to refuse)."""
    from drumgate.config import load_config_json

    path = ws.configs / "onsets.json"
    raw = load_config_json(ws, path.name, "onsets")
    per_class: dict[str, dict[str, Any]] = raw.get("per_class", {})
    try:
        default = OnsetParams.from_dict(raw.get("default", {}))
        blocks = {"default": default}
        blocks.update((class_id, OnsetParams.from_dict(per_class.get(class_id, {}), default)) for class_id in classes)
    except DrumgateError as err:
        err.path = path
        raise
    if sr is not None:
        for class_id, params in blocks.items():
            named = _namer(None, {}) if class_id == "default" else _namer(class_id, per_class.get(class_id, {}))
            problem = _params_problem(params, sr, named)
            if problem is not None:
                raise DrumgateError(problem[0], path=path, hint=problem[1])
    return blocks


def _namer(class_id: str | None, overrides: dict[str, Any]) -> Callable[[str], str]:
    """A key's path in the file: the class's override when it sets the key, else the default's."""
    return lambda key: f"per_class.{class_id}.{key}" if key in overrides else f"default.{key}"


def _params_problem(params: OnsetParams, sr: int, named: Callable[[str], str]) -> tuple[str, str] | None:
    """(what is wrong, fix) for parameters that cannot find an onset at the rate `sr`, else None."""
    fmin, fmax = named("fmin"), named("fmax")
    if params.fmin >= params.fmax:
        return f"{fmin} {params.fmin} is not below {fmax} {params.fmax}", f"fix: set {fmin} below {fmax} there"
    if params.fmin >= sr / 2:
        return (f"{fmin} {params.fmin} is not below {sr / 2:g} Hz, the highest frequency at the {sr} Hz analysis rate",
                f"fix: set {fmin} below {sr / 2:g} there")
    n_fft = int(2 ** np.round(np.log2(params.window_s * sr)))
    if not _filterbank(sr, n_fft, params.bands_per_octave, params.fmin, params.fmax).any():
        return (f"{fmin} {params.fmin} to {fmax} {params.fmax} Hz holds no onset band (fewer than 3 band centres"
                f" on distinct bins of the {n_fft}-point FFT of {named('window_s')} {params.window_s} at {sr} Hz,"
                f" at {named('bands_per_octave')} {params.bands_per_octave})",
                f"fix: widen {fmin} to {fmax}, or raise {named('window_s')} or {named('bands_per_octave')} there")
    fps = sr / max(1, round(sr / params.fps))
    pre_avg, post_avg = named("pre_avg_s"), named("post_avg_s")
    width = max(0, round(params.pre_avg_s * fps)) + max(0, round(params.post_avg_s * fps)) + 1
    delta, mode = named("delta"), named("threshold_mode")
    if width == 1 and params.delta > 0:  # the onset's own frame is its whole moving average
        return (f"{pre_avg} {params.pre_avg_s} and {post_avg} {params.post_avg_s} leave the onset's own frame as its"
                f" whole moving average at {fps:.4g} frames/s: no onset can stand {delta} {params.delta} above it",
                f"fix: set {pre_avg} or {post_avg} to at least {1 / fps:.4g} there")
    # a normalised onset (at most 1, the other frames at least 0) stands at most this far above the
    # mean or median of its window, which counts the onset's own frame
    reach = 1 - 1 / width if params.threshold_mode == "mean" or width <= 2 else 1.0
    if params.delta > reach + 1e-9:
        return (f"{delta} {params.delta} is out of reach: an onset stands at most {reach:.4g} above the"
                f" {params.threshold_mode} of its {width}-frame window ({pre_avg} {params.pre_avg_s},"
                f" {post_avg} {params.post_avg_s}, {mode} {params.threshold_mode!r})",
                f"fix: set {delta} below {reach:.4g}, or widen {pre_avg} and {post_avg} there")
    return None
