"""Partitioned manifests (issue 15): E-GMD ingest with --layout parts against --layout file on one corpus.

The folder reads back as the single file's rows (events, sessions, provenance), is byte-for-byte
deterministic, rewrites only the parts of a changed performance, stores each performance's events
once beside its renders, and health from the index equals health from the single file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from drumgate import cli, events
from drumgate.errors import DrumgateError
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io import parts
from drumgate.io.jsonio import dumps_row, read_jsonl
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.health_scan import count_events_file
from drumgate.workspace import Workspace

MANIFESTS = {"events": "data/manifests/egmd_events", "sessions": "data/manifests/egmd_sessions",
             "provenance": "data/provenance/egmd_provenance"}


def ingest(layout: str) -> int:
    return cli.main(["ingest", "egmd", "--jobs", "2", "--layout", layout])


def tree(root: Path) -> dict[str, str]:
    found = {}
    for folder in MANIFESTS.values():
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def both(workspace: Workspace, tmp_path: Path) -> dict[str, Path]:
    """Ingest the corpus as single files (kept aside), then as parts in the workspace."""
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=11, performances=5, kits=3)
    assert ingest("file") == 0
    single = tmp_path / "single"
    for name, folder in MANIFESTS.items():
        target = single / f"{name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(workspace.root / f"{folder}.jsonl", target)
    assert ingest("parts") == 0
    return {name: single / f"{name}.jsonl" for name in MANIFESTS}


def test_folder_reads_as_the_single_file(workspace: Workspace, both: dict[str, Path]) -> None:
    for name, folder in MANIFESTS.items():
        assert list(events.read(workspace.root / folder)) == read_jsonl(both[name]), name
        # the single-file name reads the folder too: callers never choose
        assert list(events.read(workspace.root / f"{folder}.jsonl")) == read_jsonl(both[name]), name
        assert not (workspace.root / f"{folder}.jsonl").exists()


def test_parts_are_deterministic_gzip(workspace: Workspace, both: dict[str, Path]) -> None:
    first = tree(workspace.root)
    assert ingest("parts") == 0
    assert tree(workspace.root) == first
    for name in first:
        if name.endswith(parts.PART_SUFFIX):
            header = (workspace.root / name).read_bytes()[:10]
            assert header[4:8] == b"\0\0\0\0", name  # gzip mtime 0
            assert not header[3] & 0x08, name  # no file name stored


def test_a_changed_performance_rewrites_only_its_parts(workspace: Workspace, both: dict[str, Path]) -> None:
    csv_path = workspace.root / "data" / "raw" / "egmd" / "e-gmd-v1.0.0.csv"
    rows = list(csv.DictReader(csv_path.open(newline="")))
    changed_id = rows[0]["id"]
    for row in rows:
        if row["id"] == changed_id:
            row["bpm"] = str(int(float(row["bpm"])) + 1)  # a session field: sessions and provenance keep their bytes
            row["split"] = "test" if row["split"] != "test" else "train"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = tree(workspace.root)
    assert ingest("parts") == 0
    after = tree(workspace.root)
    rewritten = {name for name in after if before.get(name) != after[name]}
    stem = parts.part_stem(changed_id)
    assert rewritten, "the change must show"
    assert {Path(name).name for name in rewritten} <= {f"{stem}{parts.PART_SUFFIX}", parts.INDEX_NAME}
    assert set(before) == set(after)


def test_index_aggregates_equal_recomputed(workspace: Workspace, both: dict[str, Path]) -> None:
    folder = workspace.root / MANIFESTS["events"]
    index = parts.read_index(folder)
    for entry in index["parts"]:
        rows = [row for row in read_jsonl(both["events"]) if row["session_id"] == entry["key"]]
        expected = parts.aggregate(rows, None).as_json()
        got = dict(entry["aggregates"])
        assert got["events"] == expected["events"] == len(rows)
        for field in ("pairs", "label_sources", "velocity_bins", "places"):
            assert got[field] == expected[field], field
        assert entry["sha256"] == hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()
        assert entry["bytes"] == (folder / entry["file"]).stat().st_size
    assert index["totals"]["events"] == len(read_jsonl(both["events"]))


def test_a_performance_is_stored_once_beside_its_renders(workspace: Workspace, both: dict[str, Path]) -> None:
    folder = workspace.root / MANIFESTS["events"]
    index = parts.read_index(folder)
    single = read_jsonl(both["events"])
    for entry in index["parts"]:
        with gzip.open(folder / entry["renders"]["file"]) as handle:
            renders = [json.loads(line) for line in handle]
        stored = list(parts.iter_folder(folder, per_render=False))
        stored_here = [row for _, row in stored if row["session_id"] == entry["key"]]
        rendered_here = [row for row in single if row["session_id"] == entry["key"]]
        per_render = {render["item_id"]: sum(row["item_id"] == render["item_id"] for row in rendered_here)
                      for render in renders}
        assert len(renders) == entry["aggregates"]["renders"] > 1
        assert len({render["events_item"] for render in renders}) == 1  # one MIDI shared by every kit
        assert len(stored_here) == entry["rows"] == next(iter(per_render.values()))
        assert entry["aggregates"]["events"] == len(rendered_here) == len(stored_here) * len(renders)
        assert {render["kit_name"] for render in renders} and all(render["audio"] for render in renders)


def test_health_from_the_index_equals_the_single_file(workspace: Workspace, both: dict[str, Path],
                                                       tmp_path: Path) -> None:
    from_parts, from_single = tmp_path / "parts.json", tmp_path / "single.json"
    cli.main(["health", "--events", MANIFESTS["events"], "--output", str(from_parts), "--date", "2026-01-15"])
    cli.main(["health", "--events", str(both["events"]), "--sessions", str(both["sessions"]), "--provenance",
              str(both["provenance"]), "--dataset", "egmd", "--output", str(from_single), "--date", "2026-01-15"])
    got, expected = json.loads(from_parts.read_text()), json.loads(from_single.read_text())
    got.pop("source")
    expected.pop("source")
    assert got == expected


# a damage per part, each one health refuses (`count_events` leaves the row out of every table)
DAMAGES = ({"velocity": 90.0}, {"velocity": True}, {"label_source": "guess"}, {"label": None}, {"techniques": "open"})


def test_malformed_stored_rows_count_as_their_rendered_rows(workspace: Workspace, both: dict[str, Path],
                                                            tmp_path: Path) -> None:
    """A malformed stored row is played by every render of its performance: health on the folder
    leaves out as many rows as on the single file of the folder's rendered rows, from every table
    (the index once counted them in some), and words each stored row once, at its part and line."""
    folder = workspace.root / MANIFESTS["events"]
    index = parts.read_index(folder)
    damaged: list[parts.PartInput] = []
    for number, (entry, rows, renders) in enumerate(parts.stored_parts(folder)):
        rows[1] = {**rows[1], **DAMAGES[number % len(DAMAGES)]}
        damaged.append(parts.PartInput(entry["key"], rows, renders))
    parts.write_parts(folder, "events", index["dataset"], index["key"], damaged)
    single = tmp_path / "rendered.jsonl"
    single.write_bytes(b"".join(dumps_row(row) + b"\n" for row in events.read(folder)))
    config = load_health_config(workspace, "egmd")
    file_errors: list[DrumgateError] = []
    expected = compute_health(config, count_events_file(single, file_errors.append, show_progress=False),
                              on_error=file_errors.append)
    folder_errors: list[DrumgateError] = []
    got = compute_health(config, count_events_file(folder, folder_errors.append), on_error=folder_errors.append)
    assert got == expected
    assert len(file_errors) == sum(len(part.renders or ()) for part in damaged) > len(damaged)
    assert [(Path(str(error.path)).name, error.line) for error in folder_errors] == [
        (entry["file"], 2) for entry in parts.read_index(folder)["parts"]]
    assert {error.message for error in folder_errors} == {error.message for error in file_errors}


def test_migrate_turns_a_single_file_into_parts(workspace: Workspace, both: dict[str, Path]) -> None:
    folder = workspace.root / MANIFESTS["sessions"]
    shutil.rmtree(folder)
    shutil.copy(both["sessions"], workspace.root / f"{MANIFESTS['sessions']}.jsonl")
    assert cli.main(["migrate", f"{MANIFESTS['sessions']}.jsonl"]) == 0
    assert list(events.read(folder)) == read_jsonl(both["sessions"])
    assert not (workspace.root / f"{MANIFESTS['sessions']}.jsonl").exists()


def test_shards_write_parts_and_the_merge_equals_an_unsharded_run(workspace: Workspace, both: dict[str, Path]) -> None:
    lock = workspace.root / "data" / "locks" / "egmd.lock.json"
    unsharded, unsharded_lock = tree(workspace.root), lock.read_bytes()
    for folder in MANIFESTS.values():
        shutil.rmtree(workspace.root / folder)
    for shard in (1, 2, 3):
        assert cli.main(["ingest", "egmd", "--jobs", "2", "--layout", "parts", "--shard", f"{shard}/3"]) == 0
    shard_files = sorted(str(path) for path in workspace.root.glob("data/*/*.shard-*-of-3.jsonl"))
    assert len(shard_files) == 9  # events, sessions and provenance of each shard, each beside its parts folder
    assert all(Path(name.removesuffix(".jsonl")).is_dir() for name in shard_files)
    assert cli.main(["merge", *shard_files]) == 0
    assert tree(workspace.root) == unsharded
    assert lock.read_bytes() == unsharded_lock
    assert not [path for path in workspace.root.glob("data/*/*.shard-*-of-3") if path.is_dir()]


def test_a_merge_keeps_the_parts_whose_bytes_it_already_has(workspace: Workspace, both: dict[str, Path]) -> None:
    folder = workspace.root / MANIFESTS["events"]
    kept = {path: path.stat().st_mtime_ns for path in folder.rglob(f"*{parts.PART_SUFFIX}")}
    for shard in (1, 2):
        assert cli.main(["ingest", "egmd", "--jobs", "2", "--layout", "parts", "--shard", f"{shard}/2"]) == 0
    assert cli.main(["merge", *sorted(str(p) for p in workspace.root.glob("data/*/*.shard-*-of-2.jsonl"))]) == 0
    assert {path: path.stat().st_mtime_ns for path in folder.rglob(f"*{parts.PART_SUFFIX}")} == kept


def synthetic_parts(count: int, louder: str | None = None) -> list[parts.PartInput]:
    """One single-row part per session key; `louder` gets a second row."""
    found = []
    for number in range(count):
        key = f"drummer{number % 7}/session{number:04d}"
        row = {"item_id": key, "session_id": key, "label": "kick", "techniques": [], "label_source": "midi",
               "velocity": number % 128, "split": "train"}
        found.append(parts.PartInput(key, [row, {**row, "velocity": 1}] if key == louder else [row]))
    return found


def test_a_large_folder_pages_its_index_and_a_change_rewrites_one_page(tmp_path: Path) -> None:
    folder = tmp_path / "x_events"
    count = parts.PAGED_ABOVE * 3
    parts.write_parts(folder, "events", "x", "session_id", synthetic_parts(count))
    index = parts.read_index(folder)
    keys = [entry["key"] for entry in index["parts"]]
    assert keys == sorted(keys) and len(keys) == count
    assert "pages" in json.loads((folder / parts.INDEX_NAME).read_text())
    inline = tmp_path / "y_events"
    parts.write_parts(inline, "events", "x", "session_id", synthetic_parts(count)[: parts.PAGED_ABOVE])
    assert "parts" in json.loads((inline / parts.INDEX_NAME).read_text()) and not (inline / parts.PAGE_DIR).exists()
    changed = keys[count // 2]
    result = parts.write_parts(folder, "events", "x", "session_id", synthetic_parts(count, louder=changed))
    assert sorted(result.written) == sorted([parts.part_stem(changed) + parts.PART_SUFFIX, parts.page_of(changed),
                                             parts.INDEX_NAME])
    assert parts.read_index(folder)["totals"]["events"] == count + 1
    assert len(list(events.read(folder))) == count + 1


def test_an_edited_index_page_is_refused_naming_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "x_events"
    parts.write_parts(folder, "events", "x", "session_id", synthetic_parts(parts.PAGED_ABOVE + 1))
    page = folder / parts.page_of(parts.read_index(folder)["parts"][0]["key"])
    page.write_text(page.read_text().replace('"rows":1', '"rows":2', 1))
    with pytest.raises(DrumgateError) as caught:
        parts.read_index(folder)
    assert caught.value.path == page and "index page sha256 differs from index.json" in caught.value.message
