"""An ingest never replaces a manifest that has rows with an empty one unless told (issue 13, item 9).

When every E-GMD CSV row is rejected (or every render's MIDI is gone, or the MUSDB root is
empty), the run refuses: one line naming the manifest and `--allow-empty`, exit 1, and every
artifact and lock entry byte for byte as before. `--allow-empty` means the same in every ingestor
(and in `merge`, which also honours it from the shards' recorded command): write the empty
manifests, and record that in the lock so the hooks accept them.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest

from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from tests.reliability.support import DATE, TRACEBACK, Run, make_workspace, run_drumgate, sha256_of, tree_digest

EGMD_MANIFESTS = ("data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl",
                  "data/provenance/egmd_provenance.jsonl")
MUSDB_EVENTS = "data/manifests/musdb_hq_events.jsonl"


def egmd_argv(root: Path, *extra: str) -> list[str]:
    return ["ingest", "egmd", "--root", str(root), "--date", DATE, *extra]


@pytest.fixture
def egmd_scene(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose E-GMD manifests have rows, and the corpus they were ingested from."""
    workspace = make_workspace(tmp_path / "ws")
    root = tmp_path / "egmd"
    make_egmd_corpus(root, seed=3, performances=3, audio=False)
    run = run_drumgate(egmd_argv(root), cwd=workspace)
    assert run.code == 0, run.describe()
    for manifest in EGMD_MANIFESTS:
        assert (workspace / manifest).read_text(encoding="utf-8").strip(), manifest
    return workspace, root


def reject_every_csv_row(root: Path) -> None:
    path = root / "e-gmd-v1.0.0.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["split"] = "holdout"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def assert_refused(run: Run, manifest: str) -> None:
    assert run.code == 1, run.describe()
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.describe()
    assert lines[0].startswith(f"{manifest}: refusing to replace it with an empty manifest"), run.describe()
    assert "nothing written" in lines[0] and "--allow-empty" in lines[0], run.describe()
    assert TRACEBACK not in run.output


def test_egmd_refuses_when_every_csv_row_is_rejected_and_writes_nothing(egmd_scene: tuple[Path, Path]) -> None:
    workspace, root = egmd_scene
    reject_every_csv_row(root)
    before = tree_digest(workspace)
    run = run_drumgate(egmd_argv(root), cwd=workspace)
    assert_refused(run, EGMD_MANIFESTS[0])
    assert "split 'holdout'" in run.stderr
    assert tree_digest(workspace) == before


@pytest.mark.parametrize("shard", ["1/2", "2/2"])
def test_a_shard_refuses_too_when_no_csv_row_survives(egmd_scene: tuple[Path, Path], shard: str) -> None:
    workspace, root = egmd_scene
    reject_every_csv_row(root)
    before = tree_digest(workspace)
    assert_refused(run_drumgate(egmd_argv(root, "--shard", shard), cwd=workspace), EGMD_MANIFESTS[0])
    assert tree_digest(workspace) == before


def test_merge_refuses_shards_that_are_all_empty_unless_the_ingest_allowed_it(egmd_scene: tuple[Path, Path]) -> None:
    """The CSV is fine but every MIDI file is gone: each shard only knows its own rows, merge knows them all."""
    workspace, root = egmd_scene
    for midi in root.rglob("*.midi"):
        midi.unlink()
    for allow in ((), ("--allow-empty",)):
        for index in (1, 2):
            shard = run_drumgate(egmd_argv(root, "--shard", f"{index}/2", *allow), cwd=workspace)
            assert shard.code == 1, shard.describe()
        shards = sorted(str(p.relative_to(workspace)) for p in workspace.glob("data/*/*.shard-*-of-2.jsonl"))
        assert len(shards) == 6
        before = tree_digest(workspace)
        merge = run_drumgate(["merge", *shards], cwd=workspace)
        if not allow:
            assert_refused(merge, EGMD_MANIFESTS[0])
            assert tree_digest(workspace) == before
    assert merge.code == 0, merge.describe()
    for manifest in EGMD_MANIFESTS:
        assert (workspace / manifest).read_bytes() == b""


def test_allow_empty_writes_the_empty_manifests_and_the_lock_says_so(egmd_scene: tuple[Path, Path]) -> None:
    workspace, root = egmd_scene
    reject_every_csv_row(root)
    run = run_drumgate(egmd_argv(root, "--allow-empty"), cwd=workspace)
    assert run.code == 1, run.describe()  # the rejected rows are still findings
    entries = json.loads((workspace / "data/locks/egmd.lock.json").read_text(encoding="utf-8"))["artifacts"]
    for manifest in EGMD_MANIFESTS:
        assert (workspace / manifest).read_bytes() == b""
        assert entries[manifest]["sha256"] == sha256_of(workspace / manifest)
        assert entries[manifest]["command"].endswith(" --allow-empty"), entries[manifest]["command"]
    rerun = run_drumgate(shlex.split(entries[EGMD_MANIFESTS[0]]["command"])[1:], cwd=workspace)
    assert rerun.code == 1, "the recorded command must reproduce the empty manifests, not refuse"
    assert "refusing" not in rerun.stderr


def test_musdb_refuses_an_empty_root_over_manifests_that_have_rows(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    make_musdb_corpus(tmp_path / "musdb", seed=5, seconds=4.0)
    first = run_drumgate(["ingest", "musdb", "--root", str(tmp_path / "musdb"), "--date", DATE], cwd=workspace)
    assert first.code in (0, 1), first.describe()
    assert (workspace / MUSDB_EVENTS).read_text(encoding="utf-8").strip()
    (tmp_path / "unmounted").mkdir()
    before = tree_digest(workspace)
    empty_root = ["ingest", "musdb", "--root", str(tmp_path / "unmounted"), "--date", DATE]
    assert_refused(run_drumgate(empty_root, cwd=workspace), MUSDB_EVENTS)
    assert tree_digest(workspace) == before
    allowed = run_drumgate([*empty_root, "--allow-empty"], cwd=workspace)
    assert allowed.code == 1, allowed.describe()  # "no MUSDB tracks found" stays a finding
    assert (workspace / MUSDB_EVENTS).read_bytes() == b""


def test_allow_empty_has_one_meaning_in_every_command_that_takes_it() -> None:
    from drumgate.cli import COMMANDS, build_parser, load_command

    helps = set()
    for target in (*(COMMANDS["ingest"][name][0] for name in ("cambridge", "egmd", "musdb")), COMMANDS["merge"][0]):
        parser = build_parser(load_command(target), target)
        action = next(a for a in parser._actions if "--allow-empty" in a.option_strings)
        helps.add(action.help)
    assert len(helps) == 1, helps
