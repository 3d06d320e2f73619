"""drumgate.progress: bars only for a person at a terminal; never in CI or when switched off."""

from __future__ import annotations

import io
import sys

import pytest

from drumgate import progress as progress_module
from drumgate.progress import progress, progress_enabled


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """Set inside the test body: pytest swaps sys.stderr back between fixture setup and the call."""
    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DRUMGATE_NO_PROGRESS", raising=False)
    monkeypatch.setattr(progress_module, "SHOW_AFTER_SECONDS", 0.0)
    return fake


def test_enabled_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _terminal(monkeypatch)
    assert progress_enabled()
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled()
    monkeypatch.setenv("CI", "false")
    assert progress_enabled()
    monkeypatch.setenv("DRUMGATE_NO_PROGRESS", "1")
    assert not progress_enabled()
    monkeypatch.delenv("DRUMGATE_NO_PROGRESS")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress_enabled()


def test_byte_bar_draws_on_a_terminal_and_stays_silent_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _terminal(monkeypatch)
    with progress(4 << 20, "health x.jsonl", "B") as bar:
        bar.update(2 << 20)
    assert "health x.jsonl" in terminal.getvalue()
    assert "/4.00M" in terminal.getvalue()
    monkeypatch.setenv("CI", "true")
    silent = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", silent)
    assert list(progress(range(3), "rows", "row")) == [0, 1, 2]
    with progress(10, "quiet", "B", enabled=False) as bar:
        bar.update(5)
    assert silent.getvalue() == ""
