"""Cross-stem bleed model for one multitrack session (`configs/cambridge_events.json`).

Every stem gets an attack level at any moment: the power its signal gains in a short window
aligned on the onset over the window just before, in dB relative to the stem's own loud hits
(so a kick mic and a hi-hat mic compare on their own scales). Per ordered pair of instruments
the session's leak is measured on onset-aligned windows: how loud stem A reads at stem B's
strong hits, relative to B. An onset on A is the instrument's own when it stands `margin_db`
above the summed leak that the simultaneous attacks on the other instruments' stems predict.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from drumgate.config import validate_against_schema
from drumgate.errors import DrumgateError
from drumgate.io.jsonio import read_json

MIN_WINDOW = 64


@dataclass(frozen=True)
class LevelSettings:
    before_s: float
    lookback_s: float
    window_s: float
    after_delay_s: float = 0.0


@dataclass(frozen=True)
class BleedSettings:
    leak_db: float
    margin_db: float
    min_level_db: float
    reference_percentile: float
    signature_range_db: float


@dataclass(frozen=True)
class CrossMicSettings:
    """The cross-mic test (see `cross_mic_keep`)."""

    same_hit_s: float
    classes: tuple[str, ...]
    arrival_window_s: float
    max_lag_s: float
    lead_s: float
    leak_share: float
    leak_percentile: float
    max_leak_db: float
    margin_db: float
    active_range_db: float
    min_unexplained: float
    min_moments: int
    struck_onsets: int
    struck_range_db: float
    min_lead_share: float
    min_level_db: float
    min_gain_over_ring_db: float
    struck_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TechniqueSettings:
    accent_db: float
    flam_max_s: float
    flam_min_s: float
    ghost_db: float
    open_hat_ring_db: float


@dataclass(frozen=True)
class CymbalSettings:
    margin_db: float
    min_level_db: float
    ring_db: float
    sustain: LevelSettings


@dataclass(frozen=True)
class EventSettings:
    level: LevelSettings
    bleed: BleedSettings
    cross_mic: CrossMicSettings
    techniques: TechniqueSettings
    cymbal: CymbalSettings
    confidence: dict[str, float]
    duplicate_s: float
    overhead_variant: str


def _section(cls: type, raw: dict[str, Any]) -> Any:
    return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


def load_event_settings(ws: Any) -> EventSettings:
    """`configs/cambridge_events.json`, validated against its schema."""
    path = ws.configs / "cambridge_events.json"
    raw = read_json(path)
    validate_against_schema(raw, ws.schemas / "cambridge_events.schema.json", path)
    techniques = _section(TechniqueSettings, raw["techniques"])
    if techniques.flam_min_s >= techniques.flam_max_s:
        raise DrumgateError("techniques: flam_min_s must be below flam_max_s", path=path)
    return EventSettings(
        level=_section(LevelSettings, raw["level"]),
        bleed=_section(BleedSettings, raw["bleed"]),
        cross_mic=_section(
            CrossMicSettings,
            {
                **raw["cross_mic"],
                "classes": tuple(raw["cross_mic"]["classes"]),
                "struck_classes": tuple(raw["cross_mic"]["struck_classes"]),
            },
        ),
        techniques=techniques,
        cymbal=CymbalSettings(
            raw["cymbal"]["margin_db"],
            raw["cymbal"]["min_level_db"],
            raw["cymbal"]["ring_db"],
            _section(LevelSettings, raw["cymbal"]["sustain"]),
        ),
        confidence=dict(raw["confidence"]),
        duplicate_s=float(raw["duplicate_s"]),
        overhead_variant=raw["overhead_variant"],
    )


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


def _signature(gains: np.ndarray, loud: np.ndarray) -> np.ndarray:
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
    stem.weights = _signature(gains, loud)
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


def _judge(
    stem: StemLevels, rivals: list[StemLevels], leaks: list[float], margin_db: float, floor_db: float
) -> np.ndarray:
    assert stem.relative_db is not None
    keep = stem.relative_db > floor_db
    if rivals and len(stem.times):
        keep &= stem.relative_db > predicted_bleed_db(stem, rivals, leaks, stem.times) + margin_db
    return keep


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


# Cross-mic evidence ------------------------------------------------------------------------------


def hit_moments(onset_lists: list[np.ndarray], same_hit_s: float) -> np.ndarray:
    """Every onset of every mic, one moment per hit: onsets closer than `same_hit_s` (one hit
    reaching several mics, a few milliseconds apart) merge at the earliest."""
    every = np.sort(np.concatenate([np.asarray(times, dtype=np.float64) for times in onset_lists] or [np.zeros(0)]))
    moments: list[float] = []
    for time_s in every:
        if not moments or time_s - moments[-1] > same_hit_s:
            moments.append(float(time_s))
    return np.asarray(moments)


def attack_spectra(signal: np.ndarray, sr: int, moments: np.ndarray, settings: CrossMicSettings) -> np.ndarray:
    """(moments, bins) spectra of the attack window at each moment (from `max_lag_s` before), through
    a flat-topped (Tukey) window: the direct sound of the first milliseconds weighs fully, which a
    Hann window centred long after the onset would fade out in favour of the ring."""
    from scipy.signal.windows import tukey

    width = round(settings.arrival_window_s * sr)
    lead = round(settings.max_lag_s * sr)
    n_fft = int(2 ** np.ceil(np.log2(2 * (width + lead))))
    padded = np.pad(np.asarray(signal, dtype=np.float64), (lead, width + lead))
    starts = np.clip(np.round(moments * sr).astype(np.int64), 0, len(signal))
    frames = padded[starts[:, None] + np.arange(width + lead)[None, :]]
    return np.fft.rfft(frames * tukey(width + lead, 0.3)[None, :], n=n_fft, axis=1)


def bin_weights(meter: AttackMeter, band_weights: np.ndarray, n_bins: int) -> np.ndarray:
    """A stem's band weights spread over the `n_bins` bins of an attack spectrum at the meter's rate."""
    meter_freqs = np.fft.rfftfreq(meter.n_fft, 1.0 / meter.sr)
    return np.interp(np.linspace(0.0, meter.sr / 2, n_bins), meter_freqs, meter.bank @ band_weights)


def arrival_lag_s(
    target: np.ndarray, rival: np.ndarray, sr: int, settings: CrossMicSettings, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per moment, how much later the target mic hears the sound the two mics share (GCC-PHAT
    over the attack windows, within +-`max_lag_s`): positive when the rival's drum is the source
    (its own mic, a few centimetres away, hears the hit first), negative when the target's is.
    With `weights` (per bin: the target drum's spectral signature) only the bands where the
    target's drum sounds vote: a kick under a hi-hat hit does not decide who heard the hat first."""
    cross = target * np.conj(rival)
    whitened = cross / np.maximum(np.abs(cross), 1e-30)
    if weights is not None:
        whitened = whitened * weights[None, :]
    correlation = np.fft.irfft(whitened, axis=1)
    most = round(settings.max_lag_s * sr)
    lags = np.concatenate([np.arange(0, most + 1), np.arange(-most, 0)])
    window = np.concatenate([correlation[:, : most + 1], correlation[:, -most:]], axis=1)
    return lags[np.argmax(window, axis=1)] / sr


