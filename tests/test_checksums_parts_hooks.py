"""The hooks on a partitioned checksum manifest (issue 15): real git, the real pre-commit hooks
`drumgate init` installs, an E-GMD group whose configs say `partition_checksums = 0` (always a
folder). A commit through the hooks passes, a tampered part is blocked naming the part, a changed
raw file rewrites only its part and the index, and repro leaves the folder as generate wrote it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from drumgate import lineage
from drumgate.checksums import parts
from drumgate.commands.init_hooks import CHECKSUM_MANIFESTS
from drumgate.workspace import Workspace
from tests.data_repo_support import commit_refused, committed_egmd_repo, drumgate, git, status

DATE = "2026-01-15"
FOLDER = "data/archives/checksums/egmd"
EVENTS = "data/manifests/egmd_events.jsonl"
PROJECT = Path(__file__).resolve().parent.parent


def regenerate(repo: Path) -> None:
    for step in (("ingest", "egmd", "--date", DATE), ("checksums", "generate", "egmd", "--update"),
                 ("health", "--events", EVENTS, "--date", DATE), ("weights", "--events", EVENTS, "--date", DATE)):
        done = drumgate(repo, *step)
        assert done.returncode in (0, 1), (step, done.stderr[-2000:])


def always_parts(root: Path) -> None:
    config = root / "configs" / "datasets.toml"
    text = config.read_text()
    assert "partition_renders" in text
    config.write_text(re.sub(r"(?m)^partition_renders = .*$", r"\g<0>\npartition_checksums = 0", text, count=1))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return committed_egmd_repo(tmp_path, regenerate, "Ingest E-GMD, checksums as parts", always_parts, performances=6)


def folder_state(repo: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((repo / FOLDER).iterdir())}


def test_the_hook_patterns_match_the_folder() -> None:
    for config in (".pre-commit-config.yaml", ".pre-commit-hooks.yaml"):
        hooks = yaml.safe_load((PROJECT / config).read_text())
        listed = hooks if isinstance(hooks, list) else [h for r in hooks["repos"] for h in r["hooks"]]
        patterns = [hook["files"] for hook in listed if hook["id"].startswith("drumgate-checksums")]
        assert patterns
        for pattern in patterns:
            assert re.search(pattern, f"{FOLDER}/{parts.INDEX_NAME}") and re.search(pattern, f"{FOLDER}/0a.sha256")
    assert re.fullmatch(CHECKSUM_MANIFESTS, f"{FOLDER}/0a.sha256")


def test_committed_through_the_hooks_and_a_second_generate_changes_nothing(repo: Path) -> None:
    assert not (repo / "data/archives/checksums/egmd.sha256").exists()
    tracked = git(repo, "ls-files", FOLDER).stdout.split()
    assert f"{FOLDER}/{parts.INDEX_NAME}" in tracked and len(tracked) > 2
    assert drumgate(repo, "checksums", "generate", "egmd").returncode == 0
    assert not status(repo)
    index = f"{FOLDER}/{parts.INDEX_NAME}"
    recorded = lineage.read_lock(Workspace(repo), "egmd")["artifacts"][index]["sha256"]
    assert drumgate(repo, "repro", "egmd").returncode == 0  # repro's `checksums --update` step too
    assert not git(repo, "status", "--porcelain", "--", "data/archives").stdout
    assert lineage.read_lock(Workspace(repo), "egmd")["artifacts"][index]["sha256"] == recorded
    assert drumgate(repo, "checksums", "verify", "egmd").returncode == 0


def test_a_tampered_part_is_blocked_naming_the_part(repo: Path) -> None:
    part = sorted((repo / FOLDER).glob("??.sha256"))[0]
    line = part.read_text().splitlines()[0]
    part.write_text(part.read_text().replace(line, ("0" if line[0] != "0" else "1") + line[1:], 1))
    output = commit_refused(repo, "a hand-edited checksum part", part)
    name = part.relative_to(repo).as_posix()
    assert f"{name}: sha256 differs from the index (fix: drumgate checksums generate egmd --update)" in output


def test_a_changed_raw_file_rewrites_only_its_part_and_the_index(repo: Path) -> None:
    before = folder_state(repo)
    midi = sorted((repo / "data" / "raw" / "egmd").rglob("*.mid*"))[0]
    midi.write_bytes(midi.read_bytes() + b"\0")
    done = drumgate(repo, "checksums", "generate", "egmd", "--update")
    assert done.returncode == 0, done.stderr
    after = folder_state(repo)
    key = f"primary/{midi.relative_to(repo / 'data' / 'raw' / 'egmd').as_posix()}"
    assert {name for name in after if before.get(name) != after[name]} == {parts.part_name(key), parts.INDEX_NAME}
    assert git(repo, "add", "-A").returncode == 0
    blocked = git(repo, "commit", "-q", "-m", "a MIDI file changed")  # the provenance still names the old sha256
    assert blocked.returncode == 1 and "(fix: drumgate repro egmd, then git add -A)" in blocked.stdout + blocked.stderr
    assert drumgate(repo, "repro", "egmd").returncode in (0, 1)
    assert folder_state(repo) == after, "the ingest rewrote the provenance, not the checksum parts"
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "a MIDI file changed")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert sorted(name for name in changed if name.startswith(FOLDER)) == sorted(
        f"{FOLDER}/{name}" for name in (parts.part_name(key), parts.INDEX_NAME))


def test_a_folder_hand_edit_reaches_the_full_hook(repo: Path) -> None:
    (repo / FOLDER / parts.INDEX_NAME).write_text("")
    done = drumgate(repo, "hook", "checksums", "--all")
    assert done.returncode != 0
    assert "part missing from its index (fix: drumgate checksums generate egmd --update)" in done.stdout + done.stderr
