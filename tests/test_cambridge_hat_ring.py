"""The hi-hat's open or closed call reads its ring before the mic's next onset."""

from __future__ import annotations

import numpy as np

from ingest.cambridge.onset_events import _ring_db, hat_ring_db

SR = 22050
THRESHOLD_DB = -14.0  # configs/cambridge_events.json: techniques.open_hat_ring_db


def _hat(decay_s: float, at_s: float, frames: int) -> np.ndarray:
    """Noise that starts at `at_s` and dies away with time constant `decay_s`."""
    rng = np.random.default_rng(7)
    signal = np.zeros(frames, dtype=np.float32)
    start = round(at_s * SR)
    length = frames - start
    envelope = np.exp(-np.arange(length) / (decay_s * SR))
    signal[start:] = (rng.standard_normal(length) * envelope).astype(np.float32)
    return signal


def _played(decay_s: float, hits: list[float]) -> np.ndarray:
    frames = round((hits[-1] + 0.5) * SR)
    return sum((_hat(decay_s, at, frames) for at in hits), np.zeros(frames, dtype=np.float32))


def test_a_closed_hat_in_sixteenths_is_closed_although_the_next_hit_falls_in_the_usual_window() -> None:
    hits = [0.5, 0.625]  # sixteenths at 120 bpm: the next hit is inside [t + 0.1, t + 0.2]
    signal = _played(0.01, hits)
    ring = hat_ring_db(signal, np.array(hits), hits[0], SR)
    assert ring is not None and ring < THRESHOLD_DB
    # read over the whole usual window, the next hit is the "ring": the old call, open
    assert _ring_db(signal, hits[0], SR, 0.1, 0.2) > THRESHOLD_DB


def test_an_open_hat_before_a_sixteenth_is_still_open() -> None:
    hits = [0.5, 0.625]
    ring = hat_ring_db(_played(0.3, hits), np.array(hits), hits[0], SR)
    assert ring is not None and ring > THRESHOLD_DB


def test_a_window_cut_short_moves_earlier_and_a_hit_struck_again_at_once_cannot_ring() -> None:
    signal = _played(0.01, [0.5, 0.59])  # 90 ms: the window ends before 0.1 s, read over [t+0.065, t+0.085]
    ring = hat_ring_db(signal, np.array([0.5, 0.59]), 0.5, SR)
    assert ring is not None and ring < THRESHOLD_DB
    assert hat_ring_db(signal, np.array([0.5, 0.54]), 0.5, SR) is None  # 40 ms: nothing to read


def test_a_last_hit_reads_the_usual_window() -> None:
    signal = _played(0.3, [0.5])
    assert hat_ring_db(signal, np.array([0.5]), 0.5, SR) == _ring_db(signal, 0.5, SR, 0.1, 0.2)


def test_a_window_moved_to_exactly_the_shortest_length_is_read_despite_rounding() -> None:
    """0.065 - 0.005 - (0.06 - 0.02) is 0.019999999999999997 in floating point: it was None, so closed."""
    signal = _played(0.3, [0.0, 0.065])
    assert hat_ring_db(signal, np.array([0.0, 0.065]), 0.0, SR) is not None
