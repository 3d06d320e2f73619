"""The cross-mic bleed decision (`ingest.cambridge.cross_mic.cross_mic_keep`) on generated close-mic signals.

A rendered kit heard by close mics: each mic gets its own drum loud and first, and every other
drum later (a few milliseconds of travel) and quieter, through a low-pass, as a real kit does.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from drumgate.fixtures.synth import Hit, render
from drumgate.signal.onsets import OnsetParams, detect_onsets
from ingest.cambridge.bleed import AttackMeter, StemLevels, calibrate, own_onsets
from ingest.cambridge.cross_mic import arrival_lag_s, attack_spectra, cross_mic_keep, hit_moments
from ingest.cambridge.event_settings import load_event_settings
from ingest.cambridge.onset_events import suppress_bleed
from ingest.cambridge.stem_reader import StemOnsets

SR = 44100
SECONDS = 6.0


def _leak(signal: np.ndarray, delay_s: float, gain_db: float) -> np.ndarray:
    """How a neighbouring mic hears `signal`: later, quieter, duller."""
    pole = float(np.exp(-2 * np.pi * 5000.0 / SR))
    dull = lfilter([1 - pole], [1, -pole], signal) * 10 ** (gain_db / 20)
    shift = round(delay_s * SR)
    return np.concatenate([np.zeros(shift), dull[: len(dull) - shift]])


def _session(hits: list[Hit], drums: list[str], seed: int) -> dict[str, np.ndarray]:
    """One close mic per drum: its own drum plus every other drum leaking in (-18 dB, 1.5 ms)."""
    sources = {d: render([h for h in hits if h.instrument == d], SECONDS, SR, seed + i, noise_floor=0.0)
               for i, d in enumerate(drums)}
    return {
        mic: (sources[mic] + sum(_leak(sources[d], 0.0015, -18.0) for d in drums if d != mic)).astype(np.float32)
        for mic in drums
    }


def _levels(mics: dict[str, np.ndarray], workspace) -> list[StemLevels]:
    settings = load_event_settings(workspace)
    params = OnsetParams(window_s=0.0116, fps=200.0, lag=2, pre_max_s=0.005, post_max_s=0.005, delta=0.05)
    stems = []
    for drum, signal in mics.items():
        times = detect_onsets(signal, SR, params).times_s
        stem = StemLevels(drum, times, AttackMeter(signal, SR, settings.level), until_next=True)
        calibrate(stem, settings.bleed)
        stems.append(stem)
    return stems


def _decide(stems: list[StemLevels], workspace) -> list[np.ndarray]:
    """What `events cambridge` keeps: loud enough for the stem, and not explained across mics."""
    settings = load_event_settings(workspace)
    level = own_onsets(stems, settings.bleed)
    return [a & b for a, b in zip(level, cross_mic_keep(stems, [], settings.cross_mic), strict=True)]


def _groove(rng: np.random.Generator, with_toms: bool) -> list[Hit]:
    hits = []
    for beat in range(int(SECONDS / 0.25) - 1):
        time_s = 0.1 + beat * 0.25 + float(rng.uniform(-0.003, 0.003))
        hits.append(Hit(time_s, "kick" if beat % 4 == 0 else "hihat", int(rng.integers(70, 120))))
        if beat % 4 == 2:
            hits.append(Hit(time_s + 0.01, "snare", int(rng.integers(80, 120))))
        if with_toms and beat % 8 == 5:
            hits.append(Hit(time_s + 0.06, "tom_high", int(rng.integers(80, 120))))
    return hits


def _found(stem: StemLevels, keep: np.ndarray, truth: list[float]) -> tuple[int, int]:
    """(true onsets kept, false onsets kept) within 30 ms."""
    kept = stem.times[keep]
    hits = sum(any(abs(k - t) < 0.03 for k in kept) for t in truth)
    false = sum(not any(abs(k - t) < 0.03 for t in truth) for k in kept)
    return hits, false


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_mic_whose_drum_is_never_struck_keeps_nothing(workspace, seed) -> None:
    hits = _groove(np.random.default_rng(seed), with_toms=False)
    mics = _session(hits, ["kick", "snare", "hihat", "tom_high"], seed)
    stems = _levels(mics, workspace)
    masks = _decide(stems, workspace)
    assert own_onsets(stems, load_event_settings(workspace).bleed)[3].sum() > 5  # the level test alone keeps bleed
    tom = next(i for i, s in enumerate(stems) if s.instrument == "tom_high")
    assert len(stems[tom].times) > 5  # the tom mic does hear the kit ...
    assert masks[tom].sum() == 0  # ... but none of it is a tom hit
    for index, stem in enumerate(stems):
        if stem.instrument not in ("kick", "snare"):
            continue
        truth = [h.time_s for h in hits if h.instrument == stem.instrument]
        found, false = _found(stem, masks[index], truth)
        assert found >= 0.9 * len(truth) and false <= 1, (stem.instrument, found, len(truth), false)


@pytest.mark.parametrize("seed", [4, 5])
def test_played_toms_are_kept_and_their_leak_elsewhere_dropped(workspace, seed) -> None:
    hits = _groove(np.random.default_rng(seed), with_toms=True)
    mics = _session(hits, ["kick", "snare", "hihat", "tom_high"], seed)
    stems = _levels(mics, workspace)
    masks = _decide(stems, workspace)
    for stem, keep in zip(stems, masks, strict=True):
        if stem.instrument not in ("kick", "snare", "tom_high"):
            continue
        truth = [h.time_s for h in hits if h.instrument == stem.instrument]
        found, false = _found(stem, keep, truth)
        assert found >= 0.9 * len(truth) and false <= 1, (stem.instrument, found, len(truth), false)


def test_arrival_names_the_mic_that_heard_first(workspace) -> None:
    settings = load_event_settings(workspace).cross_mic
    source = render([Hit(0.2, "snare", 110), Hit(0.7, "snare", 100)], 1.0, SR, seed=9, noise_floor=0.0)
    near, far = source, _leak(source, 0.002, -12.0)
    moments = np.array([0.2, 0.7])
    lag = arrival_lag_s(attack_spectra(far, SR, moments, settings), attack_spectra(near, SR, moments, settings),
                        SR, settings)
    assert np.allclose(lag, 0.002, atol=2 / SR)  # the far mic hears it 2 ms later
    back = arrival_lag_s(attack_spectra(near, SR, moments, settings), attack_spectra(far, SR, moments, settings),
                         SR, settings)
    assert np.allclose(back, -0.002, atol=2 / SR)


def test_one_hit_on_several_mics_is_one_moment() -> None:
    moments = hit_moments([np.array([0.100, 0.500]), np.array([0.104, 0.900]), np.array([0.507])], 0.012)
    assert list(moments) == [0.100, 0.500, 0.900]


def _kit(hits: list[Hit], leaks_db: dict[tuple[str, str], float], gains_db: dict[str, float], seed: int):
    """Close mics of a rendered kit: each mic's own drum first at `gains_db[mic]` (its preamp),
    each other drum `leaks_db[(drum, mic)]` below that drum's own mic, 1.5 ms later and duller."""
    drums = sorted(gains_db)
    sources = {d: render([h for h in hits if h.instrument == d], SECONDS, SR, seed + i, noise_floor=0.0)
               for i, d in enumerate(drums)}
    mics = {}
    for mic in drums:
        signal = sources[mic] * 10 ** (gains_db[mic] / 20)
        for drum in drums:
            if drum != mic:
                signal = signal + _leak(sources[drum], 0.0015, gains_db[drum] + leaks_db[(drum, mic)])
        mics[mic] = signal.astype(np.float32)
    return mics


