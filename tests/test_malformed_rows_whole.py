"""A malformed events row is left out of every table, not half of them.

Health counts a row into two tables, its label key's and its place key's. A row with a bad key was
dropped only from that key's table (`validate_counts` removed bad keys after the count), so its other
key still counted: the reviewer's Cambridge head (a null `label`, a `split` of `holdout`) read
177 -> 176 events and snare 33 in pr-report, where leaving both rows out gives 175 and 32.

A malformed row is one `validate_counts` would refuse: a missing or null required field, a value of
the wrong type (a float or boolean where an integer goes included), an unknown split or label
source, a velocity out of range. A label the taxonomy does not know is not malformed: it is counted
as an unknown-label event. Here the counts, the report and pr-report's summary of a manifest with
malformed rows equal those of the same manifest with exactly those rows deleted, whether it is one
file or a partitioned folder (whose index aggregates once counted such a row in some tables).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event_rows, numbered
from drumgate.io import parts
from drumgate.io.jsonio import dumps_document, dumps_row, iter_jsonl, read_json
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.health_counts import EventCounts, count_events, validate_counts
from drumgate.reports.health_duckdb import counts_by_duckdb
from drumgate.reports.health_scan import count_events_file
from drumgate.workspace import COMBINED, Workspace
from tests.data_repo_support import copied_repo, drumgate, git

Row = dict[str, Any]
Damage = Callable[[Row], Row]


def _without(name: str) -> Damage:
    return lambda row: {key: value for key, value in row.items() if key != name}


def _with(name: str, value: Any) -> Damage:
    return lambda row: {**row, name: value}


def _performance(value: Any) -> Damage:
    return lambda row: {**row, "attributes": {"performance": value}}


# every kind of bad value, each with the start of what health says about it
MALFORMED: dict[str, tuple[Damage, str]] = {
    "label missing": (_without("label"), "event row lacks field 'label'"),
    "label null": (_with("label", None), "label must be a string"),
    "label a number": (_with("label", 7), "label must be a string"),
    "techniques a string": (_with("techniques", "rimshot"), "techniques must be a list of strings"),
    "techniques empty string": (_with("techniques", ""), "techniques must be a list of strings"),
    "techniques false": (_with("techniques", False), "techniques must be a list of strings"),
    "techniques an object": (_with("techniques", {}), "event row has a field of the wrong type"),
    "techniques of numbers": (_with("techniques", [1]), "techniques must be a list of strings"),
    "label_source unknown": (_with("label_source", "guess"), "label_source 'guess' is not one of"),
    "label_source null": (_with("label_source", None), "label_source None is not one of"),
    "velocity out of range": (_with("velocity", 300), "velocity must be an integer 0-127 or null"),
    "velocity a float": (_with("velocity", 1.0), "velocity must be an integer 0-127 or null, got 1.0"),
    "velocity true": (_with("velocity", True), "velocity must be an integer 0-127 or null, got True"),
    "session_id null": (_with("session_id", None), "session_id must be a non-empty string"),
    "session_id empty": (_with("session_id", ""), "session_id must be a non-empty string"),
    "split unknown": (_with("split", "holdout"), "split 'holdout' is not one of"),
    "split missing": (_without("split"), "event row lacks field 'split'"),
    "item_id null": (_with("item_id", None), "item_id must be a non-empty string"),
    "performance a float": (_performance(1.0), "attributes.performance must be a string, got 1.0"),
    "performance true": (_performance(True), "attributes.performance must be a string, got True"),
    "performance an object": (_performance({"a": 1}), "event row has a field of the wrong type"),
    "attributes a list": (_with("attributes", ["x"]), "event row has a field of the wrong type"),
    "label and split both bad": (lambda row: {**row, "label": None, "split": "holdout"}, "label must be a string"),
}


def _good_rows() -> list[Row]:
    """Valid rows; every seventh has velocity 1 and performance 1, so a bad copy of it holding 1.0 or
    true (equal to 1 in Python) finds a key already counted."""
    rows = list(event_rows(400, sessions=6, items_per_session=2, seed=9))
    for row in rows[2::7]:
        row["velocity"] = 1
        row["attributes"] = {"performance": 1}
    rows[4]["label"] = "cowbell_xyz"  # unknown to the taxonomy: counted, never malformed
    return rows


def _mixed() -> tuple[list[Row], list[Row], dict[int, str]]:
    """The good rows with each kind of bad row put among them, twice for a repeated bad key: (every
    row, the good rows alone, each bad row's line -> what health must say at it)."""
    good = _good_rows()
    rows: list[Row] = []
    said: dict[int, str] = {}
    kinds = list(MALFORMED.values()) * 2
    for index, row in enumerate(good):
        if index % 7 == 3 and kinds:
            damage, message = kinds.pop(0)
            rows.append(damage(dict(good[index - 1])))
            said[len(rows)] = message
        rows.append(row)
    assert not kinds, "every kind placed"
    return rows, good, said


def _tables(counts: EventCounts) -> tuple[dict[Any, int], dict[Any, int]]:
    return counts.labels, counts.places


def test_a_malformed_row_is_left_out_of_both_tables() -> None:
    rows, good, said = _mixed()
    errors: list[DrumgateError] = []
    counts = count_events(numbered(rows), errors.append)
    assert _tables(counts) == _tables(count_events(numbered(good)))
    assert counts.events == len(good) == sum(counts.places.values())
    assert [error.line for error in errors] == sorted(said), "one finding per malformed row, in line order"
    for error in errors:
        assert error.line is not None and error.message.startswith(said[error.line]), (error.line, error.message)
    validate_counts(counts, errors.append)
    assert len(errors) == len(said), "nothing left for the key check to refuse"


def test_the_report_equals_that_of_the_rows_that_remain(workspace: Workspace) -> None:
    """Every table of the report (totals, classes, techniques, splits, sessions, label sources,
    velocities, unknown labels, leakage, gates) is that of the manifest without its malformed rows."""
    rows, good, said = _mixed()
    config = load_health_config(workspace, "egmd")
    errors: list[DrumgateError] = []
    report = compute_health(config, numbered(rows), on_error=errors.append)
    assert dumps_document(report) == dumps_document(compute_health(config, numbered(good)))
    assert len(errors) == len(said)
    assert report["totals"]["events"] == len(good)
    assert sum(split["events"] for split in report["splits"].values()) == len(good)
    assert sum(session["events"] for session in report["sessions"].values()) == len(good)
    assert report["totals"]["unknown_label_events"] == 1 and report["unknowns"]["labels"] == {"cowbell_xyz": 1}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_each_kind_alone_before_and_after_its_twin(kind: str) -> None:
    """A bad row is left out whether the valid key it loosely equals was counted before or after it."""
    damage, message = MALFORMED[kind]
    twin, *good = _good_rows()[2:14]
    for rows in ([damage(dict(twin)), twin, *good], [twin, *good, damage(dict(twin))]):
        errors: list[DrumgateError] = []
        counts = count_events(numbered(rows), errors.append)
        assert _tables(counts) == _tables(count_events(numbered([twin, *good])))
        assert [error.message[: len(message)] for error in errors] == [message]


def test_without_a_sink_the_first_malformed_row_raises() -> None:
    rows, _, said = _mixed()
    with pytest.raises(DrumgateError) as caught:
        count_events(numbered(rows))
    assert caught.value.line == min(said)


def _write(path: Path, rows: list[Row]) -> Path:
    path.write_bytes(b"".join(dumps_row(row) + b"\n" for row in rows))
    return path


def test_duckdb_steps_aside_and_the_file_counts_as_the_rows_that_remain(tmp_path: Path) -> None:
    """DuckDB never counts a file with a malformed row (the exact scan does and words each one); its
    counts of the file without them equal the scan's of the file with them."""
    rows, good, said = _mixed()
    dirty, clean = _write(tmp_path / "dirty.jsonl", rows), _write(tmp_path / "clean.jsonl", good)
    assert counts_by_duckdb(dirty) is None
    errors: list[DrumgateError] = []
    counted = count_events_file(dirty, errors.append, show_progress=False)
    reference_errors: list[DrumgateError] = []
    reference = count_events(iter_jsonl(dirty, reference_errors.append), reference_errors.append)
    assert _tables(counted) == _tables(reference)
    assert [str(error) for error in errors] == [str(error) for error in reference_errors]
    assert [error.line for error in errors] == sorted(said)
    fast = counts_by_duckdb(clean)
    assert fast is not None and _tables(fast) == _tables(counted)


def test_a_partitioned_folder_counts_as_its_single_file(workspace: Workspace, tmp_path: Path) -> None:
    """The same rows as one file and as a folder of parts: the index's aggregates leave each malformed
    row out of every health count (as `count_events` does), so the two reports are equal; health on
    the folder words each malformed row at its part and line, as the file's count words it."""
    rows, good, said = _mixed()
    config = load_health_config(workspace, "egmd")
    file_errors: list[DrumgateError] = []
    single = compute_health(config, count_events_file(_write(tmp_path / "events.jsonl", rows), file_errors.append,
                                                      show_progress=False), on_error=file_errors.append)
    by_session: dict[str, list[tuple[int, Row]]] = {}  # cut along the session, as ingest cuts
    for line, row in numbered(rows):
        session = row.get("session_id")
        by_session.setdefault(session if isinstance(session, str) and session else "no session", []).append((line, row))
    folder = tmp_path / "events"
    parts.write_parts(folder, "events", "egmd", "session_id",
                      [parts.PartInput(key, [row for _, row in held]) for key, held in by_session.items()])
    index = parts.read_index(folder)
    assert index["totals"]["events"] == len(rows), "a reader yields every row, the malformed ones too"
    assert sum(entry["aggregates"].get("malformed", 0) for entry in index["parts"]) == len(said)
    folder_errors: list[DrumgateError] = []
    counted = count_events_file(folder, folder_errors.append)
    assert counted.events == len(good) == sum(counted.places.values())
    report = compute_health(config, counted, on_error=folder_errors.append)
    assert dumps_document(report) == dumps_document(single)
    assert dumps_document(report) == dumps_document(compute_health(config, numbered(good)))
    where = {(key, position): said[line] for key, held in by_session.items()
             for position, (line, _) in enumerate(held, 1) if line in said}
    assert len(folder_errors) == len(file_errors) == len(said)
    for error in folder_errors:
        assert error.path is not None and error.line is not None
        part = next(entry["key"] for entry in index["parts"] if entry["file"] == Path(error.path).name)
        assert error.message.startswith(where[(part, error.line)]), (error.path, error.line, error.message)
    with pytest.raises(DrumgateError) as caught:  # without a sink, the first one is raised, naming its part
        count_events_file(folder)
    assert caught.value.path is not None and Path(caught.value.path).parent == folder


CAMBRIDGE = "data/manifests/cambridge_events.jsonl"


def _commit_manifest(repo: Path, branch: str, rows: list[Row]) -> None:
    assert git(repo, "checkout", "-q", "-b", branch, "main").returncode == 0
    _write(repo / CAMBRIDGE, rows)
    committed = git(repo, "commit", "-q", "--no-verify", "-am", branch)
    assert committed.returncode == 0, committed.stdout + committed.stderr


def _pr_report(repo: Path, head: str, out: Path) -> dict[str, Any]:
    made = drumgate(repo, "pr-report", "--base", "main", "--head", head, "--out", str(out))
    assert made.returncode in (0, 1), made.stdout + made.stderr
    return read_json(out / "summary.json")


def test_pr_report_counts_a_head_as_its_manifest_without_the_malformed_rows(demo: Path, tmp_path: Path) -> None:
    """The reviewer's head (a null label, a `holdout` split, an unknown label, committed past the hooks)
    and a wrong label source: pr-report's summary and head reports equal those of the same manifest
    with the malformed rows deleted, and the comment's count of them is right."""
    repo = copied_repo(demo, tmp_path)
    rows = [json.loads(line) for line in (repo / CAMBRIDGE).read_text(encoding="utf-8").splitlines()]
    damaged = [dict(row) for row in rows]
    damaged[5]["label"] = None
    damaged[6]["split"] = "holdout"
    damaged[7]["label"] = "cowbell_xyz"
    damaged[9]["label_source"] = "guess"
    _commit_manifest(repo, "damaged", damaged)
    _commit_manifest(repo, "clean", [row for index, row in enumerate(damaged) if index not in (5, 6, 9)])
    summary = _pr_report(repo, "damaged", tmp_path / "damaged")
    twin = _pr_report(repo, "clean", tmp_path / "clean")

    cambridge = summary["datasets"]["cambridge"]
    assert cambridge["totals"]["events"] == {"base": len(rows), "delta": -3, "head": len(rows) - 3}
    assert cambridge["totals"]["unknown_label_events"]["head"] == 1
    snare = [row for row in cambridge["classes"]["rows"] if row["name"] == "snare"]
    base_snare = sum(row["label"] == "snare" for row in rows)
    head_snare = sum(row["label"] == "snare" for index, row in enumerate(damaged) if index not in (5, 6, 9))
    assert [(row["base"], row["head"]) for row in snare] == [(base_snare, head_snare)]
    for name in ("cambridge", COMBINED):
        malformed = summary["datasets"][name].pop("malformed_rows")
        assert (malformed["base"], malformed["head"]) == (0, 3)
        assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in malformed["head_shown"]] == ["6", "7", "10"]
        assert twin["datasets"][name].pop("malformed_rows")["head"] == 0
        # sampling weights count (session, item, label, split) alone, so a row health refuses for its
        # label source still weighs there: not health's counts, left to the weights' own checks
        summary["datasets"][name].pop("weights")
        twin["datasets"][name].pop("weights")
        assert summary["datasets"][name] == twin["datasets"][name], name
        for side in ("head", "base"):
            assert read_json(tmp_path / "damaged" / "reports" / f"{name}_{side}.json") == read_json(
                tmp_path / "clean" / "reports" / f"{name}_{side}.json")
    comment = (tmp_path / "damaged" / "comment.md").read_text(encoding="utf-8")
    assert "⚠️ cambridge: 3 malformed rows at head left out of the counts" in comment
    assert f"{len(rows)} → {len(rows) - 3} (−3," in comment


