"""Every fix command drumgate prints runs as printed (issue 16).

A small data repository (E-GMD, generated) is committed once; each scenario breaks a copy of it
the way the demo's failure scenarios do (a hand-edited report, a stale input, a missing or
outdated checksum manifest, a new raw file, an incomplete licence note, a bad provenance row,
no workspace), runs the command that notices, takes every `drumgate ...` / `git ...` command out
of the `(fix: ...)` / `(run: ...)` part of what it printed, and runs each one exactly as printed:
none may be a usage error (2) or an internal error (3), and after the fixes the check passes.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.data_repo_support import drumgate, egmd_repo_without_hooks, git, user_env

FIX_PART = re.compile(r"\((?:fix|run): (?P<text>.*)\)\s*$")
COMMAND = re.compile(r"\b(?:drumgate|git) .*?(?= to [a-z]|, |; |$)")
DATE = "2026-03-01"
HEALTH = "reports/health/egmd_20260301.json"
CHECKSUMS = "data/archives/checksums/egmd.sha256"
LOCK = "data/locks/egmd.lock.json"
EVENTS = "data/manifests/egmd_events.jsonl"


def fix_commands(output: str) -> list[str]:
    """The commands inside every `(fix: ...)` or `(run: ...)` at the end of a printed line, once each."""
    found: dict[str, None] = {}
    for line in output.splitlines():
        match = FIX_PART.search(line)
        if match:
            for command in COMMAND.findall(match.group("text")):
                found.setdefault(command.strip(), None)
    return list(found)


def run_as_printed(cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    if words[0] == "drumgate":
        return drumgate(cwd, *words[1:])
    return subprocess.run(words, cwd=cwd, env=user_env(), capture_output=True, text=True, check=False, timeout=300)


def test_fix_commands_are_taken_from_the_hint_only() -> None:
    printed = (
        "a.json: edited by hand "
        "(fix: git checkout HEAD -- a.json b.json to undo, or drumgate repro egmd, then git add -A, to regenerate)\n"
        "m.sha256:3: x: sha256 differs (fix: restore it, or accept it with drumgate checksums generate egmd --update)\n"
        "stale (run: drumgate repro egmd, then git add -A)\n"
        "drumgate repro egmd is mentioned here but is no fix\n"
    )
    assert fix_commands(printed) == [
        "git checkout HEAD -- a.json b.json", "drumgate repro egmd", "git add -A",
        "drumgate checksums generate egmd --update",
    ]


@pytest.fixture(scope="module")
def committed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drumgate init`, a generated E-GMD corpus, ingest, repro, one commit: a clean data repository."""
    steps = [["ingest", "egmd", "--date", DATE], ["repro", "--date", DATE]]
    return egmd_repo_without_hooks(tmp_path_factory.mktemp("fixes") / "repo", steps)


def _edit_report_by_hand(root: Path) -> None:
    path = root / HEALTH
    report = json.loads(path.read_text(encoding="utf-8"))
    report["status"] = "pass" if report["status"] == "fail" else "fail"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    git(root, "add", HEALTH)


def _change_a_gate(root: Path) -> None:
    path = root / "configs" / "datasets.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("min_sessions = 2", "min_sessions = 3", 1),
                    encoding="utf-8")
    git(root, "add", "configs/datasets.toml")


def _delete_the_checksums(root: Path) -> None:
    (root / "data" / "archives" / "checksums" / "egmd.sha256").unlink()


def _damage_a_checksum_line(root: Path) -> None:
    path = root / CHECKSUMS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "not-a-digest" + lines[1][64:]
    path.write_text("".join(lines), encoding="utf-8")


def _break_an_events_row(root: Path) -> None:
    path = root / EVENTS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = '{"broken\n'
    path.write_text("".join(lines), encoding="utf-8")


def _delete_the_lock(root: Path) -> None:
    (root / LOCK).unlink()


def _stage_the_lock_deletion(root: Path) -> None:
    _delete_the_lock(root)
    git(root, "add", "-A", "data/locks")


def _change_a_raw_file(root: Path) -> None:
    wav = sorted((root / "data" / "raw" / "egmd").rglob("*.wav"))[0]
    wav.write_bytes(wav.read_bytes()[:-2] + b"\x01\x02")


def _add_a_raw_file(root: Path) -> None:
    (root / "data" / "raw" / "egmd" / "notes.txt").write_text("session notes\n", encoding="utf-8")


def _blank_a_licence_field(root: Path) -> None:
    note = root / "data" / "licenses" / "egmd.md"
    note.write_text(re.sub(r"(?m)^(licen[cs]e:).*$", r"\1", note.read_text(encoding="utf-8"), count=1),
                    encoding="utf-8")
    git(root, "add", "data/licenses/egmd.md")


