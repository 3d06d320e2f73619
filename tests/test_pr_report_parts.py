"""`drumgate pr-report` on a partitioned E-GMD group (issue 15): the group is read from its index at
base and head (only the changed parts' rows), shows in the comment like any other group, and its
deltas equal those pr-report gives for the same data ingested as single files. A head whose index
names a part that revision does not hold is refused with one line, exit 2.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli
from drumgate.cli import pr_report
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.pr_repo import commit_all, git
from drumgate.github.git_tree import GitTree
from drumgate.io import parts
from drumgate.workspace import Workspace

EVENTS_FOLDER = "data/manifests/egmd_events"
RAW_CSV = "data/raw/egmd/e-gmd-v1.0.0.csv"


def move_one_performance(root: Path) -> None:
    """The first performance changes split: its parts, and nothing else, change."""
    csv_path = root / RAW_CSV
    rows = list(csv.DictReader(csv_path.open(newline="")))
    changed = rows[0]["id"]
    for row in rows:
        if row["id"] == changed:
            row["split"] = "test" if row["split"] != "test" else "train"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def two_commits(root: Path, layout: str) -> None:
    """An E-GMD group ingested in `layout`, committed, one performance moved, ingested and committed."""
    git(root, "init", "-q", "-b", "main")
    ingest = ["--workspace", str(root), "ingest", "egmd", "--jobs", "1", "--layout", layout, "--date", "2026-01-15"]
    assert cli.main(ingest) == 0
    commit_all(root, "ingest E-GMD")
    move_one_performance(root)
    assert cli.main(ingest) == 0
    commit_all(root, "one performance changes split")


def report(root: Path, out: Path) -> int:
    return pr_report.main(["--workspace", str(root), "--base", "HEAD~1", "--head", "HEAD", "--out", str(out)])


def without_source(health: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in health.items() if key != "source"}


@pytest.fixture
def both_layouts(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The same corpus and change in two repositories, one per layout; each one's pr-report output.
    The parts' index is paged (as E-GMD's is at full size), so pr-report reads pages from git too."""
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=5, kits=3)
    single = tmp_path / "single"
    shutil.copytree(workspace.root, single)
    monkeypatch.setattr("drumgate.io.parts.writer.PAGED_ABOVE", 2)
    two_commits(workspace.root, "parts")
    two_commits(single, "file")
    assert (workspace.root / EVENTS_FOLDER / parts.PAGE_DIR).is_dir()
    assert (single / f"{EVENTS_FOLDER}.jsonl").is_file()
    outs = {"parts": tmp_path / "out_parts", "file": tmp_path / "out_file"}
    assert report(workspace.root, outs["parts"]) == 0
    assert report(single, outs["file"]) == 0
    return outs


def test_partitioned_group_shows_with_the_single_file_deltas(both_layouts: dict[str, Path]) -> None:
    summaries = {name: json.loads((out / "summary.json").read_text()) for name, out in both_layouts.items()}
    entries = {name: summary["datasets"] for name, summary in summaries.items()}
    assert list(entries["parts"]) == list(entries["file"]) == ["egmd"]
    assert entries["parts"] == entries["file"]
    assert entries["parts"]["egmd"]["gates"]["failing"][0]["name"] == "split_bounds[train]"
    reports = {name: out / "reports" for name, out in both_layouts.items()}
    for side in ("base", "head"):
        got = json.loads((reports["parts"] / f"egmd_{side}.json").read_text())
        expected = json.loads((reports["file"] / f"egmd_{side}.json").read_text())
        assert got["source"]["events"] == EVENTS_FOLDER
        assert without_source(got) == without_source(expected), side
    diff = json.loads((reports["parts"] / "egmd_diff.json").read_text())
    assert diff == json.loads((reports["file"] / "egmd_diff.json").read_text())
    comments = {name: (out / "comment.md").read_text(encoding="utf-8") for name, out in both_layouts.items()}
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in comments["parts"]
    assert comments["parts"].count("split_bounds") == comments["file"].count("split_bounds") > 0
    movers = {name: text.split("sampling-weight movers", 1)[1].split("\n", 1)[0] for name, text in comments.items()}
    assert movers["parts"] == movers["file"], "a session moved out of train loses its weight, in either layout"
    weights = {name: json.loads((folder / "egmd_weights_head.json").read_text()) for name, folder in reports.items()}
    assert without_source(weights["parts"]) == without_source(weights["file"])


def test_unchanged_parts_are_read_once_for_both_sides(workspace: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Health comes from the indexes; only weights read rows, and a part base and head share once."""
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=5, kits=3)
    two_commits(workspace.root, "parts")
    read: list[str] = []
    original = GitTree.blobs

    def counting(self: GitTree, blobs: list[tuple[str, int]]) -> Any:
        read.extend(blob_id for blob_id, _ in blobs)
        return original(self, blobs)

    monkeypatch.setattr(GitTree, "blobs", counting)
    assert report(workspace.root, tmp_path / "out") == 0
    tree = GitTree(workspace)
    listed = {side: tree.listing(side, EVENTS_FOLDER) for side in ("HEAD~1", "HEAD")}
    blobs = {side: {blob for name, (blob, _) in files.items() if name.endswith(parts.PART_SUFFIX)}
             for side, files in listed.items()}
    shared, changed = blobs["HEAD"] & blobs["HEAD~1"], blobs["HEAD"] ^ blobs["HEAD~1"]
    assert shared and changed
    assert all(read.count(blob) == 1 for blob in shared), "a part both sides hold is read once"
    # a changed part is read once: the check of its index entry and the weights share its parsed rows
    assert all(read.count(blob) == 1 for blob in changed)


def _first_part_of_two_commits(workspace: Workspace) -> str:
    """A small E-GMD corpus ingested as parts in two commits; the name of the events folder's first part."""
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=3, kits=2)
    two_commits(workspace.root, "parts")
    return str(parts.read_index(workspace.root / EVENTS_FOLDER)["parts"][0]["file"])


def test_a_head_index_naming_a_missing_part_is_one_line_exit_2(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = _first_part_of_two_commits(workspace)
    git(workspace.root, "rm", "-q", f"{EVENTS_FOLDER}/{gone}")
    git(workspace.root, "commit", "-q", "-m", "a part goes missing")
    capsys.readouterr()
    assert report(workspace.root, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{EVENTS_FOLDER}/{gone}: listed in index.json but missing" in err[0]
    assert "fix: drumgate repro egmd" in err[0]
    assert "Traceback" not in err[0]


def test_a_part_whose_size_differs_from_its_index_says_so(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _first_part_of_two_commits(workspace)
    part = workspace.root / EVENTS_FOLDER / first
    part.write_bytes(part.read_bytes() + b"\0")
    git(workspace.root, "commit", "-q", "-am", "a part grows by one byte")
    capsys.readouterr()
    assert report(workspace.root, tmp_path / "out") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    size = part.stat().st_size
    assert f"{EVENTS_FOLDER}/{first}: is {size} bytes, index.json lists {size - 1} (edited or replaced?)" in line
