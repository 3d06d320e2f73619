"""Read a JSONL manifest for checking: every bad line is a finding, good rows keep their line numbers.

Stricter than `jsonio.iter_jsonl` in what a hook must catch: duplicate keys (orjson keeps the last
one silently), binary content, an empty file and a Git LFS pointer are findings too. A row that is
byte-identical to what drumgate's writer produces (sorted keys, compact) cannot hold a duplicate
key, so only hand-written rows pay for the stdlib duplicate-key parse.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import LFS_POINTER_PREFIX, is_gzip_path, iter_capped_lines, long_line_error, parse_line

LFS_FIX = "fix: run git lfs pull"
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


def is_canonical(raw: bytes, row: dict[str, Any]) -> bool:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS) == raw.rstrip(b"\r\n")


def _open(path: Path) -> Any:
    handle = path.open("rb")
    if is_gzip_path(path):
        return gzip.GzipFile(fileobj=handle, mode="rb")
    return handle


def scan_jsonl(path: str | Path, sink: FindingSink) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) for every sound row; report everything else to `sink`."""
    source = Path(path)
    rows = 0
    try:
        with _open(source) as handle:
            for line_no, raw in iter_capped_lines(handle):
                if raw is None:
                    rows += 1
                    sink(long_line_error(source, line_no))
                    continue
                if line_no == 1 and raw.startswith(LFS_POINTER_PREFIX):
                    sink(DrumgateError("Git LFS pointer, not the manifest", path=source, hint=LFS_FIX))
                    return
                if b"\x00" in raw:
                    sink(
                        DrumgateError(
                            "binary content, not JSON lines",
                            path=source,
                            line=line_no,
                            hint="fix: restore the manifest with git checkout or regenerate it",
                        )
                    )
                    return
                if not raw.strip():
                    continue
                rows += 1
                try:
                    row = parse_line(raw, source, line_no)
                except DrumgateError as err:
                    sink(err)
                    continue
                if not is_canonical(raw, row):
                    duplicate = duplicate_key(raw)
                    if duplicate:
                        sink(DrumgateError(duplicate, path=source, line=line_no))
                        continue
                yield line_no, row
    except FileNotFoundError:
        sink(DrumgateError("file not found", path=source))
        return
    except (gzip.BadGzipFile, EOFError, OSError, zlib.error) as exc:
        sink(DrumgateError(f"damaged gzip stream ({exc})", path=source, hint="fix: regenerate the file"))
        return
    if rows == 0:
        sink(
            DrumgateError(
                "empty manifest (no rows)",
                path=source,
                hint="fix: regenerate it, or delete it if the dataset has no rows",
            )
        )