def _break_a_provenance_row(root: Path) -> None:
    path = root / "data" / "provenance" / "egmd_provenance.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(rows[0])
    del row["source_files"]
    path.write_text("\n".join([json.dumps(row, sort_keys=True), *rows[1:]]) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Scenario:
    name: str
    breaks: Callable[[Path], None]
    check: tuple[str, ...]
    expected: tuple[str, ...]  # commands the check must print (the others it prints run too)


SCENARIOS = [
    Scenario("hand-edited report", _edit_report_by_hand, ("hook", "freshness"),
             (f"git checkout HEAD -- {HEALTH}", "drumgate repro egmd")),
    Scenario("stale input", _change_a_gate, ("hook", "freshness"), ("drumgate repro egmd prod_combined", "git add -A")),
    Scenario("missing checksum manifest", _delete_the_checksums, ("checksums", "verify", "egmd"),
             ("drumgate checksums generate egmd",)),
    Scenario("missing checksum manifest (hook)", _delete_the_checksums,
             ("hook", "checksums", "data/provenance/egmd_provenance.jsonl"), ("drumgate checksums generate egmd",)),
    Scenario("damaged checksum line (hook)", _damage_a_checksum_line, ("hook", "checksums", CHECKSUMS),
             (f"git checkout HEAD -- {CHECKSUMS}", "drumgate checksums generate egmd --update")),
    Scenario("damaged checksum line", _damage_a_checksum_line, ("checksums", "generate", "egmd"),
             (f"git checkout HEAD -- {CHECKSUMS}", "drumgate checksums generate egmd --update")),
    *(Scenario(f"damaged events row ({check[0]})", _break_an_events_row, check,
               (f"git checkout HEAD -- {EVENTS}", "drumgate repro egmd"))
      for check in (("health", "--events", EVENTS, "--date", DATE), ("crash-map",), ("combine", "--date", DATE))),
    Scenario("deleted lock (repro)", _delete_the_lock, ("repro", "--date", DATE),
             (f"git checkout HEAD -- {LOCK}", "drumgate ingest egmd")),
    Scenario("deleted lock staged (hook)", _stage_the_lock_deletion, ("hook", "freshness"),
             (f"git checkout HEAD -- {LOCK}",)),
    Scenario("deleted lock (hook --all)", _delete_the_lock, ("hook", "freshness", "--all"),
             (f"git checkout HEAD -- {LOCK}",)),
    Scenario("changed raw file", _change_a_raw_file, ("checksums", "verify", "egmd"),
             ("drumgate repro egmd", "git add -A")),
    # a raw file new or back (it was missing when the group was made): what the ingest reads changed too
    Scenario("new raw file", _add_a_raw_file, ("checksums", "verify", "egmd"), ("drumgate repro egmd", "git add -A")),
    Scenario("bad provenance row", _break_a_provenance_row,
             ("health", "--events", "data/manifests/egmd_events.jsonl", "--date", DATE), ("drumgate ingest egmd",)),
    Scenario("incomplete licence note", _blank_a_licence_field,
             ("hook", "licences", "data/manifests/egmd_events.jsonl"), ()),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_printed_fix_runs_as_printed(scenario: Scenario, committed_repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(committed_repo, root, symlinks=True)
    scenario.breaks(root)
    noticed = drumgate(root, *scenario.check)
    assert noticed.returncode in (1, 2), noticed.stdout + noticed.stderr
    commands = fix_commands(noticed.stdout + noticed.stderr)
    assert set(scenario.expected) <= set(commands), noticed.stderr
    for command in commands:
        done = run_as_printed(root, command)
        assert done.returncode in (0, 1), f"{command} -> exit {done.returncode}\n{done.stderr}"
        assert "internal error" not in done.stderr and "usage:" not in done.stderr, done.stderr
    if commands:
        again = drumgate(root, *scenario.check)
        assert fix_commands(again.stdout + again.stderr) == [], again.stderr


def test_outside_a_workspace_the_printed_fix_runs(tmp_path: Path) -> None:
    noticed = drumgate(tmp_path, "docs")
    assert noticed.returncode == 2
    commands = fix_commands(noticed.stderr)
    assert commands == ["drumgate init"]
    assert run_as_printed(tmp_path, commands[0]).returncode == 0
    assert (tmp_path / "configs" / "datasets.toml").is_file()


def test_a_hook_run_by_hand_ends_with_a_success_line(committed_repo: Path) -> None:
    done = drumgate(committed_repo, "hook", "taxonomy", "data/manifests/egmd_events.jsonl")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "taxonomy: 1 file checked, 0 findings"
    under_pre_commit = drumgate(committed_repo, "hook", "taxonomy", "data/manifests/egmd_events.jsonl", PRE_COMMIT="1")
    assert under_pre_commit.returncode == 0 and under_pre_commit.stdout == ""


@pytest.mark.parametrize(
    ("hook", "artifact"),
    [("schema", "data/manifests/egmd_events.jsonl"), ("taxonomy", "data/manifests/egmd_events.jsonl"),
     ("checksums", "data/provenance/egmd_provenance.jsonl"), ("licences", "data/manifests/egmd_events.jsonl")],
)
def test_a_hook_run_by_hand_counts_only_the_files_it_checks(committed_repo: Path, hook: str, artifact: str) -> None:
    both = drumgate(committed_repo, "hook", hook, ".gitignore", artifact)  # there, but none checks it
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines()[-1] == f"{hook}: 1 of 2 files checked (1 is not what it checks), 0 findings"
    neither = drumgate(committed_repo, "hook", hook, ".gitignore")
    assert neither.stdout.splitlines()[-1] == f"{hook}: 0 of 1 file checked (1 is not what it checks), 0 findings"
    if hook != "checksums":  # which with no files checks every tree (`--all`)
        none = drumgate(committed_repo, "hook", hook)
        assert none.stdout.splitlines()[-1] == (
            f"{hook}: no files given, nothing checked (pass the files to check), 0 findings")


def test_update_alone_repairs_a_damaged_checksum_line(committed_repo: Path, tmp_path: Path) -> None:
    """The second way out the hint names: the damaged line is dropped and its file hashed again."""
    root = tmp_path / "repo"
    shutil.copytree(committed_repo, root, symlinks=True)
    committed = (root / CHECKSUMS).read_bytes()
    _damage_a_checksum_line(root)
    refused = drumgate(root, "checksums", "generate", "egmd")
    assert refused.returncode == 2 and (root / CHECKSUMS).read_bytes() != committed  # nothing rewritten
    repaired = drumgate(root, "checksums", "generate", "egmd", "--update")
    assert repaired.returncode == 0, repaired.stderr
    assert f"{CHECKSUMS}:2: " in repaired.stderr and "(dropped)" in repaired.stderr
    assert (root / CHECKSUMS).read_bytes() == committed  # the unchanged file's digest, back on its line


def test_a_lost_lock_is_recorded_again_by_the_ingest_repro_names(committed_repo: Path, tmp_path: Path) -> None:
    """Without the lock repro ran no step and exited 0; now it names the lost lock, and the ingest it
    prints records it again, after which repro remakes the rest."""
    root = tmp_path / "repo"
    shutil.copytree(committed_repo, root, symlinks=True)
    _delete_the_lock(root)
    noticed = drumgate(root, "repro", "--date", DATE)
    assert noticed.returncode == 1 and f"{LOCK}: missing while egmd's manifests are there" in noticed.stderr
    assert drumgate(root, "ingest", "egmd", "--date", DATE).returncode in (0, 1)
    again = drumgate(root, "repro", "--date", DATE)
    assert again.returncode in (0, 1) and "missing while" not in again.stderr, again.stderr
    assert (root / LOCK).is_file()


def test_a_missing_config_is_restored_by_the_init_it_names(committed_repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(committed_repo, root, symlinks=True)
    taxonomy = root / "configs" / "technique_taxonomy.json"
    kept = taxonomy.read_bytes()
    taxonomy.unlink()
    noticed = drumgate(root, "crash-map")
    assert noticed.returncode == 2 and "technique_taxonomy.json: file not found" in noticed.stderr
    commands = fix_commands(noticed.stderr)
    assert commands == [f"drumgate init {root}"], noticed.stderr
    assert run_as_printed(tmp_path, commands[0]).returncode == 0  # from anywhere: the path is in it
    assert taxonomy.read_bytes() == kept and drumgate(root, "crash-map").returncode == 0


def test_repro_writes_an_older_hand_edited_report_again_with_its_own_command(committed_repo: Path,
                                                                             tmp_path: Path) -> None:
    """The hook's fix for a hand-edited report is `drumgate repro GROUP`; for a report that a newer one
    superseded, repro wrote yet another new report and the edited one stayed, so the hook kept failing."""
    root = tmp_path / "repo"
    shutil.copytree(committed_repo, root, symlinks=True)
    assert drumgate(root, "health", "--events", EVENTS, "--date", "2026-03-02").returncode in (0, 1)
    _edit_report_by_hand(root)  # the 2026-03-01 report, now history
    noticed = drumgate(root, "hook", "freshness", "--all")
    assert noticed.returncode == 1 and "drumgate repro egmd" in fix_commands(noticed.stdout + noticed.stderr)
    assert drumgate(root, "repro", "egmd", "--date", "2026-03-03").returncode in (0, 1)
    again = drumgate(root, "hook", "freshness", "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert not (root / "reports/health/egmd_20260303.json").exists()  # nothing else was stale: no new report
