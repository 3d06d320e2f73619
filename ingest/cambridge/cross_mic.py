"""The cross-mic test of a Cambridge session's close mics (`cross_mic` in
`configs/cambridge_events.json`; docs/cambridge.md, "Cross-mic test").

Per close-mic onset: which mic heard the shared sound first (GCC-PHAT over the attack windows),
how loud each other drum leaks into it band by band (read where that drum was struck alone), and
how much of the onset's attack stands above that leak; for the struck classes, whether the
stem's drum is ever struck at all. Level meters and calibration come from `ingest.cambridge.bleed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.cambridge.bleed import AttackMeter, StemLevels, signature_weights
from ingest.cambridge.event_settings import CrossMicSettings


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

    width = max(1, round(settings.arrival_window_s * sr))  # a data repo's older schema lets it under one sample
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
    most = round(settings.max_lag_s * sr)  # under half a sample: no lag to search, every moment reads 0
    lags = np.concatenate([np.arange(0, most + 1), np.arange(-most, 0)])
    window = np.concatenate([correlation[:, : most + 1], correlation[:, correlation.shape[1] - most :]], axis=1)
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
    if not len(gains):
        return np.ones(gains.shape[1])
    broadband = 10 * np.log10(gains.sum(axis=1) + 1e-14)
    return signature_weights(gains, broadband >= np.percentile(broadband, 95) - 6.0)


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
