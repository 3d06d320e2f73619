"""A lock or schema committed damaged is not told to restore itself with `git checkout HEAD --` (which
changes nothing): the fix offered rebuilds it, and works as printed (real git, hooks as the user runs them)."""

from __future__ import annotations

import shutil
import subprocess

from drumgate import cli
from drumgate.workspace import DEFAULTS, Workspace
from tests.data_repo_support import git
from tests.test_contract_layout import ingest, make_cambridge

LOCK = "data/locks/cambridge.lock.json"
SCHEMA = "configs/schemas/lock.schema.json"


def commit_damage(ws: Workspace, relative: str, text: str) -> None:
    make_cambridge(ws.root / "data" / "raw")
    assert ingest("cambridge") == 0 and cli.main(["events", "cambridge"]) == 0
    shutil.copy(DEFAULTS / "gitignore", ws.root / ".gitignore")
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "data", "--no-verify"]):
        assert git(ws.root, *argv).returncode == 0
    with (ws.root / relative).open("a" if relative == LOCK else "w") as out:
        out.write(text)
    assert git(ws.root, "commit", "-qam", "damage", "--no-verify").returncode == 0


def hook_fix(argv: list[str], capsys: object) -> str:
    capsys.readouterr()  # type: ignore[attr-defined]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()  # type: ignore[attr-defined]
    assert "checkout HEAD" not in err and err.count("(fix: ") == 1, err
    return err.split("(fix: ", 1)[1].removesuffix(")")


def run(ws: Workspace, command: str) -> None:
    done = subprocess.run(command, shell=True, cwd=ws.root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (command, done.stderr)


def test_a_lock_committed_damaged_is_removed_and_recorded_again(workspace: Workspace, capsys: object) -> None:
    commit_damage(workspace, LOCK, "garbage\n")
    fix = hook_fix(["hook", "freshness", "--all"], capsys)
    assert fix.startswith(f"rm {LOCK}, then drumgate ingest cambridge"), fix
    for step in fix.split(", then "):
        assert cli.main(step.split()[1:]) == 0 if step.startswith("drumgate ") else run(workspace, step) is None
    assert cli.main(["hook", "freshness", "--all"]) == 0


def test_a_schema_committed_damaged_is_written_again_by_init(workspace: Workspace, capsys: object) -> None:
    commit_damage(workspace, SCHEMA, "{\n")
    fix = hook_fix(["hook", "schema", LOCK], capsys)
    assert "drumgate init" in fix, fix
    run(workspace, fix.replace("drumgate init", f"{shutil.which('drumgate') or 'drumgate'} init"))
    assert cli.main(["hook", "schema", LOCK]) == 0
