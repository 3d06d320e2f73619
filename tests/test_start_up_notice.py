"""Start-up work without a count (numba compiling drumgate's loops) says what the wait is for on a
terminal, once, and stays silent when it is quick or nobody watches (issue 18)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drumgate import progress
from ingest.egmd import jit


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(progress, "progress_enabled", lambda: True)


def test_slow_work_is_announced_and_timed(watched: None, capsys: pytest.CaptureFixture[str]) -> None:
    with progress.notice_if_slow("compiling something..."):
        time.sleep(0.3)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "compiling something..."
    assert lines[1].startswith("  done in ") and lines[1].endswith(" s")


def test_quick_work_says_nothing(watched: None, capsys: pytest.CaptureFixture[str]) -> None:
    with progress.notice_if_slow("compiling something..."):
        pass
    time.sleep(0.1)
    assert capsys.readouterr().err == ""


def test_nobody_watching_hears_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.01)
    monkeypatch.setenv("DRUMGATE_NO_PROGRESS", "1")
    with progress.notice_if_slow("compiling something..."):
        time.sleep(0.1)
    assert capsys.readouterr().err == ""


def slow_sum(values: np.ndarray) -> float:
    total = 0.0
    for value in values:
        total += value
    return total


def test_a_kernel_announces_only_its_first_call(
    watched: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(jit, "_compiled", {})
    calls: list[int] = []

    def slowly_compiled(values: np.ndarray) -> float:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)  # stands in for numba compiling on the first call
        return slow_sum(values)

    import numba

    monkeypatch.setattr(numba, "njit", lambda **options: lambda function: slowly_compiled)
    values = np.arange(4.0)
    assert jit.kernel(slow_sum, compiled=True)(values) == 6.0
    assert jit.kernel(slow_sum, compiled=True) is slowly_compiled  # later calls go straight to the loop
    assert jit.kernel(slow_sum, compiled=True)(values) == 6.0
    err = capsys.readouterr().err
    assert err.count("compiling slow_sum (numba; once after install, cached afterwards)...") == 1
    assert err.count("done in") == 1
