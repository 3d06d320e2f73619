"""The fixes drumgate printed that did not work as printed, each reproduced, then its printed fix run.

A sweep pasted every `(fix: ...)` into the folder it was printed in and found: `drumgate events
cambridge` for a damaged Cambridge events part (it reads that part again to carry an offline tier's
sessions forward, and exits 2); `drumgate repro egmd_events.jsonl` for a folder with no index.json;
`git init, then drumgate init-hooks` for `init-hooks --repo DIR` (acting on the current folder, not
DIR); `drumgate init FILE` for `--workspace FILE` (which init refuses); and prose where a command
exists (`regenerate the file`, `regenerate it with the drumgate command that wrote it`). Each test
here breaks a repository that way, takes the commands out of the printed fix with the harness of
tests/test_fix_commands.py, runs them as printed and checks the problem is gone.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.io import parts
from tests.data_repo_support import drumgate, git, user_env
from tests.test_fix_commands import DATE, EVENTS, LOCK, committed_repo, fix_commands, run_as_printed  # noqa: F401

CAMBRIDGE_EVENTS = Path("data/manifests/cambridge_events")
CAMBRIDGE_SESSIONS = Path("data/manifests/cambridge_sessions")
OFFLINE = {"DRUMGATE_CAMBRIDGE_EXTERNAL": "/nonexistent/cambridge-external-drive"}


@pytest.fixture
def egmd_repo(request: pytest.FixtureRequest) -> Path:
    """tests/test_fix_commands.py's committed E-GMD repository (made once per module), by another name."""
    return Path(request.getfixturevalue("committed_repo"))


def succeeded(done: subprocess.CompletedProcess[str]) -> bool:
    """Ran as printed: findings (1) are fine, a usage (2) or internal (3) error is not."""
    return done.returncode in (0, 1) and "usage:" not in done.stderr and "internal error" not in done.stderr


@pytest.fixture(scope="module")
def cambridge_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed Cambridge repository in the partitioned layout, ingested while its external drive
    was unplugged (the inventory marks that tier's sessions `tier_offline`), the drive back since."""
    root = tmp_path_factory.mktemp("cambridge") / "repo"
    root.mkdir()
    assert git(root, "init", "-q").returncode == 0
    assert drumgate(root, "init", "--datasets", "cambridge", "--no-hooks").returncode == 0
    make_cambridge_corpus(root / "data" / "raw" / "cambridge", root / "data" / "raw" / "cambridge_external", seed=1)
    for env in ({}, OFFLINE):  # day one with every drive, day two without the external one
        for argv in (["ingest", "cambridge", "--layout", "parts"], ["events", "cambridge"]):
            done = drumgate(root, *argv, **env)
            assert done.returncode in (0, 1), done.stderr
        assert git(root, "add", "-A").returncode == 0
        assert git(root, "commit", "-qm", "data", "--no-verify").returncode == 0
    assert (root / CAMBRIDGE_EVENTS / parts.INDEX_NAME).is_file()
    return root


def offline_part(root: Path) -> Path:
    """The events part (workspace-relative) of a session the committed inventory marks offline."""
    offline = [row["session_id"] for _, row in parts.iter_folder(root / CAMBRIDGE_SESSIONS)
               if row.get("status") == "tier_offline"]
    assert offline, "the fixture has no offline session"
    return CAMBRIDGE_EVENTS / f"{parts.part_stem(offline[0])}{parts.PART_SUFFIX}"


def damage(path: Path) -> None:
    """Flip one byte near the end of a gzip part: its sha256 and its CRC no longer match."""
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))


def break_the_index(root: Path) -> Path:
    index = CAMBRIDGE_EVENTS / parts.INDEX_NAME
    path = root / index
    path.write_text(path.read_text(encoding="utf-8").replace('"kind"', '"kinds"', 1), encoding="utf-8")
    return index


