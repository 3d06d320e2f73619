"""A dataset's table deleted from `configs/datasets.toml`: the hook's fix retires its group and the
commit goes through; a dataset moved to another group is refused with a fix that undoes the move.

Before, the hook asked for `drumgate repro egmd prod_combined`, repro refused the group it no longer
knew and offered `drumgate repro cambridge`, and the commit could not be finished."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.data_repo_support import commit_refused, copied_repo, drumgate, git, status, without_dataset

pytestmark = pytest.mark.slow

CONFIG = "configs/datasets.toml"




def _fix(refused: str) -> list[str]:
    found = re.search(r"\(run: (drumgate repro [^,]+), then git add -A\)", refused)
    assert found, refused
    return shlex.split(found.group(1))[1:]


def test_a_deleted_dataset_table_is_retired_by_the_printed_fix(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    without_dataset(repo / CONFIG, "egmd")
    refused = commit_refused(repo, "drop E-GMD", repo / CONFIG)
    assert "of egmd (no longer configured: repro retires it), prod_combined to regenerate" in refused, refused
    words = _fix(refused)
    assert words[:2] == ["repro", "egmd"]
    plan = drumgate(repo, *words, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "== retire: egmd is no longer a group of configs/datasets.toml: its lock and 7 artifacts would be" in (
        plan.stdout)
    assert (repo / "data" / "locks" / "egmd.lock.json").is_file(), "a dry run removes nothing"
    done = drumgate(repo, *words)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (repo / "data" / "locks" / "egmd.lock.json").exists()
    assert not list((repo / "data" / "manifests").glob("egmd_*")) and not list((repo / "reports").rglob("egmd_*"))
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "drop E-GMD")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert status(repo) == ""
    again = drumgate(repo, "repro", "--dry-run")
    assert "stale" not in again.stdout and "retire" not in again.stdout, again.stdout
    assert git(repo, "show", "HEAD~1:data/manifests/egmd_events.jsonl").returncode == 0, "git keeps the history"


MOVED = ("data/locks/musdb_hq.lock.json: records artifacts of musdb_hq, which configs/datasets.toml now puts in"
         " cambridge: moving a dataset between groups is not supported (its artifacts would be remade under a"
         " group that does not record them) (fix: git checkout HEAD -- configs/datasets.toml)")


def test_a_dataset_moved_to_another_group_is_refused_with_its_undo(demo: Path, tmp_path: Path) -> None:
    """The hook says what repro would (before, it printed a repro line that repro then refused)."""
    repo = copied_repo(demo, tmp_path)
    config = repo / CONFIG
    config.write_text(config.read_text(encoding="utf-8").replace('group = "musdb_hq"', 'group = "cambridge"', 1),
                      encoding="utf-8")
    refused = commit_refused(repo, "MUSDB into the Cambridge group", config)
    assert MOVED in refused.splitlines() and "drumgate repro" not in refused, refused
    for command in (["repro", "musdb_hq"], ["health", "--events", "data/manifests/musdb_hq_events.jsonl"]):
        done = drumgate(repo, *command)  # health too: it would record musdb_hq's report under cambridge
        assert (done.returncode, done.stderr) == (2, MOVED + "\n"), command
    cambridge_lock = (repo / "data" / "locks" / "cambridge.lock.json").read_text(encoding="utf-8")
    assert "reports/health/musdb_hq_" not in cambridge_lock
    assert (repo / "data" / "locks" / "musdb_hq.lock.json").is_file()
    assert git(repo, *shlex.split(MOVED.split("(fix: git ")[1].rstrip(")"))).returncode == 0
    assert status(repo) == ""


def test_retiring_a_dataset_drops_the_compares_of_its_reports(demo: Path, tmp_path: Path) -> None:
    """MUSDB's reports are compared with Cambridge's in the combined group: that compare names them, so it
    goes with them (before, repro stopped at it with a `git rm` fix, and the dry run planned it)."""
    repo = copied_repo(demo, tmp_path)
    without_dataset(repo / CONFIG, "musdb_hq")
    words = _fix(commit_refused(repo, "drop MUSDB", repo / CONFIG))
    plan = drumgate(repo, *words, "--dry-run")
    assert "compare_cambridge_vs_musdb_hq.json, reports/diffs/compare_cambridge_vs_musdb_hq.md, which compared" in (
        plan.stdout)
    assert "drumgate compare" not in plan.stdout, plan.stdout
    done = drumgate(repo, *words)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]  # 1: combine's gate findings
    assert not (repo / "reports" / "diffs" / "compare_cambridge_vs_musdb_hq.json").exists()
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "drop MUSDB")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert "stale" not in drumgate(repo, "repro", "--dry-run").stdout


def test_a_committed_move_names_the_edit_that_undoes_it(demo: Path, tmp_path: Path) -> None:
    """Past the hooks (--no-verify), restoring HEAD's config changes nothing: the fix names the group edit."""
    repo = copied_repo(demo, tmp_path)
    config = repo / CONFIG
    config.write_text(config.read_text(encoding="utf-8").replace('group = "musdb_hq"', 'group = "cambridge"', 1),
                      encoding="utf-8")
    assert git(repo, "commit", "-q", "--no-verify", "-am", "moved past the hooks").returncode == 0
    done = drumgate(repo, "health", "--events", "data/manifests/musdb_hq_events.jsonl")
    assert done.returncode == 2
    assert done.stderr.endswith('(fix: set group = "musdb_hq" under [datasets.musdb_hq] in configs/datasets.toml)\n')


def test_the_move_check_runs_once_per_command_before_its_first_lock(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every writing command takes locks more than once (its group, then lineage recording, after the
    write): the datasets config is read for the check once, before anything is written."""
    from drumgate.lineage import grouplock, moved
    from drumgate.workspace import Workspace

    calls: list[Path] = []
    monkeypatch.setattr(moved, "refuse_any_moved", lambda ws: calls.append(ws.root))
    ws = Workspace(tmp_path)
    with grouplock.command_scope("test"):
        grouplock.hold(ws, ["egmd"])
        grouplock.hold(ws, ["egmd", "prod_combined"])
    with grouplock.command_scope("test again"):
        grouplock.hold(ws, ["egmd"])
    assert calls == [tmp_path, tmp_path]
