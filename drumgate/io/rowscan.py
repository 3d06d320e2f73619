"""Read a JSONL manifest for checking: every bad line is a finding, good rows keep their line numbers.

The hooks' reference path (`chunkscan` is the parallel one and gives the same findings). It reads
through the one line reader (drumgate.io.lines) and is stricter than `jsonio.iter_jsonl` in what a
hook must catch: duplicate keys (orjson keeps the last one silently), binary content and an empty
file are findings too, and so is every whole-file problem the reader words (a folder, a missing
file, a Git LFS pointer, a damaged gzip stream: found before any line, and then the only
finding). A row that is byte-identical to orjson's own compact form of it cannot hold a duplicate
key, so only other rows pay for the stdlib duplicate-key parse (`strict_row`, which the parallel path uses too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import BINARY_HINT, DrumgateError
from drumgate.io.lines import LFS_HINT, JsonRow, gzip_damage, is_gzip_path, line_error, long_line_error, numbered_lines

LFS_FIX = LFS_HINT
FindingSink = Callable[[DrumgateError], None]


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def duplicate_key(raw: bytes | str) -> str | None:
    """The first duplicate-key message in one JSON text, or None when every object's keys differ."""
    try:
        json.loads(raw, object_pairs_hook=reject_duplicate_keys)
    except ValueError as exc:
        text = str(exc)
        return text if text.startswith("duplicate key") else None
    return None


def strict_row(raw: bytes, path: Path, line_no: int) -> JsonRow:
    """A line as a row the way a hook reads it: what `parse_line` refuses, and a duplicate key, raise
    a DrumgateError naming path:line."""
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError:
        row = None
    if type(row) is not dict:
        raise line_error(raw, path, line_no)
    if orjson.dumps(row) != raw.rstrip(b"\r\n"):
        duplicate = duplicate_key(raw)
        if duplicate:
            raise DrumgateError(duplicate, path=path, line=line_no)
    return row


def scan_jsonl(path: str | Path, sink: FindingSink) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) for every sound row; report everything else to `sink`."""
    source = Path(path)
    damage = gzip_damage(source) if is_gzip_path(source) else None
    if damage is not None:  # one finding, not one per garbage line it inflates to
        sink(damage)
        return
    rows = 0
    try:
        for line_no, raw in numbered_lines(source):
            if raw is None:
                rows += 1
                sink(long_line_error(source, line_no))
                continue
            if b"\x00" in raw:
                sink(
                    DrumgateError(
                        "binary content, not JSON lines",
                        path=source,
                        line=line_no,
                        hint=BINARY_HINT,
                    )
                )
                return
            if not raw.strip():
                continue
            rows += 1
            try:
                row = strict_row(raw, source, line_no)
            except DrumgateError as err:
                sink(err)
                continue
            yield line_no, row
    except DrumgateError as err:  # the whole file: a folder, missing, unreadable, an LFS pointer, damaged gzip
        sink(err)
        return
    if rows == 0:
        sink(
            DrumgateError(
                "empty manifest (no rows)",
                path=source,
                hint="fix: regenerate it, or delete it if the dataset has no rows",
            )
        )
