"""How a command ends: the console script leaves nothing for the collections at interpreter exit, a
call with words leaves the caller's collector as it was, and health's paused collection comes back."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.fixtures.health_events import event_rows
from drumgate.io.jsonio import write_jsonl
from drumgate.workspace import Workspace


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _events(workspace: Workspace) -> Path:
    path = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
    write_jsonl(path, event_rows(300, sessions=6, items_per_session=2, seed=4))
    return path


def test_a_call_with_words_leaves_the_collector_alone(workspace: Workspace, unfrozen: None) -> None:
    events = _events(workspace)
    assert cli.main(["health", "--events", str(events), "--date", "2026-01-01"]) in (0, 1)
    assert gc.get_freeze_count() == 0, "a test or a caller keeps collecting what it drops"
    assert gc.isenabled(), "health's pause of the collector ends with the command"


def test_the_console_script_freezes_what_is_left_before_exit(workspace: Workspace, unfrozen: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["drumgate", "--version"])
    assert cli.main() == 0
    assert gc.get_freeze_count() > 0


def test_the_program_still_exits_cleanly_with_its_outputs_written(workspace: Workspace) -> None:
    events = _events(workspace)
    done = subprocess.run([sys.executable, "-m", "drumgate.cli", "health", "--events", str(events), "--date",
                           "2026-01-01"], capture_output=True, text=True, cwd=workspace.root)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert workspace.health_report("egmd", "20260101").is_file()
    assert workspace.health_report("egmd", "20260101", "html").is_file()