def _active(level: np.ndarray, range_db: float) -> np.ndarray:
    """Moments where `level` is within `range_db` of its loud ones (95th percentile), and above zero."""
    loud = float(np.percentile(level, 95)) if len(level) else 0.0
    return (level > loud * 10 ** (-range_db / 10)) & (level > 0)


def pair_leak_db(
    target: np.ndarray,
    rival: np.ndarray,
    sounding: np.ndarray,
    target_later_s: np.ndarray,
    settings: CrossMicSettings,
    target_ring: np.ndarray | None = None,
    close: bool = True,
) -> np.ndarray:
    """Per band, how loud the rival's drum reads on the target mic (dB, target over rival).

    Over the moments the rival's own drum sounds (`sounding`), the target-over-rival difference
    is low where the rival's drum was struck alone (its leak into the target) and high where the
    target's was too; the lowest `leak_share` of them (at least `min_moments`) are the leak.
    Two kinds of moment would bend it and are left out first:
    - where the target drum still rings in the rival's bands (`target_ring`, the power of the
      window before, above what the moment adds there): a leak landing on a ringing drum gains
      almost nothing, so the leak would be read far too low (a kick into a floor tom that rings
      from its own hit), while a hat leaking into a ringing snare still stands out in its bands;
    - for a close-mic rival (`close`), where the target mic did not hear the shared sound after
      the rival (`target_later_s`, weighted to the target drum's bands, at most `lead_s`): there
      the target's own drum sounds with the rival's, as a hat on every kick does, and the ratio is
      the target drum, not the leak.
    An overhead or room rival stands further than the arrival window reaches at every moment, so
    for it the lowest moments must merely have been heard first by it on the whole (median lag).
    Too few moments, or not heard first: the rival's drum is not leaking, and it explains nothing
    (-inf), so a bleed-only mic cannot explain away the drum it only echoes. Per band, over those
    moments where the rival's band is active and the target's band gained above its ring, the
    `leak_percentile` of the ratio, at most `max_leak_db` (a close mic hears its own drum at
    least as loud as any other mic does); a band the rival's drum never fills takes the broadband
    figure."""
    leak = np.full(rival.shape[1], -np.inf)
    ring = np.zeros_like(target) if target_ring is None else target_ring
    above_ring = (target * rival).sum(axis=1) > (ring * rival).sum(axis=1)
    usable = sounding & (rival.sum(axis=1) > 0) & (target.sum(axis=1) > 0) & above_ring
    if close:
        usable &= target_later_s > settings.lead_s
    if usable.sum() < settings.min_moments:
        return leak
    difference = 10 * np.log10(target[usable].sum(axis=1) / rival[usable].sum(axis=1))
    count = max(settings.min_moments, int(np.ceil(settings.leak_share * len(difference))))
    order = np.argsort(difference, kind="stable")[:count]
    lowest = np.flatnonzero(usable)[order]
    if not close and float(np.median(target_later_s[lowest])) <= settings.lead_s:
        return leak
    broadband = min(float(np.percentile(difference[order], settings.leak_percentile)), settings.max_leak_db)
    for band in range(rival.shape[1]):
        band_active = _active(rival[:, band], settings.active_range_db)
        heard = lowest[band_active[lowest] & (target[lowest, band] > ring[lowest, band])]
        if len(heard) >= settings.min_moments:
            ratio = 10 * np.log10(target[heard, band] / rival[heard, band])
            leak[band] = min(float(np.percentile(ratio, settings.leak_percentile)), settings.max_leak_db)
        else:
            leak[band] = broadband
    return leak


