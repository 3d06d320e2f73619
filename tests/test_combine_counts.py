"""`drumgate combine` counts a partitioned source from its stored rows (issue 15), and its reports
equal the reports of the rows the reference stands for, counted one by one (the path before).

E-GMD's parts store a performance's hits once and list the renders that play them; the combined
health report, weights and song leaks are computed from those stored rows weighted by their renders
(drumgate.reports.part_counts), and must equal `compute_health` / `compute_weights` over
`drumgate.events.read` of the reference, one row per render-hit, at every mix share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drumgate import cli, events
from drumgate.config import load_datasets
from drumgate.io import parts
from drumgate.io.jsonio import read_json
from drumgate.reports.combined import add_song_leaks, record_song_splits, song_leaks
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.report_io import ErrorCollector
from drumgate.reports.weights import compute_weights
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import COMBINED, Workspace
from ingest.combine import SongKeys, combined_sessions, find_sources
from tests.combine_fixtures import three_dataset_workspace
from tests.test_combine_cli import set_mix
from tests.test_repro_partitioned import partitioned_workspace

DATE = "2026-02-01"
REFERENCE = "data/manifests/prod_combined_events.json"


def row_by_row(ws: Workspace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The combined health (with song leaks) and weights counted over every row the reference yields."""
    sources, *_ = find_sources(ws, load_datasets(ws))
    sessions = combined_sessions(sources, SongKeys(ws), ErrorCollector(ws.root))
    where = {"events": REFERENCE, "sessions": None}
    splits: dict[str, dict[str, set[str]]] = {}
    rows = record_song_splits(events.iter_rows(ws.path(REFERENCE)), splits)
    health = compute_health(load_health_config(ws, COMBINED), rows, sessions, source=where)
    add_song_leaks(health, song_leaks(splits))
    weights = compute_weights(load_taxonomy(ws), COMBINED, events.iter_rows(ws.path(REFERENCE)), sessions,
                              scheme="effective", source=where)
    return health, weights


def assert_written_equals_row_by_row(ws: Workspace) -> None:
    """The reports combine wrote, without what only it adds (source gates, licences, mix), equal the
    reports counted row by row."""
    health, weights = row_by_row(ws)
    found = read_json(ws.path("reports/health/prod_combined_health_20260201.json"))
    for report in (health, found):
        for key in ("sources", "licences", "mix", "status"):
            report.pop(key, None)
        report["gates"] = [gate for gate in report["gates"] if not gate["name"].startswith("source_gates")]
    assert found == health
    assert read_json(ws.path("reports/sampling/prod_combined_weights.json")) == weights


@pytest.mark.parametrize("mix", [None, "egmd = 0.6"])
def test_counts_from_stored_rows_equal_the_rows_counted_one_by_one(workspace: Workspace, mix: str | None) -> None:
    partitioned_workspace(workspace)
    if mix:
        set_mix(workspace, mix)
    assert cli.main(["crash-map"]) in (0, 1)
    assert cli.main(["combine", "--date", DATE]) in (0, 1)
    assert_written_equals_row_by_row(workspace)
    reference = read_json(workspace.path(REFERENCE))
    egmd = reference["sources"][0]
    assert egmd["events_kept"] == sum(1 for _ in events.read(workspace.path(REFERENCE)))
    assert egmd["events_read"] == sum(1 for _ in events.read(workspace.path("data/manifests/egmd_events")))


def test_a_mixed_workspace_counts_files_and_folders_alike(tmp_path: Path) -> None:
    """Cambridge and MUSDB as files, E-GMD as a folder: the same reports as row by row, song leaks included."""
    ws = three_dataset_workspace(tmp_path / "ws")
    assert cli.main(["migrate", "--workspace", str(ws.root), str(ws.events_manifest("egmd"))]) == 0
    assert cli.main(["combine", "--workspace", str(ws.root), "--date", DATE]) in (0, 1)
    assert_written_equals_row_by_row(ws)


def test_weights_of_a_folder_equal_the_rows_counted_one_by_one(workspace: Workspace) -> None:
    """`drumgate weights` on an E-GMD folder reads each stored row once, weighted by its renders."""
    folder = partitioned_workspace(workspace)
    output = workspace.root / "weights.json"
    assert cli.main(["weights", "--events", str(folder), "--output", str(output), "--date", DATE]) == 0
    sessions = list(events.read(workspace.path("data/manifests/egmd_sessions")))
    expected = compute_weights(load_taxonomy(workspace), "egmd", events.iter_rows(folder), sessions, scheme="effective",
                               source={"events": "data/manifests/egmd_events",
                                       "sessions": "data/manifests/egmd_sessions"})
    assert read_json(output) == expected


