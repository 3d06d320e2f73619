"""read_events (the fast reader) yields exactly what jsonio.iter_jsonl yields, errors included."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import iter_jsonl
from drumgate.reports.health_counts import read_events

CONTENT = b'{"a": 1}\n\n{"b": [1, 2]}\n{oops\n[1, 2]\n   \n{"c": "\xc3\xa9"}\n{"d": NaN}\n{"e": 5}'


def _collect(reader, path: Path) -> tuple[list, list[str]]:
    errors: list[DrumgateError] = []
    rows = list(reader(path, on_error=errors.append))
    return rows, [str(error) for error in errors]


@pytest.mark.parametrize("name", ["x.jsonl", "x.jsonl.gz"])
def test_fast_reader_matches_reference(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(CONTENT, mtime=0) if name.endswith(".gz") else CONTENT)
    fast_rows, fast_errors = _collect(read_events, path)
    ref_rows, ref_errors = _collect(iter_jsonl, path)
    assert fast_rows == ref_rows
    assert fast_errors == ref_errors
    assert [line for line, _ in fast_rows] == [1, 3, 7, 9]
    assert len(fast_errors) == 3


def test_fast_reader_raises_first_error_and_detects_lfs_pointer(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(CONTENT)
    with pytest.raises(DrumgateError) as caught:
        list(read_events(path))
    assert caught.value.line == 4
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(DrumgateError, match="Git LFS pointer"):
        list(read_events(path))
    with pytest.raises(DrumgateError, match="file not found"):
        list(read_events(tmp_path / "missing.jsonl"))
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert list(read_events(tmp_path / "empty.jsonl")) == []
