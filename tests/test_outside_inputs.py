"""`health` and `weights` of a file outside the workspace: the report goes outside too.

Before, `drumgate health --events $TMPDIR/egmd_events.jsonl` wrote over the workspace's committed
`reports/health/egmd_<date>.json` and `.html` and recorded them in `data/locks/egmd.lock.json` with
the scratch file's absolute path in their command; `weights` did the same to its sampling report.
Now the run is refused before any counting, with the command that writes the report beside the file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.lineage import check as lineage_check
from drumgate.workspace import DEFAULTS, Workspace
from tests.data_repo_support import git
from tests.test_fix_commands import fix_commands, run_as_printed

DATE = "2024-05-01"
EVENTS = "data/manifests/egmd_events.jsonl"
REFUSED = re.compile(r"(?P<path>\S.*): outside the workspace (?P<root>\S+), so its report may not (?:replace|go to)"
                     r" (?P<into>\S+), whose lock entry would name a path on this machine \(fix: (?P<fix>.+)\)")
COMMANDS = {"health": "reports/health/egmd_20240501.json", "weights": "reports/sampling/egmd_weights_20240501.json"}


def committed(workspace: Workspace) -> dict[str, bytes]:
    """The workspace's own reports and lock, made from its own manifests; their bytes."""
    write_jsonl(workspace.events_manifest("egmd"), event_rows(3000, sessions=20, seed=3))
    write_jsonl(workspace.sessions_manifest("egmd"), session_rows(20, seed=3))
    for command in COMMANDS:
        assert cli.main([command, "--events", EVENTS, "--date", DATE]) == 0
    return state(workspace)


def state(workspace: Workspace) -> dict[str, bytes]:
    return {workspace.rel(path): path.read_bytes() for folder in ("reports", "data/locks")
            for path in sorted((workspace.root / folder).rglob("*")) if path.is_file()}


def scratch_copy(tmp_path: Path, name: str = "egmd_events.jsonl") -> Path:
    """Another events manifest (fewer events), outside the workspace."""
    copy = tmp_path / "scratch" / name
    write_jsonl(copy, event_rows(500, sessions=20, seed=5))
    return copy


