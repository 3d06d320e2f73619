"""Counting an events manifest file: DuckDB's query when it is exact, else one exact serial pass.

A plain or gzip `.jsonl` file is first counted by `drumgate.reports.health_duckdb` (one GROUP BY
query on DuckDB's threads). When that cannot show its counts equal to the Python scan's (a bad
line, a key `validate_counts` would refuse, anything it cannot prove; see that module), or for
any other input, the reference pass counts instead: `health_counts.count_events` over the one line
reader (`drumgate.io.lines`: capped lines, one orjson call per row), which words every bad line as
`path:line`. A plain file is read by `count_range` with a byte progress bar; gzip, Git LFS
pointers and unreadable paths go through `jsonio.iter_jsonl`, partitioned folders through their
index aggregates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import iter_jsonl
from drumgate.io.lines import LFS_POINTER_PREFIX, is_gzip_path, iter_capped_lines, rows_of_lines
from drumgate.progress import progress
from drumgate.reports.health_counts import ErrorSink, EventCounts, count_events
from drumgate.workers import paused_gc

BLOCK_BYTES = 256 << 10
PROGRESS_MIN_BYTES = 64 << 20


@dataclass
class RangeCount:
    """One byte range's counts; `first_line` and error lines count from the range's first line."""

    lines: int = 0
    size: int = 0
    counts: EventCounts = field(default_factory=EventCounts)
    errors: list[DrumgateError] = field(default_factory=list)


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
    with paused_gc(), source.open("rb") as handle:
        lines = _tallied(iter_capped_lines(ByteWindow(handle, start, end, block_bytes, advance)), part)
        part.counts = count_events(rows_of_lines(lines, source, part.errors.append), part.errors.append)
    return part


def _readable_head(source: Path) -> bytes | None:
    """The first bytes of a readable file; None sends the path to the reference reader, which words why."""
    try:
        with source.open("rb") as handle:
            return handle.read(len(LFS_POINTER_PREFIX))
    except OSError:
        return None


def input_kind(source: Path) -> Literal["rows", "parts", "file"]:
    """How `count_events_file` counts `source`: "parts" for a partitioned folder (its index's
    aggregates), "file" for a readable plain or gzip file (DuckDB first), "rows" for the rest (a
    combined reference's rows read from its sources; a Git LFS pointer or an unreadable path, which
    the reader words)."""
    from drumgate.io import combined_reference

    if combined_reference.reference_path(source) is not None:
        return "rows"
    if source.is_dir() or not source.exists():
        from drumgate.io import parts

        if parts.resolve(source).is_dir():
            return "parts"
    head = _readable_head(source) if source.is_file() else None
    return "rows" if head is None or head.startswith(LFS_POINTER_PREFIX) else "file"


def _counted_plain(source: Path, on_error: ErrorSink | None, block_bytes: int, show_progress: bool) -> EventCounts:
    size = os.path.getsize(source)
    with progress(size, f"health {source.name}", "B", enabled=show_progress and size >= PROGRESS_MIN_BYTES) as bar:
        part = count_range(source, 0, size, block_bytes, bar.update)
    for error in part.errors:
        if on_error is None:
            raise error
        on_error(error)
    return part.counts


def count_events_file(
    path: str | Path,
    on_error: ErrorSink | None = None,
    *,
    workers: int | None = None,
    use_duckdb: bool = True,
    block_bytes: int = BLOCK_BYTES,
    show_progress: bool = True,
) -> EventCounts:
    """The counts `count_events(jsonio.iter_jsonl(path))` gives, and its errors (reported to
    `on_error`, or the first raised): by DuckDB on `workers` threads when that is exact."""
    source = Path(path)
    kind = input_kind(source)
    if kind == "rows":
        return count_events(iter_jsonl(source, on_error), on_error)
    if kind == "parts":  # a partitioned folder: merge its fresh index's aggregates
        from drumgate.io import parts

        return parts.counts_from_index(parts.resolve(source), on_error)
    if use_duckdb:
        from drumgate.reports.health_duckdb import counts_by_duckdb

        counted = counts_by_duckdb(source, workers)
        if counted is not None:
            return counted
    if is_gzip_path(source):
        return count_events(iter_jsonl(source, on_error), on_error)
    return _counted_plain(source, on_error, block_bytes, show_progress)
