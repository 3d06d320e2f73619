"""Partitioned checksum manifests (issue 15): a large `<ds>.sha256` becomes `<ds>/` of sha256sum parts
plus `index.sha256`; a second generate changes no byte, a small change rewrites only its parts, and
every disagreement between index and parts is one line naming the file, with the fix."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from drumgate import cli, lineage
from drumgate.artifacts import classify
from drumgate.checksums import parse_manifest, parts
from drumgate.cli import checksums
from drumgate.workspace import Workspace

DATASET = "egmd"
PERFORMANCES = 40
KITS = 3


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))


def set_threshold(ws: Workspace, above: int) -> None:
    """`partition_checksums = above` for E-GMD in the workspace's own datasets.toml."""
    config = ws.root / "configs" / "datasets.toml"
    text = config.read_text()
    option = f"partition_renders = 10000\npartition_checksums = {above}"
    config.write_text(text.replace("partition_renders = 10000", option))


def write_corpus(ws: Workspace, changed: set[int] = frozenset()) -> Path:
    """E-GMD-shaped MIDI renders: `drummerD/sessionS/<n>_beat_<kit>.mid`, KITS renders of each performance."""
    root = ws.root / "data" / "raw" / "egmd"
    for number in range(PERFORMANCES):
        folder = root / f"drummer{number % 3 + 1}" / f"session{number % 5 + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        for kit in range(1, KITS + 1):
            payload = f"performance {number} kit {kit}{' changed' if number in changed else ''}"
            (folder / f"{number}_beat_{kit}.mid").write_text(payload)
    (root / "e-gmd-v1.0.0.csv").write_text("id,split\n")
    return root


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_part_key_keeps_the_renders_of_one_performance_together() -> None:
    names = {parts.part_name(f"primary/drummer1/session1/7_beat_{kit}.mid") for kit in range(1, 44)}
    assert len(names) == 1
    assert parts.part_key("primary/drummer1/session1/7_beat_12.wav") == "primary/drummer1/session1/7_beat"
    assert parts.part_key("primary/top.csv") == "primary/top"


def test_small_manifest_stays_one_file(workspace: Workspace) -> None:
    write_corpus(workspace)
    assert checksums.main(["generate", DATASET]) == 0
    assert workspace.checksums(DATASET).is_file()
    assert not parts.folder_of(workspace.checksums(DATASET)).exists()


def test_large_manifest_is_a_folder_that_sha256sum_checks(workspace: Workspace) -> None:
    root = write_corpus(workspace)
    set_threshold(workspace, 10)
    assert checksums.main(["generate", DATASET]) == 0
    manifest = workspace.checksums(DATASET)
    folder = parts.folder_of(manifest)
    assert not manifest.exists() and (folder / parts.INDEX_NAME).is_file()
    found = parts.read(manifest, DATASET)
    assert found.problems == [] and len(found.entries) == PERFORMANCES * KITS + 1
    assert all(classify(workspace.rel(path)).manifest == "checksums" for path in folder.iterdir())
    lock = lineage.read_lock(workspace, DATASET)["artifacts"]
    assert workspace.rel(folder / parts.INDEX_NAME) in lock and workspace.rel(manifest) not in lock
    if shutil.which("sha256sum"):
        index = subprocess.run(["sha256sum", "--strict", "-c", parts.INDEX_NAME], cwd=folder, capture_output=True)
        assert index.returncode == 0, index.stdout
        (folder.parent / "tiers").mkdir()
        os.symlink(root, folder.parent / "tiers" / "primary")
        part = sorted(folder.glob("??.sha256"))[0]
        done = subprocess.run(["sha256sum", "--strict", "-c", str(part)], cwd=folder.parent / "tiers",
                              capture_output=True)
        assert done.returncode == 0, done.stdout
    assert checksums.main(["verify", DATASET]) == 0


def test_second_generate_changes_no_byte_and_a_change_rewrites_only_its_parts(workspace: Workspace) -> None:
    write_corpus(workspace)
    set_threshold(workspace, 10)
    assert checksums.main(["generate", DATASET]) == 0
    folder = parts.folder_of(workspace.checksums(DATASET))
    before = folder_bytes(folder)
    assert checksums.main(["generate", DATASET]) == 0
    assert folder_bytes(folder) == before
    write_corpus(workspace, changed={3})
    assert checksums.main(["generate", DATASET, "--update"]) == 0
    after = folder_bytes(folder)
    rewritten = {name for name in after if before.get(name) != after[name]}
    touched = parts.part_name("primary/drummer1/session4/3_beat_1.mid")
    assert rewritten == {touched, parts.INDEX_NAME}
    assert set(after) == set(before)


