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


# the console script's entry with `drumgate.cli`'s import interrupted, as a Ctrl-C in it would be
INTERRUPTED_IMPORT = """
import sys

class InterruptTheCli:
    def find_spec(self, name, path=None, target=None):
        if name == "drumgate.cli":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, InterruptTheCli())
from drumgate.console import main
sys.argv = ["drumgate", "--help"]
raise SystemExit(main())
"""


def test_a_ctrl_c_while_the_cli_imports_is_one_line_and_exit_130() -> None:
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr, done.stdout) == (130, "drumgate: interrupted\n", "")


def test_the_installed_console_script_is_the_guarded_entry() -> None:
    from importlib.metadata import entry_points

    (script,) = [entry for entry in entry_points(group="console_scripts") if entry.name == "drumgate"]
    assert script.value == "drumgate.console:main"
    done = subprocess.run([sys.executable, "-c", "from drumgate.console import main; raise SystemExit(main())",
                           "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: drumgate"), done.stderr