@dataclass(frozen=True)
class Rival:
    """Another mic at every moment: its band gains, when its own drum sounds (its signature-weighted
    attack within `active_range_db` of its loud ones), how much later the target heard the sound
    the two share (GCC-PHAT in the target drum's bands), and whether it is a close mic."""

    gains: np.ndarray
    own_active: np.ndarray
    target_later_s: np.ndarray
    close: bool = True


def unexplained_share(
    own: np.ndarray,
    rivals: list[Rival],
    weights: np.ndarray,
    settings: CrossMicSettings,
    own_ring: np.ndarray | None = None,
) -> np.ndarray:
    """Per moment, the share of the target's weighted attack power that stands `margin_db` above
    the leak predicted, band by band, by the rivals whose own drum sounds at that moment (0: all
    bleed, 1: none). An overhead or room rival the target heard first (by more than `lead_s`)
    explains nothing at that moment: what it holds of it is the target's own drum (an overhead
    above the hi-hat hears the hat loudly). A close-mic rival's leak is already read only where
    the rival was heard first (`pair_leak_db`). `own_ring`: per moment and band, the target's
    power just before (see `pair_leak_db`)."""
    predicted = np.zeros_like(own)
    for rival in rivals:
        leak = pair_leak_db(own, rival.gains, rival.own_active, rival.target_later_s, settings, own_ring, rival.close)
        explains = rival.own_active & (rival.close | (rival.target_later_s >= -settings.lead_s))
        predicted += np.where(explains[:, None], rival.gains * 10 ** (leak / 10), 0.0)
    excess = np.maximum(own - predicted * 10 ** (settings.margin_db / 10), 0.0)
    total = own @ weights
    return np.where(total > 0, (excess @ weights) / np.maximum(total, 1e-30), 0.0)


def _own_weights(stem: StemLevels, gains: np.ndarray) -> np.ndarray:
    """The stem's signature band weights; an overhead or room (not calibrated) takes the shape of
    its loudest moments."""
    if stem.weights is not None:
        return stem.weights
    broadband = 10 * np.log10(gains.sum(axis=1) + 1e-14)
    return _signature(gains, broadband >= np.percentile(broadband, 95) - 6.0) if len(gains) else np.ones(gains.shape[1])


