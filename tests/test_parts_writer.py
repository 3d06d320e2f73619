"""PartsWriter rewrites only what changed: a part whose lines are the same is kept without being
compressed again, and keeps its index aggregates; a part that is not a canonical gzip stream is
rewritten, so every part stays as `gzip_rows` writes it."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

from drumgate.io import parts
from drumgate.io.jsonio import dumps_row

ROWS = [{"event_id": f"d:s{n}:{i}", "session_id": f"s{n}", "item_id": f"s{n}", "label": "kick", "techniques": [],
         "label_source": "midi", "velocity": 90, "split": "train", "dataset": "d", "onset": i * 0.5}
        for n in range(3) for i in range(4)]


def write(folder: Path) -> parts.WriteResult:
    by_session: dict[str, list[dict]] = {}
    for row in ROWS:
        by_session.setdefault(row["session_id"], []).append(row)
    return parts.write_parts(folder, "events", "d", "session_id",
                             [parts.PartInput(key, rows) for key, rows in by_session.items()])


def test_an_unchanged_part_is_kept_even_when_another_zlib_compressed_it(tmp_path: Path) -> None:
    folder = tmp_path / "d_events"
    write(folder)
    first = parts.read_index(folder)
    part = folder / first["parts"][0]["file"]
    lines = b"".join(dumps_row(row) + b"\n" for row in ROWS[:4])
    deflate = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)  # same lines, other deflate bytes
    body = deflate.compress(lines) + deflate.flush()
    other_level = parts.CANONICAL_HEADER + body + struct.pack("<II", zlib.crc32(lines), len(lines))
    assert gzip.decompress(other_level) == lines
    assert other_level != part.read_bytes()
    part.write_bytes(other_level)
    result = write(folder)
    assert result.written == ["index.json"] and part.read_bytes() == other_level
    again = parts.read_index(folder)
    assert again["parts"][0]["sha256"] == parts.verify(folder)["parts"][0]["sha256"]
    assert [entry["aggregates"] for entry in again["parts"]] == [entry["aggregates"] for entry in first["parts"]]
    assert write(folder).written == []


def test_a_part_that_is_not_canonical_gzip_is_rewritten(tmp_path: Path) -> None:
    folder = tmp_path / "d_events"
    write(folder)
    part = folder / parts.read_index(folder)["parts"][1]["file"]
    canonical = part.read_bytes()
    lines = gzip.decompress(canonical)
    part.write_bytes(gzip.compress(lines, compresslevel=6, mtime=12345))  # a timestamp in the header
    result = write(folder)
    assert part.name in result.written and part.read_bytes() == canonical


def test_a_changed_part_gets_fresh_aggregates(tmp_path: Path) -> None:
    folder = tmp_path / "d_events"
    write(folder)
    ROWS[0]["label"] = "snare"
    try:
        result = write(folder)
    finally:
        ROWS[0]["label"] = "kick"
    entry = parts.read_index(folder)["parts"][0]
    assert entry["file"] in result.written
    assert entry["aggregates"]["pairs"] == {"kick|": 3, "snare|": 1}


def test_an_index_holds_rows_only_when_it_lists_a_part(tmp_path: Path) -> None:
    """`--allow-empty` wrote an empty folder: a later empty run is not refused for emptying it."""
    from drumgate.artifacts import holds_rows
    from drumgate.io import parts

    empty, full = tmp_path / "empty_events", tmp_path / "full_events"
    parts.write_parts(empty, "events", "x", "session_id", [])
    row = {"item_id": "a", "session_id": "s", "label": "kick", "techniques": [], "label_source": "midi",
           "velocity": 1, "split": "train"}
    parts.write_parts(full, "events", "x", "session_id", [parts.PartInput("s", [row])])
    assert not holds_rows(empty / parts.INDEX_NAME)
    assert holds_rows(full / parts.INDEX_NAME)
