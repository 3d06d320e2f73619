"""Check a big JSONL manifest on every core: split it at newlines, scan the chunks in forked workers.

The lean scan gives exactly the findings `rowscan.scan_jsonl` gives for each line (invalid JSON,
NaN, non-object rows, duplicate keys), with exact line numbers: each chunk knows the line number
of its first line. A line that orjson writes back byte for byte (in its own key order) cannot hold
a duplicate key, so only other lines pay for the exact duplicate-key parse. Whole-file conditions
(a Git LFS pointer, binary content, a damaged gzip stream, an empty manifest), a line over
`lines.MAX_LINE_BYTES` and a gzip stream that inflates past `lines.MAX_INFLATED_BYTES` are not handled
here: `load_for_chunks` gives no data for such a file and the caller uses the sequential scan,
which words them and streams (a small `.jsonl.gz` that inflates to gigabytes is never held
whole). Workers are forked, so the buffer and the chunk function (a closure is fine) are inherited,
not pickled; only results travel back.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.lines import (
    LFS_POINTER_PREFIX,
    MAX_INFLATED_BYTES,
    MAX_LINE_BYTES,
    has_long_line,
    inflate_capped,
    is_gzip_path,
)
from drumgate.io.rowscan import strict_row
from drumgate.workers import quiet_worker, worker_count

PARALLEL_MIN_BYTES = 4_000_000
NO_PATH = Path("-")  # a chunk's findings carry line numbers only; the caller names the file
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


@dataclass(frozen=True)
class Loaded:
    """A manifest read whole: `data` (decompressed) is None when it needs the sequential scan;
    `digest` is the sha256 of the file as stored (when asked for and readable)."""

    data: bytes | None
    digest: str | None = None


def load_for_chunks(path: str | Path, want_digest: bool = False) -> Loaded:
    """The whole (decompressed) file when the lean chunked scan applies to it."""
    stored = read_stored(path)
    if stored is None:
        return Loaded(None)
    digest = hashlib.sha256(stored).hexdigest() if want_digest else None
    return Loaded(usable_data(path, stored), digest)


def read_stored(path: str | Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def usable_data(path: str | Path, stored: bytes) -> bytes | None:
    """The file's lines (decompressed), or None when only the sequential scan can word its problem."""
    data = inflate_capped(stored, MAX_INFLATED_BYTES) if is_gzip_path(Path(path)) else stored
    if not data or data.isspace() or data.startswith(LFS_POINTER_PREFIX) or b"\x00" in data:
        return None
    if has_long_line(data, MAX_LINE_BYTES):
        return None
    return data


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
        with multiprocessing.get_context("fork").Pool(workers, initializer=quiet_worker) as pool:
            return pool.map(_run_chunk, chunk_bounds(data, workers * CHUNKS_PER_WORKER), chunksize=1)
    finally:
        _BUFFER, _WORK = b"", None


def lean_batches(
    chunk: bytes, first_line: int, findings: list[LineFinding], batch_rows: int = 64
) -> Iterator[tuple[list[int], list[dict[str, Any]]]]:
    """(line numbers, rows) of the sound lines of a chunk, a batch at a time; each unsound line
    adds its finding. The hot loop of the hooks: a batch whose every line is exactly orjson's
    compact form of an object is parsed in one call; any other batch goes line by line."""
    lines = chunk.split(b"\n")
    for base in range(0, len(lines), batch_rows):
        part = lines[base : base + batch_rows]
        rows = _compact_objects(part)
        if rows is not None:
            yield list(range(first_line + base, first_line + base + len(part))), rows
        else:
            yield _line_by_line(part, first_line + base, findings)


def _compact_objects(lines: list[bytes]) -> list[dict[str, Any]] | None:
    """The rows of lines that are each orjson's own compact form of one object, else None.

    Checking every row's compact form against its line keeps the rows aligned with the lines (a
    line cannot hold two values or half of one) and rules out duplicate keys and blank lines."""
    try:
        rows = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(rows) != len(lines) or list(map(orjson.dumps, rows)) != lines:
        return None
    if not all(type(row) is dict for row in rows):
        return None
    return rows


def _line_by_line(lines: list[bytes], first_line: int, findings: list[LineFinding]) -> tuple[list[int], list[Any]]:
    """The rows of a batch that is not all compact objects, each line read as the reference scan
    reads it (rowscan.strict_row); blank lines are skipped, bad ones become findings."""
    numbers: list[int] = []
    rows: list[dict[str, Any]] = []
    for line_no, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        try:
            row = strict_row(raw, NO_PATH, line_no)
        except DrumgateError as err:
            findings.append(LineFinding(line_no, err.message, err.hint))
            continue
        numbers.append(line_no)
        rows.append(row)
    return numbers, rows
