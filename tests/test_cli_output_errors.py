"""A full disk under `> file` is the machine's problem, not a drumgate bug: one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from drumgate.fixtures.health_events import event_rows
from drumgate.io.jsonio import write_jsonl
from drumgate.workspace import Workspace

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("health", "--json")], ids=["version", "help", "json"])
def test_stdout_on_a_full_disk_is_one_line_and_exit_2(argv: tuple[str, ...], workspace: Workspace) -> None:
    if argv[0] == "health":
        events = workspace.root / "data" / "manifests" / "egmd_events.jsonl"
        write_jsonl(events, event_rows(200, sessions=4, items_per_session=2, seed=3))
        argv = ("health", "--events", str(events), "--date", "2026-01-01", "--json")
    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "drumgate.cli", *argv], cwd=workspace.root, stdout=full,
                              stderr=subprocess.PIPE, text=True, check=False,
                              env={**os.environ, "DRUMGATE_WORKSPACE": str(workspace.root)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == ("<stdout>: cannot write: No space left on device (fix: df -h"
                                                    " shows which disk is full; free space there and run the"
                                                    " command again)")
    assert "Exception ignored" not in done.stderr and done.stderr.count("No space left") == 1