def refusal(err: str) -> re.Match[str]:
    found = REFUSED.fullmatch(err.strip())
    assert found is not None, err
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_a_scratch_events_file_never_replaces_the_workspaces_report(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    before = committed(workspace)
    capsys.readouterr()
    copy = scratch_copy(tmp_path)
    assert cli.main([command, "--events", str(copy), "--date", DATE]) == 2
    found = refusal(capsys.readouterr().err)
    assert (found["path"], found["root"], found["into"]) == (str(copy), str(workspace.root), COMMANDS[command])
    assert state(workspace) == before
    assert sorted(copy.parent.iterdir()) == [copy]  # nothing written anywhere
    scratch = copy.parent / f"egmd_events_{command}_20240501.json"
    fix = shlex.split(found["fix"])
    assert fix == ["drumgate", command, "--events", str(copy), *fix[4:-2], "--output", str(scratch)], fix
    assert cli.main(fix[1:]) == 0  # as printed
    assert "outside the workspace" in capsys.readouterr().err  # lineage's note: not recorded
    assert read_json(scratch)["source"]["events"] == str(copy)
    assert state(workspace) == before
    assert lineage_check(workspace, "egmd") == []


def test_an_output_typed_inside_the_workspace_is_refused_and_the_fix_moves_it_out(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Written and recorded, its lock entry named this machine's path; unrecorded, the hooks refuse it."""
    before = committed(workspace)
    capsys.readouterr()
    copy = scratch_copy(tmp_path)
    kept = tmp_path / "scratch" / "mine.json"
    for outputs, into, written in (
            (["--output", "reports/health/mine.json"], "reports/health/mine.json",
             [copy.parent / "egmd_events_health_20240501.json", copy.parent / "egmd_events_health_20240501.html"]),
            (["--output", str(kept), "--html-output", "reports/health/mine.html"], "reports/health/mine.html",
             [kept, kept.with_suffix(".html")])):
        assert cli.main(["health", "--events", str(copy), *outputs, "--date", DATE]) == 2
        found = refusal(capsys.readouterr().err)
        assert found["into"] == into
        assert state(workspace) == before
        assert cli.main(shlex.split(found["fix"])[1:]) == 0
        capsys.readouterr()
        assert all(path.is_file() for path in written), written
        assert state(workspace) == before


def test_a_sessions_inventory_outside_is_refused_like_events_outside(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = committed(workspace)
    capsys.readouterr()
    sessions = tmp_path / "elsewhere" / "egmd_sessions.jsonl"
    write_jsonl(sessions, session_rows(20, seed=3))
    for command in COMMANDS:
        assert cli.main([command, "--events", EVENTS, "--sessions", str(sessions), "--date", DATE]) == 2
        found = refusal(capsys.readouterr().err)
        assert found["path"] == str(sessions) and found["into"] == COMMANDS[command]
        assert cli.main(shlex.split(found["fix"])[1:]) == 0
        capsys.readouterr()
        assert (sessions.parent / f"egmd_sessions_{command}_20240501.json").is_file()
    assert state(workspace) == before


def test_a_dataset_fix_for_a_file_outside_writes_outside_at_once(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The dataset refusal comes first; its fix carries the --output, so it is not refused in turn."""
    before = committed(workspace)
    capsys.readouterr()
    copy = scratch_copy(tmp_path, "all.jsonl")
    assert cli.main(["health", "--events", str(copy), "--date", DATE]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot tell the dataset from the file name" in err
    [fix] = fix_commands(err)
    assert cli.main(shlex.split(fix)[1:]) == 0, capsys.readouterr().err
    assert read_json(copy.parent / "all_health_20240501.json")["totals"]["events"] == 500
    assert state(workspace) == before


def test_a_read_only_folder_beside_the_file_gives_a_fix_in_the_temporary_folder(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = committed(workspace)
    capsys.readouterr()
    copy = scratch_copy(tmp_path)
    real_access = os.access
    # tests run as root, for whom every folder is writable: the events' folder is made to say it is not
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != copy.parent and real_access(path, mode))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert cli.main(["weights", "--events", str(copy), "--date", DATE]) == 2
    fix = shlex.split(refusal(capsys.readouterr().err)["fix"])
    assert fix[-2:] == ["--output", str(tmp_path / "tmp" / "egmd_events_weights_20240501.json")]
    assert cli.main(fix[1:]) == 0
    assert state(workspace) == before


def test_the_refusal_comes_before_any_count(workspace: Workspace, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_health_early_count import recorded_counts

    started, counted = recorded_counts(monkeypatch)
    assert cli.main(["health", "--events", str(scratch_copy(tmp_path)), "--date", DATE]) == 2
    assert [early.stopped for early in started] == [True]
    assert counted == []


def test_in_a_git_workspace_a_tmpdir_run_and_its_printed_fix_leave_git_status_clean(
        workspace: Workspace, tmp_path: Path) -> None:
    """The reported case, as a user runs it: a subprocess, no --date, the fix run as printed."""
    committed(workspace)
    shutil.copy(DEFAULTS / "gitignore", workspace.root / ".gitignore")  # as `drumgate init` writes it
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "reports"]):
        assert git(workspace.root, *argv).returncode == 0
    copy = scratch_copy(tmp_path)
    done = run_as_printed(workspace.root, f"drumgate health --events {shlex.quote(str(copy))}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    refusal(done.stderr)
    [fix] = fix_commands(done.stderr)
    fixed = run_as_printed(workspace.root, fix)
    assert fixed.returncode == 0, fixed.stderr
    assert "not recorded in its lineage" in fixed.stderr
    assert git(workspace.root, "status", "--porcelain").stdout == ""
