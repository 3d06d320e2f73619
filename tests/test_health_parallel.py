"""The parallel file counter gives byte for byte the report and errors of the serial reference."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event, event_rows
from drumgate.io.jsonio import dumps_document, dumps_row, iter_jsonl
from drumgate.reports.health import compute_health
from drumgate.reports.health_counts import count_events
from drumgate.reports.health_scan import count_events_file, count_range, split_ranges
from drumgate.workspace import Workspace

SPLITS = [(2, 97, 64), (2, 1000, 333), (3, 4096, 4096), (1, None, 128)]


def _clean(rows: int = 1500) -> bytes:
    return b"".join(dumps_row(row) + b"\n" for row in event_rows(rows, sessions=30, items_per_session=3, seed=11))


def _messy() -> bytes:
    rows = list(event_rows(900, sessions=12, items_per_session=2, seed=5))
    rows[10]["label"] = "cowbell_of_doom"
    rows[11]["techniques"] = ["flam_unknown"]
    rows[12]["velocity"] = None
    rows[13]["velocity"] = None
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


def _reference(workspace: Workspace, path: Path) -> tuple[bytes, list[str]]:
    errors: list[DrumgateError] = []
    report = compute_health(workspace, "egmd", iter_jsonl(path, errors.append), on_error=errors.append)
    return dumps_document(report), [str(error) for error in errors]


def _parallel(workspace: Workspace, path: Path, workers: int, chunk: int | None, block: int) -> tuple[bytes, list[str]]:
    errors: list[DrumgateError] = []
    counts = count_events_file(
        path, errors.append, workers=workers, parallel_min_bytes=0, chunk_bytes=chunk, block_bytes=block
    )
    report = compute_health(workspace, "egmd", counts, on_error=errors.append)
    return dumps_document(report), [str(error) for error in errors]


@pytest.mark.parametrize("content_name", ["clean", "messy", "clean_no_final_newline", "empty", "blank_lines"])
def test_parallel_report_and_errors_equal_the_serial_pass(workspace: Workspace, content_name: str) -> None:
    content = {
        "clean": _clean,
        "messy": _messy,
        "clean_no_final_newline": lambda: _clean(700).rstrip(b"\n"),
        "empty": lambda: b"",
        "blank_lines": lambda: b"\n\n" + _clean(300) + b"\n\n",
    }[content_name]()
    path = workspace.root / "egmd_events.jsonl"
    path.write_bytes(content)
    expected = _reference(workspace, path)
    for workers, chunk, block in SPLITS:
        assert _parallel(workspace, path, workers, chunk, block) == expected, (workers, chunk, block)


def test_messy_file_really_has_the_cases_under_test(workspace: Workspace) -> None:
    path = workspace.root / "egmd_events.jsonl"
    path.write_bytes(_messy())
    errors: list[DrumgateError] = []
    parsed = compute_health(workspace, "egmd", iter_jsonl(path, errors.append), on_error=errors.append)
    assert parsed["unknowns"]["labels"] == {"cowbell_of_doom": 1}
    assert parsed["unknowns"]["techniques"] == {"flam_unknown": 1}
    assert parsed["velocity_histogram"]["null"] == 2
    assert {leak["kind"] for leak in parsed["leakage"]} == {"session", "performance"}
    lines = [error.line for error in errors]
    streaming, once_per_key = [51, 201, 311, 401, 403, 601, 701], [402, 404, 405]
    assert lines == streaming + once_per_key


def test_without_a_sink_the_first_bad_line_raises_as_in_the_serial_pass(workspace: Workspace) -> None:
    path = workspace.root / "egmd_events.jsonl"
    path.write_bytes(_messy())
    with pytest.raises(DrumgateError) as serial:
        count_events(iter_jsonl(path))
    with pytest.raises(DrumgateError) as parallel:
        count_events_file(path, workers=2, parallel_min_bytes=0, chunk_bytes=300)
    assert str(parallel.value) == str(serial.value)
    assert parallel.value.line == 51


def test_ranges_start_on_lines_and_cover_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    content = _clean(200)
    path.write_bytes(content)
    for chunk in (1, 50, 333, 10_000, len(content) * 2):
        ranges = split_ranges(path, len(content), chunk)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(content)
        assert all(end == start for (_, end), (start, _) in itertools.pairwise(ranges))
        assert all(content[start - 1 : start] == b"\n" for start, _ in ranges[1:])
    lines = sum(count_range(path, start, end).lines for start, end in split_ranges(path, len(content), 333))
    assert lines == 200


def test_gzip_and_lfs_pointers_take_the_reference_path(workspace: Workspace) -> None:
    gz = workspace.root / "egmd_events.jsonl.gz"
    gz.write_bytes(gzip.compress(_clean(300), mtime=0))
    plain = workspace.root / "egmd_events.jsonl"
    plain.write_bytes(_clean(300))
    from_gz = compute_health(workspace, "egmd", count_events_file(gz, workers=2, parallel_min_bytes=0))
    assert dumps_document(from_gz) == _reference(workspace, plain)[0]
    plain.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(DrumgateError, match="Git LFS pointer"):
        count_events_file(plain, workers=2, parallel_min_bytes=0)
    with pytest.raises(DrumgateError, match="file not found"):
        count_events_file(workspace.root / "missing.jsonl", workers=2, parallel_min_bytes=0)