def test_pr_report_words_a_partitioned_heads_malformed_rows_as_health_does(workspace: Workspace) -> None:
    """A committed folder whose index counts malformed rows: pr-report's counts from the index leave
    them out, and each row is given to its sink at its part and line, as health on the folder gives
    them, also when base and head share the part (no entry needs checking against its rows)."""
    from drumgate.github.git_tree import GitTree
    from drumgate.github.pr_parts import event_counts

    rows, good, said = _mixed()
    rel = "data/manifests/egmd_events"
    parts.write_parts(workspace.root / rel, "events", "egmd", "session_id",
                      [parts.PartInput("all", [row for _, row in numbered(rows)])])
    assert git(workspace.root, "init", "-q", "-b", "main").returncode == 0
    assert git(workspace.root, "add", rel).returncode == 0
    assert git(workspace.root, "commit", "-q", "--no-verify", "-m", "parts").returncode == 0
    health_errors: list[DrumgateError] = []
    expected = count_events_file(workspace.root / rel, health_errors.append)
    pr_errors: list[DrumgateError] = []
    counted = event_counts(GitTree(workspace), "HEAD", rel, "HEAD", pr_errors.append)
    assert counted.events == expected.events == len(good)
    assert [(Path(str(error.path)).name, error.line, error.message) for error in pr_errors] == [
        (Path(str(error.path)).name, error.line, error.message) for error in health_errors]
    assert sorted(error.line or 0 for error in pr_errors) == sorted(said)