def test_old_single_file_becomes_its_folder_on_generate_and_by_migrate(workspace: Workspace, capsys) -> None:
    write_corpus(workspace)
    assert checksums.main(["generate", DATASET]) == 0
    manifest = workspace.checksums(DATASET)
    single = {entry.path: entry.sha256 for entry in parse_manifest(manifest)[0]}
    assert cli.main(["migrate", workspace.rel(manifest)]) == 0
    assert "-> data/archives/checksums/egmd/" in capsys.readouterr().out
    folder = parts.folder_of(manifest)
    assert not manifest.exists()
    assert {entry.path: entry.sha256 for entry in parts.read(manifest, DATASET).entries} == single
    lock = lineage.read_lock(workspace, DATASET)["artifacts"]
    assert workspace.rel(folder / parts.INDEX_NAME) in lock and workspace.rel(manifest) not in lock
    assert lineage.check(workspace, DATASET) == []
    assert checksums.main(["verify", DATASET]) == 0


def test_generate_turns_a_single_file_into_its_folder_above_the_threshold(workspace: Workspace) -> None:
    write_corpus(workspace)
    assert checksums.main(["generate", DATASET]) == 0
    set_threshold(workspace, 10)
    assert checksums.main(["generate", DATASET, "--update"]) == 0
    manifest = workspace.checksums(DATASET)
    assert not manifest.exists() and parts.is_partitioned(manifest)
    assert workspace.rel(manifest) not in lineage.read_lock(workspace, DATASET)["artifacts"]


def break_folder(folder: Path, how: str) -> Path:
    """One disagreement between index and parts; returns the file the finding must name."""
    index = folder / parts.INDEX_NAME
    first, second = sorted(folder.glob("??.sha256"))[:2]
    if how == "part missing from the index":
        index.write_text("".join(line + "\n" for line in index.read_text().splitlines() if first.name not in line))
        return first
    if how == "index entry without its part":
        first.unlink()
        return index
    if how == "sha256 differs from the index":
        first.write_text(first.read_text().replace("0", "1", 1) if "0" in first.read_text() else "x")
        return first
    moved = second.read_text().splitlines()[0] + "\n"  # a line outside its part's key
    lines = sorted([*first.read_text().splitlines(keepends=True), moved], key=lambda line: line[66:])
    first.write_text("".join(lines))
    index.write_text(parts.render_index({p.name: p.read_bytes() for p in sorted(folder.glob("??.sha256"))}).decode())
    return first


MESSAGES = {
    "part missing from the index": "part missing from its index",
    "index entry without its part": "index entry without its part file",
    "sha256 differs from the index": "sha256 differs from the index",
    "outside this part's key": "outside this part's key",
}
CASES = tuple(MESSAGES)


@pytest.mark.parametrize("how", CASES)
def test_a_broken_folder_is_one_line_naming_the_file_and_generate_update_repairs_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    write_corpus(workspace)
    set_threshold(workspace, 10)
    assert checksums.main(["generate", DATASET]) == 0
    folder = parts.folder_of(workspace.checksums(DATASET))
    good = folder_bytes(folder)
    named = break_folder(folder, how)
    capsys.readouterr()
    assert checksums.main(["verify", DATASET]) == 1
    err = capsys.readouterr().err
    hits = [line for line in err.splitlines() if MESSAGES[how] in line]
    assert hits and hits[0].startswith(f"{workspace.rel(named)}:"), hits  # from the workspace root, as every path
    assert "fix: drumgate checksums generate egmd --update" in hits[0]
    assert "Traceback" not in err
    assert checksums.main(["generate", DATASET]) == 2  # refused without --update: it names the problem
    assert checksums.main(["generate", DATASET, "--update"]) == 0
    assert folder_bytes(folder) == good


def test_json_summary_names_the_rewritten_files(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    write_corpus(workspace)
    set_threshold(workspace, 10)
    assert checksums.main(["generate", DATASET, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["manifest"] == "data/archives/checksums/egmd/index.sha256" and parts.INDEX_NAME in "".join(
        first["rewritten"])
    assert checksums.main(["generate", DATASET, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rewritten"] == []


def test_index_lists_each_part_with_its_sha256(workspace: Workspace) -> None:
    write_corpus(workspace)
    set_threshold(workspace, 0)
    assert checksums.main(["generate", DATASET]) == 0
    folder = parts.folder_of(workspace.checksums(DATASET))
    listed = dict(reversed(line.split("  ")) for line in (folder / parts.INDEX_NAME).read_text().splitlines())
    assert listed == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("??.sha256")}
