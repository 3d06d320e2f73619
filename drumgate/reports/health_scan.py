"""Counting an events manifest file fast: big plain files in parallel byte ranges.

Every range is read by the one line reader (`drumgate.io.lines`: capped lines, one orjson call per
row) and counted by `health_counts.count_events`, the reference loop. Above `PARALLEL_MIN_BYTES`
the file is cut into byte ranges that end on newlines; each range is counted in a worker process
with line numbers relative to its start, and the parent merges the ranges in file order, shifting
line numbers by the lines of the ranges before. The merged counts, first lines and errors are
exactly those of one serial pass (`count_events` over `jsonio.iter_jsonl`); anything else (gzip,
Git LFS pointers, unreadable paths, partitioned folders) takes that reference path. Memory holds
one block per process plus the counters.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import iter_jsonl
from drumgate.io.lines import LFS_POINTER_PREFIX, is_gzip_path, iter_capped_lines, rows_of_lines
from drumgate.progress import progress
from drumgate.reports.health_counts import ErrorSink, EventCounts, count_events
from drumgate.workers import worker_count

BLOCK_BYTES = 256 << 10
PARALLEL_MIN_BYTES = 32 << 20
PROGRESS_MIN_BYTES = 64 << 20
MIN_CHUNK_BYTES = 8 << 20
MAX_CHUNK_BYTES = 64 << 20
CHUNKS_PER_WORKER = 8
MAX_WORKERS = 8

ByteRange = tuple[int, int]


@dataclass
class RangeCount:
    """One byte range's counts; `first_line` and error lines count from the range's first line."""

    lines: int = 0
    size: int = 0
    counts: EventCounts = field(default_factory=EventCounts)
    errors: list[DrumgateError] = field(default_factory=list)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The counting loop makes no reference cycles; cyclic GC passes over the growing counters
    would only cost time (about 5%)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ByteWindow:
    """Bytes [start, end) of an open file as a stream, `block_bytes` at a time, each block reported to
    `advance` (the progress bar) as it is read."""

    def __init__(
        self, handle: BinaryIO, start: int, end: int, block_bytes: int, advance: Callable[[int], object] | None
    ) -> None:
        handle.seek(start)
        self.handle, self.remaining, self.block_bytes, self.advance = handle, end - start, block_bytes, advance

    def read(self, size: int = -1) -> bytes:
        wanted = self.block_bytes if size < 0 else min(size, self.block_bytes)
        block = self.handle.read(min(wanted, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(block)
        if block and self.advance is not None:
            self.advance(len(block))
        return block


def _tallied(numbered: Iterator[tuple[int, bytes | None]], part: RangeCount) -> Iterator[tuple[int, bytes | None]]:
    """The lines, passed through; `part.lines` ends as the number of lines, blank ones included."""
    for line_no, raw in numbered:
        part.lines = line_no
        yield line_no, raw


def count_range(
    path: str | Path,
    start: int,
    end: int,
    block_bytes: int = BLOCK_BYTES,
    advance: Callable[[int], object] | None = None,
) -> RangeCount:
    """Count the lines in bytes [start, end) of `path`; `start` must begin a line."""
    source = Path(path)
    part = RangeCount(size=end - start)
    with _gc_paused(), source.open("rb") as handle:
        lines = _tallied(iter_capped_lines(ByteWindow(handle, start, end, block_bytes, advance)), part)
        part.counts = count_events(rows_of_lines(lines, source, part.errors.append), part.errors.append)
    return part


def split_ranges(path: Path, size: int, chunk_bytes: int) -> list[ByteRange]:
    """Byte ranges of about `chunk_bytes`, each ending just after a newline (the last at EOF).

    Each cut is found by reading forward in blocks (never a whole line: one line may be huge), and a
    nominal cut inside a stretch already read past is skipped, so the search reads each byte once."""
    bounds = [0]
    reached = 0
    with path.open("rb") as handle:
        for nominal in range(chunk_bytes, size, chunk_bytes):
            if nominal <= reached:
                continue
            reached = _line_start_after(handle, nominal - 1, size)
            if bounds[-1] < reached < size:
                bounds.append(reached)
    bounds.append(size)
    return list(itertools.pairwise(bounds))


def _line_start_after(handle: BinaryIO, position: int, size: int) -> int:
    """The offset just past the first newline at or after `position` (`size` when there is none)."""
    handle.seek(position)
    while block := handle.read(BLOCK_BYTES):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return size


def merge_ranges(parts: Iterator[RangeCount], on_error: ErrorSink | None = None) -> EventCounts:
    """Merge range counts in file order into what one serial pass over the file would give."""
    total = EventCounts()
    base = 0
    for part in parts:
        for error in part.errors:
            error.line = (error.line or 0) + base
            if on_error is None:
                raise error
            on_error(error)
        for table, own in ((total.labels, part.counts.labels), (total.places, part.counts.places)):
            _merge_table(table, total.first_line, own, part.counts.first_line, base)
        base += part.lines
    return total


def _merge_table(table: dict, first_line: dict, own: dict, own_first: dict, base: int) -> None:
    table_get = table.get
    for key, n in own.items():
        seen = table_get(key)
        if seen is None:
            table[key] = n
            first_line[key] = own_first[key] + base
        else:
            table[key] = seen + n


def default_workers() -> int:
    """Worker processes by the one policy (drumgate.workers): `DRUMGATE_WORKERS` when set, else the CPUs
    this process may use, at most MAX_WORKERS."""
    return worker_count(cap=MAX_WORKERS)


def _plain_size(source: Path) -> int | None:
    """Size of a plain, readable manifest; None sends the file down the reference path."""
    if is_gzip_path(source):
        return None
    try:
        with source.open("rb") as handle:
            head = handle.read(len(LFS_POINTER_PREFIX))
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return None
    return None if head.startswith(LFS_POINTER_PREFIX) else size


def _chunk_size(size: int, workers: int) -> int:
    return max(MIN_CHUNK_BYTES, min(MAX_CHUNK_BYTES, size // (workers * CHUNKS_PER_WORKER) + 1))


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else methods[0])


def _parallel_parts(
    source: Path, ranges: list[ByteRange], workers: int, block_bytes: int, advance: Callable[[int], object]
) -> Iterator[RangeCount]:
    pool = ProcessPoolExecutor(max_workers=min(workers, len(ranges)), mp_context=_pool_context())
    try:
        pending: deque[Future[RangeCount]] = deque(
            pool.submit(count_range, str(source), start, end, block_bytes) for start, end in ranges
        )
        while pending:
            part = pending.popleft().result()
            advance(part.size)
            yield part
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def count_events_file(
    path: str | Path,
    on_error: ErrorSink | None = None,
    *,
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
    chunk_bytes: int | None = None,
    block_bytes: int = BLOCK_BYTES,
    show_progress: bool = True,
) -> EventCounts:
    """The counts `count_events(jsonio.iter_jsonl(path))` gives, in parallel for big plain files."""
    source = Path(path)
    from drumgate.io import combined_reference

    if combined_reference.reference_path(source) is not None:  # the combined rows, read from its sources
        return count_events(iter_jsonl(source, on_error), on_error)
    if source.is_dir() or not source.exists():
        from drumgate.io import parts

        if parts.resolve(source).is_dir():  # a partitioned folder: merge its fresh index's aggregates
            return parts.counts_from_index(parts.resolve(source))
    size = _plain_size(source)
    if size is None:
        return count_events(iter_jsonl(source, on_error), on_error)
    workers = workers or default_workers()
    shown = show_progress and size >= PROGRESS_MIN_BYTES
    with progress(size, f"health {source.name}", "B", enabled=shown) as bar:
        if workers > 1 and size >= parallel_min_bytes:
            ranges = split_ranges(source, size, chunk_bytes or _chunk_size(size, workers))
            if len(ranges) > 1:
                with closing(_parallel_parts(source, ranges, workers, block_bytes, bar.update)) as parts:
                    return merge_ranges(parts, on_error)
        return merge_ranges(iter([count_range(source, 0, size, block_bytes, bar.update)]), on_error)
