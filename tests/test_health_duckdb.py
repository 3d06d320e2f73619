"""DuckDB's counts of an events file equal the exact Python scan's, or DuckDB steps aside.

`count_events_file` asks `health_duckdb.counts_by_duckdb` first; whenever that cannot show its counts
equal (a bad line, a key validation would refuse, a value that only loosely equals another), the
Python scan counts and words the findings. Either way the report and the findings are those of
`count_events` over `jsonio.iter_jsonl`, the reference.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event, event_rows
from drumgate.io.jsonio import dumps_document, dumps_row, iter_jsonl
from drumgate.reports import health_duckdb
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.health_counts import EventCounts, count_events
from drumgate.reports.health_duckdb import counts_by_duckdb
from drumgate.reports.health_scan import count_events_file
from drumgate.workspace import Workspace


def _lines(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(dumps_row(row) + b"\n" for row in rows)


def _varied_rows() -> list[dict[str, Any]]:
    """Generated rows plus every key shape health folds: techniques none, one or several (or null),
    velocity null, performance as a string, an integer, null or absent, unicode names."""
    rows = list(event_rows(1200, sessions=24, items_per_session=3, seed=3))
    rows[5]["techniques"] = ["open", "closed"]
    rows[6]["techniques"] = None
    rows[7]["velocity"] = None
    rows[8]["attributes"] = {"performance": 17}
    rows[9]["attributes"] = {"performance": None, "song_key": "x"}
    rows[10]["attributes"] = None
    rows[11]["attributes"] = {}
    rows += [
        event("séance/ドラム", "kick", "train", performance="p1", velocity=None),
        event("Se\u0301ance", "snare", "test", techniques=("rimshot", "cross_stick"), performance="p1"),
        event("s2", "Caixa 🥁", "validation", performance="ø"),
    ]
    return rows


def _reference(path: Path) -> tuple[EventCounts, list[str]]:
    errors: list[DrumgateError] = []
    counts = count_events(iter_jsonl(path, errors.append), errors.append)
    return counts, [str(error) for error in errors]


def _write(folder: Path, content: bytes, gz: bool = False) -> Path:
    path = folder / ("egmd_events.jsonl.gz" if gz else "egmd_events.jsonl")
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_duckdb_counts_equal_the_python_scan(tmp_path: Path, gz: bool) -> None:
    path = _write(tmp_path, b"\n" + _lines(_varied_rows()) + b"   \n\n", gz)
    counted = counts_by_duckdb(path, workers=2)
    assert counted is not None, "a clean file is counted by DuckDB"
    expected, errors = _reference(path)
    assert errors == []
    assert counted.labels == expected.labels and counted.places == expected.places
    assert set(counted.first_line) == set(counted.labels) | set(counted.places)
    one_thread = counts_by_duckdb(path, workers=1)
    assert one_thread is not None and (one_thread.labels, one_thread.places) == (counted.labels, counted.places)


def test_key_types_are_the_python_scans(tmp_path: Path) -> None:
    path = _write(tmp_path, _lines(_varied_rows()))
    counted, (expected, _) = counts_by_duckdb(path), _reference(path)
    assert counted is not None
    as_typed = {key: tuple(type(value) for value in key) for key in expected.places}
    assert {key: tuple(type(value) for value in key) for key in counted.places} == as_typed
    assert ("kick", (), "midi", None) in counted.labels
    assert any(key[3] == 17 and type(key[3]) is int for key in counted.places)


def test_a_null_field_that_may_be_null_is_counted_a_missing_one_is_not(tmp_path: Path) -> None:
    rows = _varied_rows()
    path = _write(tmp_path, _lines(rows))
    assert counts_by_duckdb(path) is not None
    del rows[40]["velocity"]
    path.write_bytes(_lines(rows))
    assert counts_by_duckdb(path) is None


def _edited(rows: list[dict[str, Any]], index: int, **changes: Any) -> list[dict[str, Any]]:
    return [*rows[:index], {**rows[index], **changes}, *rows[index + 1 :]]


def _bad_contents() -> dict[str, bytes]:
    rows = list(event_rows(300, sessions=6, items_per_session=2, seed=9))
    good = _lines(rows)
    insert_at = good.index(b"\n", 2000) + 1

    def with_line(line: bytes) -> bytes:
        return good[:insert_at] + line + b"\n" + good[insert_at:]

    without_label = {key: value for key, value in rows[3].items() if key != "label"}
    without_techniques = {key: value for key, value in rows[3].items() if key != "techniques"}
    return {
        "invalid-json": with_line(b"{not json"),
        "array-row": with_line(b"[1, 2, 3]"),
        "null-row": with_line(b"null"),
        "empty-object": with_line(b"{}"),
        "nan-row": with_line(b'{"velocity": NaN}'),
        "invalid-utf8": with_line(b'{"label": "\xff\xfe"}'),
        "missing-label": with_line(dumps_row(without_label)),
        "missing-techniques": with_line(dumps_row(without_techniques)),
        "label-is-number": _lines(_edited(rows, 20, label=7)),
        "label-null": _lines(_edited(rows, 20, label=None)),
        "velocity-float": _lines(_edited(rows, 20, velocity=90.0)),
        "velocity-bool": _lines(_edited(rows, 20, velocity=True)),
        "velocity-out-of-range": _lines(_edited(rows, 20, velocity=300)),
        "velocity-string": _lines(_edited(rows, 20, velocity="90")),
        "velocity-list": _lines(_edited(rows, 20, velocity=[1, 2])),
        "techniques-string": _lines(_edited(rows, 20, techniques="rimshot")),
        "techniques-nested": _lines(_edited(rows, 20, techniques=[["a"]])),
        "session-unhashable": _lines(_edited(rows, 20, session_id=["x"])),
        "session-empty": _lines(_edited(rows, 20, session_id="")),
        "split-unknown": _lines(_edited(rows, 20, split="holdout")),
        "label-source-unknown": _lines(_edited(rows, 20, label_source="guess")),
        "attributes-list": _lines(_edited(rows, 20, attributes=["not", "a", "dict"])),
        "attributes-empty-list": _lines(_edited(rows, 20, attributes=[])),
        "performance-float": _lines(_edited(rows, 20, attributes={"performance": 1.5})),
        "performance-bool": _lines(_edited(rows, 20, attributes={"performance": True})),
        "duplicate-field": with_line(dumps_row(rows[3])[:-1] + b',"label":"snare"}'),
        "bom": b"\xef\xbb\xbf" + good,
        "truncated-last-row": good[:-25],
    }


@pytest.mark.parametrize("name", sorted(_bad_contents()))
@pytest.mark.parametrize("gz", [False, True])
def test_every_bad_input_falls_back_to_the_exact_findings(workspace: Workspace, name: str, gz: bool) -> None:
    path = _write(workspace.root, _bad_contents()[name], gz)
    assert counts_by_duckdb(path) is None
    errors: list[DrumgateError] = []
    counted = count_events_file(path, errors.append, show_progress=False)
    expected, expected_errors = _reference(path)
    assert (counted, [str(error) for error in errors]) == (expected, expected_errors)
    report = compute_health(load_health_config(workspace, "egmd"), counted, on_error=errors.append)
    reference_errors: list[DrumgateError] = []
    rows = iter_jsonl(path, reference_errors.append)
    reference = compute_health(load_health_config(workspace, "egmd"), rows, on_error=reference_errors.append)
    assert dumps_document(report) == dumps_document(reference)
    assert [str(error) for error in errors] == [str(error) for error in reference_errors]


def _messy() -> bytes:
    """Many kinds of bad line in one file: each is worded once, at its own line."""
    rows = list(event_rows(900, sessions=12, items_per_session=2, seed=5))
    rows[10]["label"] = "cowbell_of_doom"
    rows[11]["techniques"] = ["flam_unknown"]
    rows[12]["velocity"] = None
    rows[14]["split"] = "test" if rows[14]["split"] != "test" else "train"
    rows.append(event("leaky_a", "kick", "train", performance="p1"))
    rows.append(event("leaky_b", "kick", "test", performance="p1"))
    lines = [dumps_row(row) for row in rows]
    odd = {
        50: b"{not json",
        120: b"",
        121: b"   ",
        200: b"[1, 2, 3]",
        310: dumps_row({k: v for k, v in rows[0].items() if k != "label"}),
        400: dumps_row({**rows[1], "session_id": ["unhashable"]}),
        401: dumps_row({**rows[1], "techniques": "rimshot"}),
        402: dumps_row({**rows[1], "attributes": ["not", "a", "dict"]}),
        403: dumps_row({**rows[1], "velocity": 300}),
        404: dumps_row({**rows[1], "split": "holdout"}),
        500: dumps_row(rows[2]) + b"\r",
        600: b'{"velocity": NaN}',
        700: b"\xff\xfe broken utf-8",
    }
    for index in sorted(odd):
        lines.insert(index, odd[index])
    return b"\n".join(lines)


@pytest.mark.parametrize("name", ["clean", "messy", "no-final-newline", "empty", "blank-lines", "crlf"])
def test_report_and_findings_equal_the_reference(workspace: Workspace, name: str) -> None:
    clean = _lines(list(event_rows(700, sessions=30, items_per_session=3, seed=11)))
    content = {
        "clean": clean,
        "messy": _messy(),
        "no-final-newline": clean.rstrip(b"\n"),
        "empty": b"",
        "blank-lines": b"\n\n" + clean + b"\n\n",
        "crlf": clean.replace(b"\n", b"\r\n"),
    }[name]
    path = _write(workspace.root, content)
    errors: list[DrumgateError] = []
    config = load_health_config(workspace, "egmd")
    report = compute_health(config, count_events_file(path, errors.append), on_error=errors.append)
    reference_errors: list[DrumgateError] = []
    rows = iter_jsonl(path, reference_errors.append)
    reference = compute_health(load_health_config(workspace, "egmd"), rows, on_error=reference_errors.append)
    assert dumps_document(report) == dumps_document(reference)
    assert [str(error) for error in errors] == [str(error) for error in reference_errors]
    if name == "messy":
        assert [error.line for error in errors] == [51, 201, 311, 401, 402, 403, 404, 405, 601, 701]
        assert report["unknowns"] == {"labels": {"cowbell_of_doom": 1}, "techniques": {"flam_unknown": 1}}
        assert {leak["kind"] for leak in report["leakage"]} == {"session", "performance"}


def test_without_a_sink_the_first_bad_line_raises_with_its_number(tmp_path: Path) -> None:
    path = _write(tmp_path, _bad_contents()["invalid-json"])
    with pytest.raises(DrumgateError) as counted:
        count_events_file(path, show_progress=False)
    with pytest.raises(DrumgateError) as reference:
        count_events(iter_jsonl(path))
    assert str(counted.value) == str(reference.value) and counted.value.line is not None


@pytest.mark.parametrize("gz", [False, True])
def test_the_report_is_identical_either_way(workspace: Workspace, gz: bool) -> None:
    path = _write(workspace.root, _lines(_varied_rows()), gz)
    config = load_health_config(workspace, "egmd")
    by_duckdb = compute_health(config, count_events_file(path, show_progress=False))
    by_python = compute_health(config, count_events_file(path, use_duckdb=False, show_progress=False))
    reference = compute_health(config, iter_jsonl(path))
    assert dumps_document(by_duckdb) == dumps_document(by_python) == dumps_document(reference)


def test_empty_and_blank_files_count_nothing(tmp_path: Path) -> None:
    for content in (b"", b"\n\n  \n"):
        path = _write(tmp_path, content)
        assert count_events_file(path, show_progress=False).events == 0


def test_whole_file_problems_are_worded_by_the_reader(tmp_path: Path) -> None:
    path = _write(tmp_path, b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(DrumgateError, match="Git LFS pointer"):
        count_events_file(path, show_progress=False)
    gz = _write(tmp_path, b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", gz=True)
    with pytest.raises(DrumgateError, match="Git LFS pointer"):
        count_events_file(gz, show_progress=False)
    gz.write_bytes(gzip.compress(_lines(_varied_rows()), mtime=0)[:-40])
    with pytest.raises(DrumgateError, match="damaged gzip"):
        count_events_file(gz, show_progress=False)
    with pytest.raises(DrumgateError, match="file not found"):
        count_events_file(tmp_path / "missing.jsonl", show_progress=False)


def test_duckdb_is_not_imported_until_a_file_is_counted() -> None:
    import subprocess
    import sys

    code = ("import sys, drumgate.cli, drumgate.reports.health_files; "
            "print('duckdb' in sys.modules or '_duckdb' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_the_count_loads_duckdbs_engine_not_its_python_layer(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _write(tmp_path, _lines(_varied_rows()))
    code = ("import sys; from drumgate.reports.health_duckdb import counts_by_duckdb; "
            f"assert counts_by_duckdb({str(path)!r}) is not None; print('duckdb' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_without_the_engine_module_the_package_serves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    import duckdb

    monkeypatch.setitem(sys.modules, "_duckdb", None)  # an install where the extension has another name
    assert health_duckdb.duckdb_engine() is duckdb
    path = _write(tmp_path, _lines(_varied_rows()))
    counted, (expected, _) = counts_by_duckdb(path), _reference(path)
    assert counted is not None and (counted.labels, counted.places) == (expected.labels, expected.places)


@pytest.mark.parametrize("spelling", ["5", "-0", "5.0", "1E5", "1e400", "123456789012345678901234567890", "0.1", "true",
                                      "false", "NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", '{"a": 1}',
                                      '[1, "x"]', "[]", "{}"])
def test_every_non_string_read_as_text_is_told_apart(tmp_path: Path, spelling: str) -> None:
    """What DuckDB writes for a non-string in a field read as text is a spelling NON_STRING_TEXT knows,
    for every kind of JSON value (a DuckDB upgrade that writes one otherwise fails here)."""
    import duckdb

    path = tmp_path / "one.jsonl"
    path.write_text(f'{{"label": {spelling}, "techniques": [{spelling}]}}\n', encoding="utf-8")
    columns = "{'label': 'VARCHAR', 'techniques': 'VARCHAR[]'}"
    query = f"select label, techniques from read_json(?, format = 'newline_delimited', columns = {columns})"
    ((label, techniques),) = duckdb.connect().execute(query, [str(path)]).fetchall()
    for text in (label, techniques[0]):
        assert health_duckdb.NON_STRING_TEXT.fullmatch(text) and text[0] in health_duckdb.NON_STRING_FIRST


@pytest.mark.parametrize("name", ["kick", "drummer1/session1/1", "0001", "5a", "-", "", "truex", "İnf", "Señor 5"])
def test_strings_that_no_non_string_is_spelled_like_are_trusted(name: str) -> None:
    assert not health_duckdb.NON_STRING_TEXT.fullmatch(name)


def test_a_string_spelled_like_a_non_string_is_counted_by_the_exact_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[dict[str, str]] = []
    original = health_duckdb.count_query

    def recorded(compression: str, columns: dict[str, str] = health_duckdb.TEXT_COLUMNS) -> str:
        queries.append(columns)
        return original(compression, columns)

    monkeypatch.setattr(health_duckdb, "count_query", recorded)
    rows = _varied_rows()
    path = _write(tmp_path, _lines(rows))
    counted, (expected, _) = counts_by_duckdb(path), _reference(path)
    assert counted is not None and (counted.labels, counted.places) == (expected.labels, expected.places)
    assert queries == [health_duckdb.TEXT_COLUMNS], "a clean file: one query, strings read as text"
    queries.clear()
    for index, (name, value) in enumerate([("label", "5"), ("session_id", "true"), ("item_id", "[x]"),
                                           ("techniques", ["null", "open"]), ("label", "NaN")]):
        rows[30 + index][name] = value
    path.write_bytes(_lines(rows))
    counted, (expected, errors) = counts_by_duckdb(path), _reference(path)
    assert errors == [] and counted is not None
    assert counted.labels == expected.labels and counted.places == expected.places
    assert any(key[0] == "5" for key in counted.labels) and any(key[0] == "true" for key in counted.places)
    assert queries == [health_duckdb.TEXT_COLUMNS, health_duckdb.EXACT_COLUMNS]


def test_a_path_is_one_file_whatever_its_folders_or_characters(tmp_path: Path) -> None:
    """A folder named like a hive partition adds no column; a name DuckDB would read as a glob is
    counted by the Python scan (the pattern could match other files)."""
    rows = _varied_rows()
    hive = tmp_path / "split=holdout" / "label=x"
    hive.mkdir(parents=True)
    path = _write(hive, _lines(rows))
    counted = counts_by_duckdb(path)
    assert counted is not None and counted.places == _reference(path)[0].places
    globbed = tmp_path / "egmd[1]_events.jsonl"
    globbed.write_bytes(_lines(rows))
    (tmp_path / "egmd1_events.jsonl").write_bytes(_lines(rows[:10]))
    assert counts_by_duckdb(globbed) is None
    assert count_events_file(globbed, show_progress=False) == _reference(globbed)[0]


def test_input_kind_names_how_each_input_is_counted(tmp_path: Path) -> None:
    from drumgate.io import parts
    from drumgate.reports.health_scan import input_kind

    plain = _write(tmp_path, _lines(_varied_rows()))
    packed = _write(tmp_path, _lines(_varied_rows()), gz=True)
    pointer = tmp_path / "pointer_events.jsonl"
    pointer.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 9\n")
    folder = tmp_path / "x_events"
    row = {"item_id": "a", "session_id": "s", "label": "kick", "techniques": [], "label_source": "midi",
           "velocity": 1, "split": "train"}
    parts.write_parts(folder, "events", "x", "session_id", [parts.PartInput("s", [row])])
    assert [input_kind(path) for path in (plain, packed, folder, pointer, tmp_path / "missing.jsonl")] == [
        "file", "file", "parts", "rows", "rows"]
