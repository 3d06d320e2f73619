"""Health reads events through the one JSONL reader: the byte-range path (`count_range`, any block
size) and the file path (`count_events_file`, plain or gzip) count and word errors exactly as
`count_events` over `jsonio.iter_jsonl` does."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import dumps_row, iter_jsonl
from drumgate.reports.health_counts import EventCounts, count_events
from drumgate.reports.health_scan import count_events_file, count_range

ROW = {
    "label": "kick", "techniques": [], "label_source": "midi", "velocity": 90,
    "session_id": "s1", "split": "train", "item_id": "i1",
}
BAD_LINES = [b"{oops", b"[1, 2]", b"   ", b'{"d": NaN}', b'"unterminated']
CONTENT = b"\n".join([dumps_row(ROW), b"", *BAD_LINES, dumps_row({**ROW, "velocity": 12}), dumps_row({"label": 1})])


def _counted(count: object) -> tuple[EventCounts, list[str]]:
    errors: list[DrumgateError] = []
    counts = count(errors.append)  # type: ignore[operator]
    return counts, [str(error) for error in errors]


def _reference(path: Path) -> tuple[EventCounts, list[str]]:
    return _counted(lambda sink: count_events(iter_jsonl(path, on_error=sink), sink))


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 4096])
def test_a_byte_range_reads_like_the_reference(tmp_path: Path, block_bytes: int) -> None:
    path = tmp_path / "x_events.jsonl"
    path.write_bytes(CONTENT)
    expected_counts, expected_errors = _reference(path)
    part = count_range(path, 0, len(CONTENT), block_bytes=block_bytes)
    assert part.lines == len(CONTENT.split(b"\n"))
    assert part.counts == expected_counts
    assert [str(error) for error in part.errors] == expected_errors
    assert expected_counts.events == 2
    assert len(expected_errors) == 5  # four bad lines and the row without fields; blank lines are no finding


@pytest.mark.parametrize("name", ["x_events.jsonl", "x_events.jsonl.gz"])
def test_a_file_reads_like_the_reference(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(CONTENT, mtime=0) if name.endswith(".gz") else CONTENT)
    assert _counted(lambda sink: count_events_file(path, sink, show_progress=False)) == _reference(path)


def test_without_a_sink_the_first_bad_line_raises_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "x_events.jsonl"
    path.write_bytes(CONTENT)
    with pytest.raises(DrumgateError) as caught:
        count_events_file(path, show_progress=False)
    assert caught.value.line == 3
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(DrumgateError, match="Git LFS pointer"):
        count_events_file(path, show_progress=False)
    (tmp_path / "empty_events.jsonl").write_bytes(b"")
    assert count_events_file(tmp_path / "empty_events.jsonl", show_progress=False).events == 0