def copy_of(repo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(repo, root, symlinks=True)
    return root


@pytest.mark.parametrize("run", ["every command", "drumgate repro only"])
def test_a_damaged_cambridge_part_and_index_get_fixes_that_work(cambridge_repo: Path, tmp_path: Path,
                                                                 run: str) -> None:
    root = copy_of(cambridge_repo, tmp_path)
    part = offline_part(root)
    damage(root / part)
    index = break_the_index(root)
    noticed = drumgate(root, "hook", "schema", part.as_posix(), index.as_posix())
    assert noticed.returncode == 1, noticed.stderr
    assert "regenerate the file" not in noticed.stderr and "drumgate events cambridge" not in noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert {f"git checkout HEAD -- {part.as_posix()}", f"git checkout HEAD -- {index.as_posix()}",
            "drumgate repro cambridge"} <= set(commands), noticed.stderr
    assert drumgate(root, "events", "cambridge").returncode == 2  # the fix it printed before
    for command in commands if run == "every command" else ["drumgate repro cambridge"]:
        done = run_as_printed(root, command)
        assert succeeded(done), f"{command} -> exit {done.returncode}\n{done.stderr}"
    again = drumgate(root, "hook", "schema", part.as_posix(), index.as_posix())
    assert again.returncode == 0, again.stderr
    assert drumgate(root, "events", "cambridge").returncode == 0


def test_a_part_that_differs_from_its_index_is_restored_by_the_printed_checkout(cambridge_repo: Path,
                                                                               tmp_path: Path) -> None:
    root = copy_of(cambridge_repo, tmp_path)
    part = offline_part(root)
    committed = (root / part).read_bytes()
    damage(root / part)
    noticed = drumgate(root, "hook", "schema", part.as_posix())
    assert noticed.returncode == 1
    assert "sha256 differs from index.json" in noticed.stderr and "damaged gzip stream" in noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands == [f"git checkout HEAD -- {part.as_posix()}", "drumgate repro cambridge"], noticed.stderr
    assert succeeded(run_as_printed(root, commands[0]))
    assert (root / part).read_bytes() == committed
    assert drumgate(root, "hook", "schema", part.as_posix()).returncode == 0


def test_a_byte_flipped_inside_a_part_is_two_findings_with_their_fix(cambridge_repo: Path, tmp_path: Path) -> None:
    """Mid-stream damage inflates to garbage lines: the hook words the damage and the index mismatch
    once each (it printed 47 lines for one byte before), and the printed checkout mends it."""
    root = copy_of(cambridge_repo, tmp_path)
    part = max((root / CAMBRIDGE_EVENTS).glob(f"*{parts.PART_SUFFIX}"), key=lambda path: path.stat().st_size)
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    relative = part.relative_to(root).as_posix()
    noticed = drumgate(root, "hook", "schema", relative)
    assert noticed.returncode == 1
    findings = noticed.stderr.strip().splitlines()
    assert len(findings) == 2, noticed.stderr
    assert "sha256 differs from index.json" in findings[0] and "damaged gzip stream" in findings[1]
    assert fix_commands(noticed.stderr)[0] == f"git checkout HEAD -- {relative}"
    assert succeeded(run_as_printed(root, fix_commands(noticed.stderr)[0]))
    assert drumgate(root, "hook", "schema", relative).returncode == 0


def test_a_folder_named_as_the_manifest_file_names_its_group(egmd_repo: Path, tmp_path: Path) -> None:
    root = copy_of(egmd_repo, tmp_path)
    folder = tmp_path / "elsewhere" / "egmd_events.jsonl"
    folder.mkdir(parents=True)
    # outside the workspace, its report goes outside too (tests/test_outside_inputs.py)
    noticed = drumgate(root, "health", "--events", str(folder), "--date", DATE, "--output", str(tmp_path / "r.json"))
    assert noticed.returncode == 2 and "has no index.json" in noticed.stderr, noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands == ["drumgate repro egmd"], noticed.stderr
    done = run_as_printed(root, commands[0])
    assert succeeded(done), done.stderr
    # The group's manifest is written again and reads cleanly: no fix is printed for it.
    healthy = drumgate(root, "health", "--events", EVENTS, "--date", DATE)
    assert healthy.returncode in (0, 1) and fix_commands(healthy.stderr) == [], healthy.stderr


def test_the_manifests_folder_itself_is_not_called_a_group(egmd_repo: Path, tmp_path: Path) -> None:
    """`--events data/manifests` printed `drumgate repro manifests`, which is no group: now the files to pass."""
    root = copy_of(egmd_repo, tmp_path)
    noticed = drumgate(root, "crash-map", "--events", "data/manifests")
    assert noticed.returncode == 2 and "a folder, not a manifest" in noticed.stderr, noticed.stderr
    folder = root / "data" / "manifests"
    assert noticed.stderr.strip().endswith(f"(fix: ls {folder} and pass one of its <ds>_events.jsonl)")
    listed = run_as_printed(root, f"ls {folder}")
    assert listed.returncode == 0 and "egmd_events.jsonl" in listed.stdout.split()
    assert drumgate(root, "crash-map", "--events", EVENTS).returncode in (0, 1)  # one of them, passed


def test_a_restore_printed_in_a_subfolder_works_there(egmd_repo: Path, tmp_path: Path) -> None:
    """From `reports/`, `git checkout HEAD -- data/...` matched no file: the fix now carries `-C ROOT`."""
    root = copy_of(egmd_repo, tmp_path)
    manifest = root / EVENTS
    committed = manifest.read_bytes()
    lines = committed.splitlines(keepends=True)
    manifest.write_bytes(b"".join([*lines[:4], b'{"event_id": broken\n', *lines[5:]]))
    here = root / "reports"
    noticed = drumgate(here, "health", "--events", f"../{EVENTS}", "--date", DATE)
    assert noticed.returncode == 2, noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands[0] == f"git -C {root} checkout HEAD -- {EVENTS}", noticed.stderr
    assert succeeded(run_as_printed(here, commands[0]))
    assert manifest.read_bytes() == committed
    manifest.write_bytes(b"".join([*lines[:4], b'{"event_id": broken\n', *lines[5:]]))
    at_the_root = drumgate(root, "health", "--events", EVENTS, "--date", DATE)
    assert fix_commands(at_the_root.stderr)[0] == f"git checkout HEAD -- {EVENTS}"  # the plain form there


def run_in_shell(cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A fix chained with `&&`, pasted into a shell as it was printed."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=user_env(), capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.mark.parametrize("with_configs", [False, True], ids=["plain folder", "workspace without git"])
def test_init_hooks_on_a_folder_that_is_not_a_repository(tmp_path: Path, with_configs: bool) -> None:
    repo = tmp_path / "x dir" / "plain"
    repo.mkdir(parents=True)
    if with_configs:
        assert drumgate(repo, "init", "--datasets", "egmd", "--no-hooks").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = drumgate(elsewhere, "init-hooks", "--repo", str(repo))
    assert refused.returncode == 2 and "not a git repository" in refused.stderr
    commands = fix_commands(refused.stderr)
    quoted = shlex.quote(str(repo))
    then = f"drumgate init-hooks --repo {quoted}" if with_configs else f"drumgate init {quoted}"
    assert commands == [f"git init {quoted} && {then}"], refused.stderr
    done = run_in_shell(elsewhere, commands[0])
    assert done.returncode == 0, done.stderr
    assert (repo / ".git" / "hooks" / "pre-commit").is_file() and (repo / ".pre-commit-config.yaml").is_file()
    assert not (elsewhere / ".git").exists()
    assert drumgate(elsewhere, "init-hooks", "--repo", str(repo)).returncode == 0


def test_a_file_given_as_workspace_gets_an_init_that_works(tmp_path: Path) -> None:
    (tmp_path / "SOMEFILE").write_text("not a folder\n", encoding="utf-8")
    noticed = drumgate(tmp_path, "--workspace", "SOMEFILE", "docs")
    assert noticed.returncode == 2 and "is a file" in noticed.stderr
    commands = fix_commands(noticed.stderr)
    made = tmp_path / "SOMEFILE-repo"
    assert commands == [f"drumgate init {made}"], noticed.stderr
    assert run_as_printed(tmp_path, commands[0]).returncode == 0
    assert drumgate(tmp_path, "--workspace", str(made), "docs").returncode == 0
    again = drumgate(tmp_path, "--workspace", "SOMEFILE", "docs")
    assert fix_commands(again.stderr) == commands, again.stderr  # the workspace made is named, not a new one


def test_a_file_inside_a_workspace_given_as_workspace_names_that_workspace(egmd_repo: Path) -> None:
    noticed = drumgate(egmd_repo, "--workspace", "configs/datasets.toml", "docs")
    assert noticed.returncode == 2
    assert f"(fix: pass --workspace {egmd_repo}, the workspace holding it)" in noticed.stderr
    assert fix_commands(noticed.stderr) == []  # no `drumgate init` of a path inside configs/


def test_a_lock_that_fails_its_schema_is_restored_by_the_printed_checkout(egmd_repo: Path,
                                                                          tmp_path: Path) -> None:
    root = copy_of(egmd_repo, tmp_path)
    lock = root / LOCK
    committed = lock.read_bytes()
    document = json.loads(committed)
    document["edited_by_hand"] = True
    lock.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    noticed = drumgate(root, "hook", "schema", LOCK)
    assert noticed.returncode == 1
    assert "regenerate it with" not in noticed.stderr
    # repro and ingest both refuse a damaged lock, so the restore is the one way printed
    assert fix_commands(noticed.stderr) == [f"git checkout HEAD -- {LOCK}"], noticed.stderr
    assert succeeded(run_as_printed(root, f"git checkout HEAD -- {LOCK}"))
    assert lock.read_bytes() == committed and drumgate(root, "hook", "schema", LOCK).returncode == 0


def test_a_report_that_fails_its_schema_gets_commands_not_prose(egmd_repo: Path, tmp_path: Path) -> None:
    """A report its lock no longer records (nothing to rerun) is restored from HEAD."""
    root = copy_of(egmd_repo, tmp_path)
    lock = json.loads((root / LOCK).read_text(encoding="utf-8"))
    report = next(path for path in lock["artifacts"] if path.startswith("reports/health/") and path.endswith(".json"))
    del lock["artifacts"][report]
    (root / LOCK).write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    document = json.loads((root / report).read_text(encoding="utf-8"))
    document["status"] = "splendid"
    (root / report).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    noticed = drumgate(root, "hook", "schema", report)
    assert noticed.returncode == 1 and "regenerate it with" not in noticed.stderr, noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands == [f"git checkout HEAD -- {report}"], noticed.stderr
    assert succeeded(run_as_printed(root, commands[0]))
    assert drumgate(root, "hook", "schema", report).returncode == 0


@pytest.mark.parametrize("committed", [True, False])
def test_a_missing_schema_gets_a_fix_that_brings_it_back(egmd_repo: Path, tmp_path: Path, committed: bool) -> None:
    """It said `restore the schema (git checkout -- configs/schemas)`: prose, and no use for a schema
    that was never committed. Now the committed one is checked out, or `drumgate init` writes it."""
    root = copy_of(egmd_repo, tmp_path)
    schema = "configs/schemas/events.schema.json"
    if committed:
        (root / schema).unlink()
    else:
        assert git(root, "rm", "-q", schema).returncode == 0
        assert git(root, "commit", "-qm", "no schema", "--no-verify").returncode == 0
    noticed = drumgate(root, "hook", "schema", EVENTS)
    assert noticed.returncode == 1
    commands = fix_commands(noticed.stderr)
    assert commands == ([f"git checkout HEAD -- {schema}"] if committed else [f"drumgate init {root}"]), noticed.stderr
    assert succeeded(run_as_printed(root, commands[0]))
    assert drumgate(root, "hook", "schema", EVENTS).returncode == 0


def test_a_lock_never_committed_gets_the_commands_that_record_it_again(egmd_repo: Path, tmp_path: Path) -> None:
    """It said `regenerate them with drumgate (every command records its lock entry)`; now the commands."""
    root = copy_of(egmd_repo, tmp_path)
    assert git(root, "rm", "-q", LOCK).returncode == 0
    assert git(root, "commit", "-qm", "no lock", "--no-verify").returncode == 0
    sessions = "data/manifests/egmd_sessions.jsonl"
    with (root / sessions).open("a", encoding="utf-8") as handle:
        handle.write(" \n")
    assert git(root, "add", sessions).returncode == 0
    noticed = drumgate(root, "hook", "freshness", sessions)
    assert noticed.returncode == 1
    assert f"{LOCK}: no lineage lock for the staged egmd artifacts" in noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands[:3] == ["drumgate ingest egmd", "drumgate repro egmd", "git add -A"], noticed.stderr
    for command in commands[:3]:
        assert succeeded(run_as_printed(root, command)), command
    assert (root / LOCK).is_file()
    staged = git(root, "diff", "--cached", "--name-only").stdout.split()
    assert LOCK in staged
    again = drumgate(root, "hook", "freshness", *staged)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("where", [".", "reports"])
def test_a_report_that_no_longer_reads_as_json_gets_its_way_back_from_any_command(
        egmd_repo: Path, tmp_path: Path, where: str) -> None:
    """`drumgate diff` of a report cut short printed `invalid JSON` and no fix: every command's finding on
    a file drumgate wrote now carries the way back (the top-level handler adds `restore_fix`)."""
    root = copy_of(egmd_repo, tmp_path)
    report = next(root.glob("reports/health/egmd_*.json"))
    committed = report.read_bytes()
    report.write_bytes(committed[: len(committed) // 2])
    here = root / where
    noticed = drumgate(here, "diff", "--baseline", "auto", str(report.relative_to(here)))
    assert noticed.returncode == 2 and "invalid JSON" in noticed.stderr, noticed.stderr
    commands = fix_commands(noticed.stderr)
    relative = report.relative_to(root).as_posix()
    assert commands[0] == (f"git checkout HEAD -- {relative}" if where == "." else
                           f"git -C {root} checkout HEAD -- {relative}"), noticed.stderr
    assert succeeded(run_as_printed(here, commands[0]))
    assert report.read_bytes() == committed


def test_merge_conflict_markers_get_relative_paths_and_commands(egmd_repo: Path, tmp_path: Path) -> None:
    """After a conflicted merge the freshness hook named the lock by its absolute path, and the checksums
    hook's fix for the provenance was prose (`regenerate the provenance with its ingest command`)."""
    root = copy_of(egmd_repo, tmp_path)
    provenance = "data/provenance/egmd_provenance.jsonl"
    for relative in (LOCK, provenance):
        text = (root / relative).read_text(encoding="utf-8").splitlines(keepends=True)
        (root / relative).write_text("".join([text[0], "<<<<<<< HEAD\n", *text[1:]]), encoding="utf-8")
    assert git(root, "add", LOCK, provenance).returncode == 0
    freshness = drumgate(root, "hook", "freshness")
    assert freshness.returncode == 1
    assert freshness.stderr.splitlines()[0].startswith(f"{LOCK}:2: invalid JSON"), freshness.stderr
    checksums = drumgate(root, "hook", "checksums", provenance)
    assert checksums.returncode == 1 and "regenerate the provenance" not in checksums.stderr, checksums.stderr
    commands = fix_commands(checksums.stderr)
    assert commands[0] == f"git checkout HEAD -- {provenance}", checksums.stderr
    for command in (commands[0], f"git checkout HEAD -- {LOCK}"):
        assert succeeded(run_as_printed(root, command))
    assert drumgate(root, "hook", "checksums", provenance).returncode == 0
    assert drumgate(root, "hook", "freshness").returncode == 0