def _events_keep(mics: dict[str, np.ndarray], workspace) -> list[StemOnsets]:
    """What `events cambridge` keeps of each close mic's onsets (`suppress_bleed`, default config)."""
    params = OnsetParams(window_s=0.0116, fps=200.0, lag=2, pre_max_s=0.005, post_max_s=0.005, delta=0.05)
    stems = []
    for drum, signal in mics.items():
        onsets = detect_onsets(signal, SR, params)
        stems.append(StemOnsets(drum, drum, drum, "close", signal, onsets.times_s, onsets.strengths))
    suppress_bleed(stems, SR, load_event_settings(workspace))
    return stems


@pytest.mark.parametrize("seed", [6, 7])
def test_a_hat_struck_on_every_kick_is_not_taken_for_the_kicks_leak(workspace, seed) -> None:
    """The kick never sounds alone and its mic carries far more power than the hat mic: the kick's
    leak cannot be read off those moments (there the hat mic holds the hat), and the hat is played."""
    rng = np.random.default_rng(seed)
    hits = []
    for beat in range(int(SECONDS / 0.25) - 1):
        time_s = 0.1 + beat * 0.25
        hits.append(Hit(time_s, "hihat", int(rng.integers(80, 120))))
        if beat % 2 == 0:
            hits.append(Hit(time_s, "kick", int(rng.integers(90, 120))))
    leaks = {("kick", "hihat"): -30.0, ("hihat", "kick"): -36.0}
    for stem in _events_keep(_kit(hits, leaks, {"kick": 0.0, "hihat": -6.0}, seed), workspace):
        truth = [h.time_s for h in hits if h.instrument == stem.instrument]
        found, false = _found(stem, stem.keep, truth)
        assert found >= 0.9 * len(truth) and false <= 1, (stem.instrument, found, len(truth), false)


@pytest.mark.parametrize("seed", [8, 9])
def test_a_leak_landing_on_a_ringing_drum_is_still_recognised(workspace, seed) -> None:
    """The floor tom still rings at two kick hits in three, where the kick's leak adds almost
    nothing: read there, the leak would come out far too low. It is read where it stands above the
    ring, so at the kick hits that find the tom quiet (22 dB below the tom's own hits, above the
    cross-mic floor) the kick's leak is not taken for a tom hit."""
    rng = np.random.default_rng(seed)
    hits = []
    for beat in range(int(SECONDS / 0.25) - 1):
        time_s = 0.1 + beat * 0.25
        hits.append(Hit(time_s, "kick", int(rng.integers(90, 120))))
        if beat % 3 == 1:
            hits.append(Hit(time_s + 0.2, "tom_floor", int(rng.integers(90, 120))))
    leaks = {("kick", "tom_floor"): -22.0, ("tom_floor", "kick"): -28.0}
    tom = next(s for s in _events_keep(_kit(hits, leaks, {"kick": 0.0, "tom_floor": 0.0}, seed), workspace)
               if s.instrument == "tom_floor")
    truth = [h.time_s for h in hits if h.instrument == "tom_floor"]
    assert len(tom.times) > len(truth)  # the tom mic hears the kicks too
    found, false = _found(tom, tom.keep, truth)
    assert found == len(truth) and false == 0, (found, len(truth), false)
