"""Check a big JSONL manifest on every core: split it at newlines, scan the chunks in forked workers.

The lean scan gives exactly the findings `rowscan.scan_jsonl` gives for each line (invalid JSON,
NaN, non-object rows, duplicate keys), with exact line numbers: each chunk knows the line number
of its first line. Whole-file conditions (a Git LFS pointer, binary content, a damaged gzip
stream, an empty manifest) are not handled here: `load_for_chunks` returns None for such a file
and the caller uses the sequential scan, which words them. Workers are forked, so the buffer and
the chunk function (a closure is fine) are inherited, not pickled; only results travel back.
"""

from __future__ import annotations

import gc
import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from drumgate.errors import DrumgateError
from drumgate.jsonio import LFS_POINTER_PREFIX, is_gzip_path, parse_line
from drumgate.rowscan import duplicate_key

PARALLEL_MIN_BYTES = 4_000_000
CHUNKS_PER_WORKER = 4
Result = TypeVar("Result")
ChunkWork = Callable[[bytes, int], Any]

_BUFFER: bytes = b""
_WORK: ChunkWork | None = None


@dataclass(frozen=True)
class LineFinding:
    """One problem on one line; `hint` None means the caller's default fix."""

    line: int
    message: str
    hint: str | None = None


def load_for_chunks(path: str | Path) -> bytes | None:
    """The whole (decompressed) file when the lean chunked scan applies to it, else None."""
    source = Path(path)
    try:
        data = source.read_bytes()
        if is_gzip_path(source):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None
    if not data.strip() or data.startswith(LFS_POINTER_PREFIX) or b"\x00" in data:
        return None
    return data


def worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def chunk_bounds(data: bytes, parts: int) -> list[tuple[int, int, int]]:
    """(start, end, first line number) of up to `parts` chunks, each ending at a newline."""
    bounds: list[tuple[int, int, int]] = []
    start, line = 0, 1
    step = max(1, len(data) // max(1, parts))
    while start < len(data):
        cut = data.find(b"\n", min(len(data), start + step) - 1)
        end = len(data) if cut < 0 else cut + 1
        bounds.append((start, end, line))
        line += data.count(b"\n", start, end)
        start = end
    return bounds


def _run_chunk(bound: tuple[int, int, int]) -> Any:
    start, end, first_line = bound
    assert _WORK is not None
    gc.disable()
    return _WORK(_BUFFER[start:end], first_line)


def map_chunks(data: bytes, work: ChunkWork) -> list[Any]:
    """`work(chunk, first line number)` over the file's chunks, in file order, on every core."""
    global _BUFFER, _WORK
    workers = worker_count()
    if workers < 2 or len(data) < PARALLEL_MIN_BYTES:
        return [work(data, 1)]
    import multiprocessing

    _BUFFER, _WORK = data, work
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_run_chunk, chunk_bounds(data, workers * CHUNKS_PER_WORKER), chunksize=1)
    finally:
        _BUFFER, _WORK = b"", None


def lean_rows(chunk: bytes, first_line: int, findings: list[LineFinding]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every sound line of a chunk; each unsound line adds its finding."""
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    for line_no, raw in enumerate(chunk.split(b"\n"), start=first_line):
        try:
            row = loads(raw)
        except orjson.JSONDecodeError:
            if raw.strip():
                findings.append(_parse_finding(raw, line_no))
            continue
        if type(row) is not dict:
            findings.append(_parse_finding(raw, line_no))
            continue
        canonical = dumps(row, option=sort_keys)
        if canonical != raw and canonical != raw.rstrip(b"\r"):
            duplicate = duplicate_key(raw)
            if duplicate:
                findings.append(LineFinding(line_no, duplicate))
                continue
        yield line_no, row


def _parse_finding(raw: bytes, line_no: int) -> LineFinding:
    try:
        parse_line(raw, Path("-"), line_no)
    except DrumgateError as err:
        return LineFinding(line_no, err.message, err.hint)
    raise AssertionError("a line orjson refused parsed on the second try")
