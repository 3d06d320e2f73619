"""A lock or schema committed damaged is not told to restore itself with `git checkout HEAD --` (which
changes nothing): the fix offered rebuilds it, and works as printed (real git, hooks as the user runs them)."""

from __future__ import annotations

import json
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
    if not text:  # the caller commits its own damage
        return
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


def printed_fix(err: str) -> str:
    """The one fix of one finding, with no `git checkout HEAD` in it (a file committed damaged)."""
    assert "checkout HEAD" not in err and err.count("(fix: ") == 1, err
    return err.split("(fix: ", 1)[1].removesuffix(")")


def run_as_printed(ws: Workspace, command: str) -> None:
    """`command` in a shell at the workspace root, `drumgate` the one this interpreter runs."""
    run(ws, command.replace("drumgate ", f"{shutil.which('drumgate') or 'drumgate'} "))


def test_a_datasets_config_committed_damaged_is_moved_aside_and_written_again(workspace: Workspace,
                                                                              capsys: object) -> None:
    commit_damage(workspace, "configs/datasets.toml", "garbage = [\n")
    capsys.readouterr()  # type: ignore[attr-defined]
    assert cli.main(["init", str(workspace.root)]) == 2
    fix = printed_fix(capsys.readouterr().err.strip())  # type: ignore[attr-defined]
    command, why = fix.split(" to write ", 1)
    assert "drumgate init" in command and "copy your own settings back from" in why, fix
    run_as_printed(workspace, command)
    assert cli.main(["init", str(workspace.root)]) == 0


def test_a_taxonomy_committed_damaged_is_written_again_by_init(workspace: Workspace, capsys: object) -> None:
    taxonomy = "configs/technique_taxonomy.json"
    commit_damage(workspace, taxonomy, "")
    damaged = json.loads(subprocess.run(["git", "show", f"HEAD:{taxonomy}"], cwd=workspace.root,
                                        capture_output=True, text=True, check=True).stdout)
    damaged["classes"][0]["aliases"].append("sd")  # the snare's alias on the kick too
    (workspace.root / taxonomy).write_text(json.dumps(damaged, indent=2) + "\n", encoding="utf-8")
    assert git(workspace.root, "commit", "-qam", "alias", "--no-verify").returncode == 0
    fix = hook_fix(["hook", "taxonomy", taxonomy], capsys)
    way = fix.split(", or ", 1)[1].removesuffix(" to write drumgate's default again")
    assert way.startswith("rm ") and "drumgate init" in way, fix
    run_as_printed(workspace, way)
    assert cli.main(["hook", "taxonomy", taxonomy]) == 0


def test_a_checksums_manifest_committed_damaged_is_hashed_again(workspace: Workspace, capsys: object) -> None:
    manifest = "data/archives/checksums/cambridge.sha256"
    commit_damage(workspace, "configs/datasets.toml", "")
    assert cli.main(["checksums", "generate", "cambridge"]) == 0
    with (workspace.root / manifest).open("a") as out:
        out.write("zz\n")
    assert git(workspace.root, "add", "-A").returncode == 0
    assert git(workspace.root, "commit", "-qm", "damage", "--no-verify").returncode == 0
    fix = hook_fix(["hook", "checksums", manifest], capsys)
    command = fix.split(" to hash its files again from disk", 1)[0]
    assert command == "drumgate checksums generate cambridge --update", fix
    run_as_printed(workspace, command)
    assert cli.main(["hook", "checksums", manifest]) == 0


def test_a_licence_note_committed_as_a_link_to_a_folder_is_written_again(workspace: Workspace,
                                                                          capsys: object) -> None:
    note = "data/licenses/cambridge.md"
    commit_damage(workspace, "configs/datasets.toml", "")
    (workspace.root / note).unlink()
    (workspace.root / note).symlink_to("..")
    assert git(workspace.root, "add", "-A").returncode == 0
    assert git(workspace.root, "commit", "-qm", "link", "--no-verify").returncode == 0
    fix = hook_fix(["hook", "licences", note], capsys)
    assert fix == f"rm {note} && drumgate init", fix
    run_as_printed(workspace, fix)
    assert cli.main(["hook", "licences", note]) == 0
