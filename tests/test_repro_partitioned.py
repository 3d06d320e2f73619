"""`drumgate repro` on a partitioned E-GMD group (issue 15): crash-map, combine, health and weights
accept the folder wherever they accept a single-file manifest, the hooks pass, and a second repro
rewrites nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from drumgate import cli, events
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.io import parts
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest import crash_map
from tests.test_combine_reference import copied_rows

EVENTS_FOLDER = "data/manifests/egmd_events"
GUARDED = ("data/manifests", "data/provenance", "data/locks", "data/archives", "reports")


def artifact_bytes(root: Path) -> dict[str, str]:
    found = {}
    for top in GUARDED:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and not path.name.endswith(".lck"):
                found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def partitioned_workspace(workspace: Workspace) -> Path:
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=5, performances=4, kits=2)
    assert cli.main(["ingest", "egmd", "--jobs", "2", "--layout", "parts"]) == 0
    folder = workspace.root / EVENTS_FOLDER
    assert (folder / parts.INDEX_NAME).is_file() and not (workspace.root / f"{EVENTS_FOLDER}.jsonl").exists()
    return folder


def test_repro_on_parts_passes_the_hooks_and_a_second_run_rewrites_nothing(workspace: Workspace) -> None:
    root = workspace.root
    partitioned_workspace(workspace)
    assert cli.main(["repro", "--date", "2026-02-01"]) == 0
    reference = root / "data/manifests/prod_combined_events.json"  # it references the parts (issue 15)
    assert reference.is_file() and not (root / "data/manifests/prod_combined_events.jsonl").exists()
    assert list(events.read(reference)) == copied_rows(workspace)
    assert list((root / "reports" / "health").glob("egmd_*.json"))
    assert list((root / "reports" / "sampling").glob("egmd_weights_*.json"))
    assert cli.main(["hook", "freshness", "--all"]) == 0
    schema_files = [name for name in artifact_bytes(root) if name.startswith(("data/manifests/", "reports/"))]
    assert any(name.startswith(f"{EVENTS_FOLDER}/") for name in schema_files)
    assert cli.main(["hook", "schema", "--workspace", str(root), *schema_files]) == 0
    before = artifact_bytes(root)
    assert cli.main(["repro", "--date", "2026-02-02"]) == 0
    assert artifact_bytes(root) == before


def test_crash_map_on_a_folder_rewrites_only_the_parts_whose_rows_change(workspace: Workspace) -> None:
    folder = partitioned_workspace(workspace)
    index = parts.read_index(folder)
    taxonomy = load_taxonomy(workspace)
    crash_parts = []
    for entry in index["parts"]:
        stored = [row for _, row in parts.read_part(folder, entry["file"], entry["sha256"])]
        if any(crash_map.crash_variant(row, taxonomy) for row in stored):
            crash_parts.append(entry["file"])
    assert crash_parts and len(index["parts"]) > 1, "the corpus needs crashes and more than one part"
    target = crash_parts[0]
    # undo the crash map in one part, as an older ingest would have written it, through the parts writer
    undone = []
    for entry in index["parts"]:
        stored = [row for _, row in parts.read_part(folder, entry["file"], entry["sha256"])]
        if entry["file"] == target:
            stored = [{key: value for key, value in row.items()
                       if key != "labels" or not crash_map.crash_variant(row, taxonomy)} for row in stored]
        renders_entry = entry.get("renders")
        renders = None if renders_entry is None else [
            row for _, row in parts.read_part(folder, renders_entry["file"], renders_entry["sha256"])]
        undone.append(parts.PartInput(entry["key"], stored, renders))
    parts.write_parts(folder, index["manifest"], index["dataset"], index["key"], undone)
    before = {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    expected = list(events.read(folder))

    assert cli.main(["crash-map", "--events", EVENTS_FOLDER, "--check"]) == 1
    assert cli.main(["crash-map", "--events", EVENTS_FOLDER]) == 0
    after = {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert target in changed
    assert not {name for name in changed if name.endswith(parts.PART_SUFFIX)} - {target}
    parts.verify(folder)  # the index lists every part with its new sha256 and aggregates
    assert parts.read_index(folder) == index  # crash-map restores the ingest's mapped rows and their aggregates
    mapped = list(events.read(folder))
    assert len(mapped) == len(expected)
    assert mapped != expected
    assert all(row.get("labels") for row in mapped if crash_map.crash_variant(row, taxonomy))
    assert cli.main(["crash-map", "--events", EVENTS_FOLDER, "--check"]) == 0
