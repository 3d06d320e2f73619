from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import iter_jsonl, read_json, read_jsonl, write_json, write_jsonl

ROWS = [
    {"event_id": "egmd:a:0", "onset_s": 0.5, "label": "kick", "techniques": [], "velocity": 100},
    {"event_id": "egmd:a:1", "onset_s": 1e-05, "label": "snare", "note": "Ünïcode ✓", "velocity": None},
]


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_round_trip_is_byte_identical_across_runs(tmp_path: Path, name: str) -> None:
    first, second = tmp_path / "a" / name, tmp_path / "b" / name
    write_jsonl(first, ROWS)
    write_jsonl(second, [dict(reversed(list(row.items()))) for row in ROWS])
    assert first.read_bytes() == second.read_bytes()
    assert read_jsonl(first) == ROWS
    raw = gzip.decompress(first.read_bytes()) if name.endswith(".gz") else first.read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    assert raw.splitlines()[0].startswith(b'{"event_id"')


def test_gzip_header_has_no_mtime_or_name(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.gz"
    write_jsonl(path, ROWS)
    header = path.read_bytes()[:10]
    assert header[4:8] == b"\x00\x00\x00\x00"
    assert header[3] & 0x08 == 0  # FNAME flag unset


def test_json_document_is_sorted_indented_with_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(path, {"b": 1, "a": [1.5, None]})
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'
    with pytest.raises(DrumgateError, match="NaN or Infinity"):
        write_json(path, {"x": float("nan")})
    assert read_json(path) == {"a": [1.5, None], "b": 1}


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b'{"a": 1}\n{"a": NaN}\n', 2, "NaN or Infinity"),
        (b'{"a": 1}\n\n{"a": \n', 3, "invalid JSON"),
        (b'{"a": 1}\n[1, 2]\n', 2, "must be a JSON object, got list"),
        (b'{"a": "\xff\xfe"}\n', 1, "not valid UTF-8"),
        (b'{"a": Infinity}\n', 1, "NaN or Infinity"),
    ],
)
def test_bad_lines_name_path_and_line(tmp_path: Path, content: bytes, line: int, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DrumgateError) as info:
        read_jsonl(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_collecting_errors_keeps_valid_rows_and_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"i": 1}\nnot json\n\n{"i": 4}\n{"i": NaN}\n{"i": 6}\n')
    errors: list[DrumgateError] = []
    rows = list(iter_jsonl(path, on_error=errors.append))
    assert rows == [(1, {"i": 1}), (4, {"i": 4}), (6, {"i": 6})]
    assert [e.line for e in errors] == [2, 5]


def test_lfs_pointer_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    with pytest.raises(DrumgateError, match="git lfs pull"):
        read_jsonl(path)


def test_missing_and_damaged_gzip(tmp_path: Path) -> None:
    with pytest.raises(DrumgateError, match="file not found"):
        read_jsonl(tmp_path / "nope.jsonl")
    broken = tmp_path / "b.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:60])
    with pytest.raises(DrumgateError, match="damaged gzip"):
        read_jsonl(broken)


WRITER = """
import sys, itertools
from drumgate.io.jsonio import write_jsonl
def rows():
    for i in itertools.count():
        if i == 2000:
            print("writing", flush=True)
        yield {"i": i, "pad": "x" * 200}
write_jsonl(sys.argv[1], rows())
"""


def test_killed_write_leaves_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    write_jsonl(target, ROWS)
    before = target.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"writing"
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "events.jsonl"]
    assert all(name.startswith(".events.jsonl.") for name in leftovers)
