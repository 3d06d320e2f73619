"""Hit rules (issue 17): a tom split off a stronger kick or snare hit yields to it; a drum struck
again while it still rings becomes a second hit, a second onset on the decay of one hit does not."""

from __future__ import annotations

import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures import synth
from drumgate.signal.hit_rules import find_restrikes, yielded
from drumgate.signal.transcribe import TranscribeParams, transcribe

FLAM_S = 0.04  # inside the peak picker's 50 ms wait


def _strokes(instrument: str, times: list[float]) -> np.ndarray:
    hits = [synth.Hit(time_s, instrument, 120) for time_s in times]
    return synth.render(hits, 3.0, seed=4, noise_floor=0.0)


def _times_of(
    label: str, signal: np.ndarray, onsets: list[float], params: TranscribeParams | None = None
) -> list[float]:
    hits = transcribe(signal, synth.SAMPLE_RATE, onsets, params).hits
    return [hit.time_s for hit in hits if hit.label == label]


def test_a_flam_gives_two_snare_hits_only_with_the_restrike_rule() -> None:
    strokes = [0.5, 0.5 + FLAM_S, 1.5, 1.5 + FLAM_S]
    signal = _strokes("snare", strokes)
    assert _times_of("snare", signal, strokes, TranscribeParams(restrike_s=0.0)) == [0.5, 1.5]
    assert _times_of("snare", signal, strokes) == strokes


def test_a_second_onset_on_a_decay_adds_no_hit() -> None:
    signal = _strokes("snare", [0.5, 1.5])
    twice = [0.5, 0.5 + FLAM_S, 1.5, 1.5 + FLAM_S]  # an onset detector firing twice per hit
    assert _times_of("snare", signal, twice, TranscribeParams(restrike_rise=0.0)) == twice  # no energy test
    assert _times_of("snare", signal, twice) == [0.5, 1.5]
    assert len(transcribe(signal, synth.SAMPLE_RATE, twice).hits) == len(
        transcribe(signal, synth.SAMPLE_RATE, [0.5, 1.5]).hits
    )


def test_restrikes_repeat_the_repeatable_labels_of_the_latest_hit_within_the_window() -> None:
    frame_times = np.arange(20) * 0.01
    energy = np.array([0, 10, 8, 5, 4, 9, 6, 5, 4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], dtype=float)
    hits = [(0.01, "tom"), (0.01, "cymbal")]
    every = ("tom", "cymbal")
    found = find_restrikes(hits, np.array([0.01, 0.05, 0.15]), energy, frame_times, 0.06, 0.1, 0.03, every)
    assert [(r.time_s, r.label, r.frame) for r in found] == [(0.05, "tom", 5), (0.05, "cymbal", 5)]
    drums = find_restrikes(hits, np.array([0.05]), energy, frame_times, 0.06, 0.1, 0.03, ("kick", "snare", "tom"))
    assert [(r.time_s, r.label) for r in drums] == [(0.05, "tom")]
    flat = np.array([0, 10, 8, 5, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], dtype=float)
    assert find_restrikes(hits, np.array([0.05]), flat, frame_times, 0.06, 0.1, 0.03, every) == []
    assert find_restrikes(hits, np.array([0.05]), energy, frame_times, 0.0, 0.1, 0.03, every) == []


def test_a_tom_yields_only_to_a_stronger_kick_or_snare_at_the_same_onset() -> None:
    hits = [(1.0, "snare", 0.6), (1.0, "tom", 0.3), (2.0, "tom", 0.4), (2.01, "kick", 0.3), (3.0, "hihat", 0.9)]
    hits.append((3.0, "tom", 0.35))
    assert yielded(hits, {"tom": ("kick", "snare")}, 0.03) == [False, True, False, False, False, False]
    assert yielded(hits, {}, 0.03) == [False] * len(hits)


def test_a_snare_hit_leaves_no_tom_behind() -> None:
    strokes = [0.5, 1.0, 1.5, 2.0]
    signal = _strokes("snare", strokes)
    split = _times_of("tom", signal, strokes, TranscribeParams(yield_to={}, min_share={}))
    assert split, "the fixture must make NMF split the snare into the tom template"
    assert _times_of("tom", signal, strokes, TranscribeParams(min_share={})) == []


def test_yield_to_must_name_template_classes() -> None:
    with pytest.raises(DrumgateError, match=r"transcription\.yield_to names unknown class"):
        TranscribeParams.from_mapping({"yield_to": {"tom": ["floor_tom"]}})
    assert TranscribeParams.from_mapping({"yield_to": {"tom": ["kick"]}}).yield_to == {"tom": ("kick",)}
    with pytest.raises(DrumgateError, match=r"transcription\.restrike_classes names unknown class"):
        TranscribeParams.from_mapping({"restrike_classes": ["crash"]})
    assert TranscribeParams.from_mapping({"restrike_classes": ["snare"]}).restrike_classes == ("snare",)
