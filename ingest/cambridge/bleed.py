"""Cross-stem bleed model for one multitrack session (`configs/cambridge_events.json`).

Every stem gets an attack level at any moment: the power its signal gains in a short window
aligned on the onset over the window just before, in dB relative to the stem's own loud hits
(so a kick mic and a hi-hat mic compare on their own scales). Per ordered pair of instruments
the session's leak is measured on onset-aligned windows: how loud stem A reads at stem B's
strong hits, relative to B. An onset on A is the instrument's own when it stands `margin_db`
above the summed leak that the simultaneous attacks on the other instruments' stems predict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.cambridge.event_settings import BleedSettings, LevelSettings

MIN_WINDOW = 64


def _third_octave_bank(sr: int, n_fft: int) -> np.ndarray:
    """(bins, bands) 0/1 matrix grouping FFT bins into third-octave bands from 30 Hz."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = 30.0 * 2.0 ** (np.arange(0, np.log2(sr / 2 / 30.0) * 3 + 1) / 3)
    band = np.searchsorted(edges, freqs) - 1
    valid = band >= 0
    bank = np.zeros((len(freqs), len(edges)), dtype=np.float64)
    bank[np.flatnonzero(valid), band[valid]] = 1.0
    return bank[:, bank.sum(axis=0) > 0]


