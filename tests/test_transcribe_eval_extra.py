"""The MDB Drums scorer needs mir_eval (an extra): without it, one line naming the extra, not a crash."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.signal.transcribe_eval import TrackScore, _f, _matched, pooled


def test_scoring_without_mir_eval_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mir_eval", None)  # import now fails as if it were not installed
    with pytest.raises(DrumgateError, match=r"pip install 'drumgate\[bench\]'"):
        _f(np.array([0.5]), np.array([0.5]))


def test_scoring_with_mir_eval_is_the_f_measure() -> None:
    assert _f(np.array([0.5, 1.0]), np.array([0.51, 2.0])) == pytest.approx(0.5)


def test_pooled_sums_counts_over_tracks_and_counts_hits_where_the_class_is_absent() -> None:
    refs = {"kick": 4, "snare": 2, "hihat": 0, "tom": 2, "cymbal": 0}
    first = TrackScore("a", {}, refs, 1.0, 1.0, 0.1, {**refs, "hihat": 3}, {"kick": 4, "snare": 1, "tom": 2})
    second = TrackScore("b", {}, {**refs, "tom": 0}, 1.0, 1.0, 0.1, {"kick": 4, "tom": 1}, {"kick": 2})
    table = pooled([first, second])
    assert table["kick"] == {
        "references": 8,
        "hits": 8,
        "precision": 0.75,
        "recall": 0.75,
        "f": 0.75,
        "hits_where_absent": 0,
    }
    assert table["tom"]["hits"] == 2 and table["tom"]["recall"] == 1.0 and table["tom"]["hits_where_absent"] == 1
    assert table["hihat"] == {
        "references": 0,
        "hits": 0,
        "precision": 0.0,
        "recall": 0.0,
        "f": 0.0,
        "hits_where_absent": 3,
    }


def test_matched_pairs_each_reference_once() -> None:
    assert _matched(np.array([1.0, 2.0]), np.array([1.01, 1.02, 2.04, 3.0])) == 2
    assert _matched(np.array([]), np.array([1.0])) == 0