def drum_is_struck(
    index: int,
    stems: list[StemLevels],
    gains: list[np.ndarray],
    spectra: list[np.ndarray],
    moments: np.ndarray,
    settings: CrossMicSettings,
) -> bool:
    """Whether the stem's drum is ever struck in the session: at least `min_lead_share` of its
    `struck_onsets` loudest onsets within `struck_range_db` of the loudest (its own hits when it
    is played, the loudest leak when it is not) were not heard first (GCC-PHAT, by more than
    `lead_s`) by a close mic of another instrument that heard them louder in most of the stem's
    own bands (over half its signature weight: what the stem's loudest onsets are made of). A mic
    a few centimetres from its struck drum hears it first and loudest; a mic whose drum is never
    struck hears everything after, and quieter than, the mic of the drum that was. Power summed
    over bands would not do: a kick mic under a hi-hat hit carries far more power than the hat
    mic, and a tom mic under it more in the low bands the hat's signature holds a little of."""
    stem = stems[index]
    rivals = [other for other, rival in enumerate(stems) if rival.instrument != stem.instrument]
    if not rivals or len(stem.times) == 0 or stem.relative_db is None:
        return True
    order = np.argsort(-stem.relative_db, kind="stable")[: settings.struck_onsets]
    order = order[stem.relative_db[order] >= stem.relative_db[order[0]] - settings.struck_range_db]
    loudest = stem.times[order]
    at = np.clip(np.searchsorted(moments, loudest + settings.same_hit_s / 2, side="right") - 1, 0, None)
    weights = stem.weights if stem.weights is not None else np.ones(gains[index].shape[1])
    weights = weights / max(float(weights.sum()), 1e-30)
    own = gains[index][at]
    beaten = np.zeros(len(at), dtype=bool)
    for other in rivals:
        later = arrival_lag_s(spectra[index][at], spectra[other][at], stem.meter.sr, settings)
        louder = (gains[other][at] > own) @ weights > 0.5
        beaten |= (later > settings.lead_s) & louder
    return float(np.mean(~beaten)) >= settings.min_lead_share


def cross_mic_keep(
    stems: list[StemLevels], witnesses: list[StemLevels], settings: CrossMicSettings
) -> list[np.ndarray]:
    """Per close-mic stem (already `calibrate`d), a keep-mask over its onsets: the attack at that
    moment, weighted by the spectral signature of the stem's own drum, is mostly (at least
    `min_unexplained` of its power) more than the other close mics and the overhead or room
    `witnesses` leak into it, and it adds at least `min_gain_over_ring_db` relative to what the
    stem's own bands were ringing with just before. Rivals are the stems of other instruments
    (two mics of one drum are never each other's bleed); the witnesses stand for the drums
    without a close mic."""
    moments = hit_moments([s.times for s in [*stems, *witnesses]], settings.same_hit_s)
    if len(moments) == 0:
        return [np.zeros(len(s.times), dtype=bool) for s in stems]
    every = [*stems, *witnesses]
    until = np.append(moments[1:], moments[-1] + 1.0)
    powers = [s.meter.band_powers(moments, until) for s in every]
    gains = [np.maximum(after - before, 0.0) for after, before in powers]
    spectra = [attack_spectra(s.meter.signal, s.meter.sr, moments, settings) for s in every]
    own_active = [
        _active(gain @ _own_weights(stem, gain), settings.active_range_db)
        for stem, gain in zip(every, gains, strict=True)
    ]
    masks = []
    for index, stem in enumerate(stems):
        weights = stem.weights if stem.weights is not None else np.ones(gains[index].shape[1])
        per_bin = bin_weights(stem.meter, weights, spectra[index].shape[1])
        rivals = [
            Rival(
                gains[other],
                own_active[other],
                arrival_lag_s(spectra[index], spectra[other], stem.meter.sr, settings, per_bin),
                close=other < len(stems),
            )
            for other, rival in enumerate(every)
            if other != index and (other >= len(stems) or rival.instrument != stem.instrument)
        ]
        share = unexplained_share(gains[index], rivals, weights, settings, powers[index][1])
        at = np.clip(np.searchsorted(moments, stem.times + settings.same_hit_s / 2, side="right") - 1, 0, None)
        struck = stem.instrument not in settings.struck_classes or drum_is_struck(
            index, stems, gains, spectra, moments, settings
        )
        # a hit adds at least what its drum was still ringing with: less is the ring's own
        # fluctuation, or a leak landing on the ringing drum
        ringing = powers[index][1] @ weights * 10 ** (settings.min_gain_over_ring_db / 10)
        fresh = gains[index] @ weights >= ringing
        masks.append((share[at] >= settings.min_unexplained) & struck & fresh[at])
    return masks
