"""NMF drum transcription on synthetic stems with known hits."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures import synth
from drumgate.io.jsonio import read_json
from drumgate.signal.transcribe import (
    TEMPLATE_CLASSES,
    TranscribeParams,
    combine_onsets,
    drum_templates,
    load_templates,
    save_templates,
    transcribe,
)


def test_templates_are_deterministic_and_normalised() -> None:
    first = drum_templates()
    assert list(first) == list(TEMPLATE_CLASSES)
    assert all(abs(sum(values) - 1.0) < 1e-9 for values in first.values())
    assert drum_templates() == first
    kick, hihat = np.array(first["kick"]), np.array(first["hihat"])
    assert np.argmax(kick) < np.argmax(hihat)


def test_templates_round_trip_through_json(tmp_path) -> None:
    path = tmp_path / "templates.json"
    save_templates(path)
    assert load_templates(path) == drum_templates()
    broken = read_json(path)
    del broken["templates"]["kick"]
    (tmp_path / "bad.json").write_text(__import__("json").dumps(broken))
    with pytest.raises(DrumgateError, match="templates must name exactly"):
        load_templates(tmp_path / "bad.json")


@pytest.mark.parametrize("seed", [0, 1])
def test_groove_classes_recovered(seed: int) -> None:
    hits = synth.groove(6.0, 110.0, seed)
    signal = synth.render(hits, 6.0, seed=seed)
    result = transcribe(signal, synth.SAMPLE_RATE, [h.time_s for h in hits])
    for label in ("kick", "snare", "hihat"):
        reference = np.array([h.time_s for h in hits if h.instrument == label])
        estimate = np.array([h.time_s for h in result.hits if h.label == label])
        assert mir_eval.onset.f_measure(reference, estimate, window=0.05)[0] >= 0.85, label
    assert all(0.0 <= hit.confidence <= 1.0 for hit in result.hits)
    again = transcribe(signal, synth.SAMPLE_RATE, [h.time_s for h in hits])
    assert again.hits == result.hits


def test_silence_gives_no_hits() -> None:
    assert transcribe(np.zeros(44100, dtype=np.float32), 44100).hits == ()


def test_params_reject_unknown_keys() -> None:
    with pytest.raises(DrumgateError, match="unknown transcription parameter"):
        TranscribeParams.from_mapping({"delta": 0.1})
    assert TranscribeParams.from_mapping({"deltas": {"kick": 0.2}}).deltas["snare"] == 0.1


def test_combine_onsets_merges_close_times() -> None:
    assert combine_onsets([0.0, 0.02, 0.1, 0.5, 0.51]).tolist() == [0.0, 0.1, 0.5]


def _open_hats() -> tuple[np.ndarray, list[float]]:
    hits = [synth.Hit(0.2 + 0.5 * k, "hihat", 110, open_hat=True) for k in range(8)]
    return synth.render(hits, 4.5, seed=3), [h.time_s for h in hits]


def test_open_hats_give_way_to_the_hihat_rival() -> None:
    signal, times = _open_hats()
    without_rule = transcribe(signal, synth.SAMPLE_RATE, times, TranscribeParams(rivals={})).hits
    with_rule = transcribe(signal, synth.SAMPLE_RATE, times).hits
    assert any(hit.label == "cymbal" for hit in without_rule)
    assert not any(hit.label == "cymbal" for hit in with_rule)
    hats = [hit for hit in without_rule if hit.label == "hihat"]
    assert hats and [hit for hit in with_rule if hit.label == "hihat"] == hats


def test_rivals_must_name_template_classes() -> None:
    with pytest.raises(DrumgateError, match=r"transcription\.rivals names unknown class"):
        TranscribeParams.from_mapping({"rivals": {"cymbal": {"ride": 0.5}}})
    parsed = TranscribeParams.from_mapping({"rivals": {"tom": {"kick": 1.0}}})
    assert parsed.rivals == {"tom": {"kick": 1.0}}


@pytest.mark.parametrize("key", ["deltas", "min_share"])
def test_per_class_numbers_must_name_template_classes(key: str) -> None:
    """A misspelt class would add a number no template reads, and leave the meant class at its default."""
    with pytest.raises(DrumgateError, match=rf"transcription.{key} names unknown class\(es\): hh ") as caught:
        TranscribeParams.from_mapping({key: {"hh": 0.2}})
    assert caught.value.hint == "fix: use the template classes there (kick, snare, hihat, tom, cymbal)"
    assert dict(TranscribeParams.from_mapping({key: {"hihat": 0.2}}).__getattribute__(key))["hihat"] == 0.2