class AttackMeter:
    """Attack levels (dB) of one signal at arbitrary times: the power each third-octave band gains
    in a window aligned on the onset (or `after_delay_s` later, to weigh what sustains) over the
    window just before, summed over the bands that gained. A tone still ringing from an earlier
    hit adds nothing; a fresh hit adds its power."""

    def __init__(self, signal: np.ndarray, sr: int, settings: LevelSettings) -> None:
        self.signal = np.asarray(signal, dtype=np.float64)
        self.sr = sr
        self.lookback = round(settings.lookback_s * sr)
        self.delay = round(settings.after_delay_s * sr)
        self.window = max(MIN_WINDOW, round(settings.window_s * sr))
        self.before = max(MIN_WINDOW, round(settings.before_s * sr))
        self.n_fft = int(2 ** np.ceil(np.log2(max(self.window, self.before))))
        self.bank = _third_octave_bank(sr, self.n_fft)

    def _band_power(self, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """Mean band power of the windows [start, start + width) (Hann-weighted), one row each."""
        rows = np.zeros((len(starts), self.bank.shape[1]))
        for width in np.unique(widths):
            chosen = np.flatnonzero(widths == width)
            padded = np.pad(self.signal, (width, width))
            index = np.clip(starts[chosen] + width, 0, len(padded) - width)[:, None] + np.arange(width)[None, :]
            frames = padded[index] * np.hanning(width)[None, :]
            spectrum = np.abs(np.fft.rfft(frames, n=self.n_fft, axis=1)) ** 2
            rows[chosen] = spectrum @ self.bank / width
        return rows

    def band_gains(self, times_s: np.ndarray, until_s: np.ndarray | None = None) -> np.ndarray:
        """(times, bands) power gained per band (never negative). `until_s` cuts each measuring
        window short where the next onset starts, so a later hit is not credited to this one."""
        after, before = self.band_powers(times_s, until_s)
        return np.maximum(after - before, 0.0)

    def band_powers(self, times_s: np.ndarray, until_s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times, bands) band power of the window at each onset, and of the window just before it."""
        times = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        if len(times) == 0:
            return np.zeros((0, self.bank.shape[1])), np.zeros((0, self.bank.shape[1]))
        starts = np.round(times * self.sr).astype(np.int64) - self.lookback
        widths = np.full(len(times), self.window, dtype=np.int64)
        if until_s is not None:
            room = np.round(np.asarray(until_s) * self.sr).astype(np.int64) - self.lookback - (starts + self.delay)
            widths = np.clip(room, MIN_WINDOW, self.window)
        after = self._band_power(starts + self.delay, widths)
        before = self._band_power(starts - self.before, np.full(len(times), self.before, dtype=np.int64))
        return after, before

    def levels_db(
        self, times_s: np.ndarray, weights: np.ndarray | None = None, until_s: np.ndarray | None = None
    ) -> np.ndarray:
        gains = self.band_gains(times_s, until_s)
        weighted = gains.sum(axis=1) if weights is None else gains @ weights
        return 10 * np.log10(weighted + 1e-14)


@dataclass
class StemLevels:
    """One stem's detected onsets, its meter and its own reference level."""

    instrument: str
    times: np.ndarray
    meter: AttackMeter
    reference_db: float = 0.0
    relative_db: np.ndarray | None = None
    weights: np.ndarray | None = None
    until_next: bool = False

    def relative_at(self, times_s: np.ndarray) -> np.ndarray:
        return self.meter.levels_db(times_s, self.weights, self.next_onsets(times_s)) - self.reference_db

    def next_onsets(self, times_s: np.ndarray) -> np.ndarray | None:
        """With `until_next`, where each measuring window must end: the stem's next onset."""
        if not self.until_next:
            return None
        later = np.searchsorted(self.times, np.atleast_1d(times_s) + 1e-3, side="left")
        never = len(self.meter.signal) / self.meter.sr + 1.0
        return np.append(self.times, never)[later]


def signature_weights(gains: np.ndarray, loud: np.ndarray) -> np.ndarray:
    """Band weights from the stem's loudest hits: their median spectral shape, summing to one
    (the median keeps the hits mixed with a loud leak from bending the shape)."""
    shapes = gains[loud] / np.maximum(gains[loud].sum(axis=1, keepdims=True), 1e-30)
    typical = np.median(shapes, axis=0)
    return typical / max(float(typical.sum()), 1e-30)


def calibrate(stem: StemLevels, settings: BleedSettings) -> None:
    """Weigh the bands by the spectral shape of the stem's loudest hits (its own instrument: a
    hat mic listens where the hat is, not where the leaking snare is), then take a high
    percentile of the weighted onset levels as the stem's reference."""
    gains = stem.meter.band_gains(stem.times, stem.next_onsets(stem.times))
    if len(gains) == 0:
        stem.reference_db, stem.relative_db = 0.0, np.zeros(0)
        return
    broadband = 10 * np.log10(gains.sum(axis=1) + 1e-14)
    loud = broadband >= np.percentile(broadband, settings.reference_percentile) - settings.signature_range_db
    stem.weights = signature_weights(gains, loud)
    weighted = 10 * np.log10(gains @ stem.weights + 1e-14)
    stem.reference_db = float(np.percentile(weighted, settings.reference_percentile))
    stem.relative_db = weighted - stem.reference_db


def predicted_bleed_db(
    target: StemLevels, rivals: list[StemLevels], leaks: list[float], times_s: np.ndarray
) -> np.ndarray:
    """The level (relative to `target`'s own hits) the rivals' simultaneous attacks leak into it."""
    total = np.zeros(len(times_s))
    for rival, leak in zip(rivals, leaks, strict=True):
        total += 10 ** ((rival.relative_at(times_s) + leak) / 10)
    return 10 * np.log10(np.maximum(total, 1e-30))


def unexplained(stem: StemLevels, rivals: list[StemLevels], settings: BleedSettings, margin_db: float) -> np.ndarray:
    """Keep-mask over a calibrated stem's onsets: above the floor and `margin_db` above the leak
    the rivals' simultaneous attacks predict (each rival at `leak_db` below its own level)."""
    keep = stem.relative_db > settings.min_level_db
    if rivals and len(stem.times):
        leaks = [settings.leak_db] * len(rivals)
        keep &= stem.relative_db > predicted_bleed_db(stem, rivals, leaks, stem.times) + margin_db
    return keep


def own_onsets(stems: list[StemLevels], settings: BleedSettings) -> list[np.ndarray]:
    """Per stem, a keep-mask over its onsets: loud enough and not explained by the other instruments."""
    for stem in stems:
        calibrate(stem, settings)
    return [
        unexplained(
            stem, [other for other in stems if other.instrument != stem.instrument], settings, settings.margin_db
        )
        for stem in stems
    ]
