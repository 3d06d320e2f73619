from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.synth import Hit, groove, render
from drumgate.signal.onsets import OnsetParams, detect_onsets, load_onset_params


def test_detects_a_clean_groove(workspace) -> None:
    hits = groove(6.0, 120, seed=3)
    signal = render(hits, 6.0, seed=3)
    truth: list[float] = []
    for time_s in sorted(h.time_s for h in hits):
        if not truth or time_s - truth[-1] > 0.03:
            truth.append(time_s)
    onsets = detect_onsets(signal, 44100, load_onset_params(workspace))
    f, _, _ = mir_eval.onset.f_measure(np.array(truth), onsets.times_s, window=0.05)
    assert f >= 0.95
    assert np.all((onsets.strengths > 0) & (onsets.strengths <= 1))


def test_silence_and_empty_give_no_onsets() -> None:
    assert len(detect_onsets(np.zeros(44100, dtype=np.float32), 44100)) == 0
    assert len(detect_onsets(np.zeros(0, dtype=np.float32), 44100)) == 0


def test_stereo_input_is_mixed_down() -> None:
    signal = render([Hit(0.5, "snare", 110)], 1.0, seed=1)
    onsets = detect_onsets(np.stack([signal, signal], axis=1), 44100)
    assert len(onsets) == 1 and abs(onsets.times_s[0] - 0.5) < 0.02


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(DrumgateError, match="unknown onset parameter"):
        OnsetParams.from_dict({"deltaa": 0.1})


@pytest.mark.parametrize("mode", ["mean", "median"])
def test_both_threshold_modes_find_isolated_hits(mode) -> None:
    times = [0.3, 0.8, 1.3, 1.8]
    signal = render([Hit(t, "snare", 100) for t in times], 2.2, seed=4)
    onsets = detect_onsets(signal, 44100, OnsetParams.from_dict({"threshold_mode": mode}))
    assert len(onsets) == len(times)
    assert np.max(np.abs(onsets.times_s - np.array(times))) < 0.02


def test_unknown_threshold_mode_is_refused_by_the_schema(workspace) -> None:
    import json

    path = workspace.configs / "onsets.json"
    raw = json.loads(path.read_text())
    raw["default"]["threshold_mode"] = "max"
    path.write_text(json.dumps(raw))
    with pytest.raises(DrumgateError, match="threshold_mode"):
        load_onset_params(workspace)