@pytest.mark.parametrize("crash_mapped", [True, False])
def test_pr_report_counts_the_combined_side_as_combine_does(workspace: Workspace, crash_mapped: bool) -> None:
    """pr-report's combined side (parts read from git, counted from stored rows; the index's
    aggregates renamed when the reference changes no label, counted again when it maps crash
    labels the parts do not carry yet) gives the numbers of the committed combined reports."""
    import subprocess

    from drumgate.github.git_tree import GitTree
    from drumgate.github.pr_sides import compute_side

    partitioned_workspace(workspace)
    if crash_mapped:
        assert cli.main(["crash-map"]) in (0, 1)
    else:  # a crash-family label without its variant in one part: the reference relabels it
        folder = workspace.path("data/manifests/egmd_events")
        index = parts.read_index(folder)
        entry = index["parts"][0]
        rows = [row for _, row in parts.read_part(folder, entry["file"], entry["sha256"])]
        renders = [row for _, row in parts.read_part(folder, entry["renders"]["file"], entry["renders"]["sha256"])]
        rows[0]["label"] = "china"  # crash family: the reference relabels it crash
        rows[0].pop("variant", None)
        writer = parts.PartsWriter(folder, index["manifest"], index["dataset"], index["key"])
        for other in index["parts"]:
            if other is entry:
                writer.add(parts.PartInput(entry["key"], rows, renders))
            else:
                writer.add(parts.PartInput(other["key"],
                                           [r for _, r in parts.read_part(folder, other["file"], other["sha256"])],
                                           [r for _, r in parts.read_part(folder, other["renders"]["file"],
                                                                          other["renders"]["sha256"])]))
        writer.close()
    assert cli.main(["combine", "--date", DATE]) in (0, 1)
    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.invalid",
                                                 "commit", "-q", "-m", "combined"]):
        subprocess.run(["git", *argv], cwd=workspace.root, check=True, capture_output=True)
    side = compute_side(GitTree(workspace), workspace, "HEAD", COMBINED)
    if not crash_mapped:
        assert "china" not in side.health["classes"] and "china" in read_json(
            workspace.path(REFERENCE))["crash_dual_label"]["family_labels"]
    committed = read_json(workspace.path("reports/health/prod_combined_health_20260201.json"))
    for key in ("totals", "classes", "techniques", "splits", "label_sources", "sessions", "velocity_histogram",
                "leakage", "gates", "status"):
        assert side.health[key] == committed[key], key
    weights = read_json(workspace.path("reports/sampling/prod_combined_weights.json"))
    assert side.weights is not None
    assert side.weights["weights"] == weights["weights"] and side.weights["class_mass"] == weights["class_mass"]
    assert side.row_errors.count == 0


def test_health_remembers_a_provenance_folders_source_hashes_by_content(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second health run on an unchanged folder takes the provenance's source hashes from the
    memo named by its index's sha256 and writes the same report; a part edited behind the index is
    still refused (every part is checked before the memo is used)."""
    monkeypatch.setenv("DRUMGATE_CACHE_DIR", str(tmp_path / "cache"))
    folder = partitioned_workspace(workspace)
    argv = ["health", "--events", str(folder), "--output", str(workspace.root / "h.json"), "--date", DATE]
    assert cli.main(argv) in (0, 1)
    first = (workspace.root / "h.json").read_bytes()
    assert list((tmp_path / "cache" / "scanmemo").glob("source-hashes-*.json"))
    assert cli.main(argv) in (0, 1)
    assert (workspace.root / "h.json").read_bytes() == first
    provenance = workspace.path("data/provenance/egmd_provenance")
    part = provenance / parts.read_index(provenance)["parts"][0]["file"]
    part.write_bytes(part.read_bytes() + b"\0")
    capsys.readouterr()
    assert cli.main(argv) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and part.name in err[0] and "sha256 differs from index.json" in err[0]


def test_a_list_in_a_row_field_is_one_finding_not_an_internal_error(tmp_path: Path) -> None:
    """A stored row whose label is a list: `excerpt_pairs` reports it with its line and goes on."""
    from drumgate.errors import DrumgateError
    from drumgate.reports.part_counts import excerpt_pairs

    good = {"session_id": "s", "item_id": "i", "label": "kick", "split": "train"}
    found: list[DrumgateError] = []
    pairs = excerpt_pairs(enumerate([{**good, "label": ["kick"]}, good], 1), None, tmp_path / "p.jsonl.gz",
                          found.append)
    assert pairs == [(("s", "i", "kick", "train"), 1)]
    assert [(error.line, "bad field" in error.message) for error in found] == [(1, True)]


def test_a_bad_row_in_a_file_source_loses_only_that_row(tmp_path: Path) -> None:
    """The combined counts of a file source with a list label: the row is one finding, the rows after
    it are still counted (they were silently dropped when the excerpt key raised inside the stream)."""
    from drumgate.io import combined_reference
    from drumgate.io.jsonio import iter_jsonl
    from drumgate.reports.combined import combined_counts, is_folder_source

    ws = three_dataset_workspace(tmp_path / "ws")
    assert cli.main(["combine", "--date", DATE, "--workspace", str(ws.root)]) in (0, 1)
    where = ws.path(REFERENCE)
    reference = combined_reference.checked(read_json(where), where)
    assert not any(is_folder_source(s) for s in reference["sources"])
    spoiled = reference["sources"][0]["manifest"]

    def file_rows(source: Any) -> Any:
        for line, row in iter_jsonl(where.parent / source["manifest"]):
            yield line, ({**row, "label": [row["label"]]} if line == 1 and source["manifest"] == spoiled else row)

    def count(rows: Any) -> tuple[int, list[Any]]:
        found: list[Any] = []
        counted = combined_counts(where, reference, rows, lambda *_: pytest.fail("no folder source"), found.append)
        return counted.events.events, found

    clean, none = count(lambda source: iter_jsonl(where.parent / source["manifest"]))
    events, found = count(file_rows)
    assert none == [] and events == clean - 1
    assert len(found) == 1 and found[0].line == 1
