"""The MDB Drums scorer needs mir_eval (an extra): without it, one line naming the extra, not a crash."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.signal.transcribe_eval import _f


def test_scoring_without_mir_eval_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mir_eval", None)  # import now fails as if it were not installed
    with pytest.raises(DrumgateError, match=r"pip install 'drumgate\[bench\]'"):
        _f(np.array([0.5]), np.array([0.5]))


def test_scoring_with_mir_eval_is_the_f_measure() -> None:
    assert _f(np.array([0.5, 1.0]), np.array([0.51, 2.0])) == pytest.approx(0.5)
