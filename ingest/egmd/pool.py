"""E-GMD's worker pool: performances ingested in parallel, results handed back in task order.

With forked workers and an events file descriptor, the workers also write the event rows at the
offsets the parent hands out, so the parent never expands a render's template fills itself.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from typing import Any

from drumgate.workers import quiet_worker
from ingest.egmd.event_encoding import EncodedEvents, encoded_size, write_encoded_at
from ingest.egmd.metadata import RenderRow
from ingest.egmd.renders import IngestSettings, PerformanceResult, ingest_performance

MAX_IN_FLIGHT_PER_JOB = 4
Task = tuple[str, list[RenderRow]]  # a performance id and its renders


_WORKER_SETTINGS: IngestSettings | None = None


def _init_worker(settings: IngestSettings) -> None:
    global _WORKER_SETTINGS
    quiet_worker()
    _WORKER_SETTINGS = settings


def _work(task: Task) -> PerformanceResult:
    assert _WORKER_SETTINGS is not None
    return ingest_performance(task[0], task[1], _WORKER_SETTINGS)


class _PooledEventWriter:
    """Event rows written by the pool workers at offsets the parent hands out in task order."""

    def __init__(self, pool: Any, fd: int, limit: int) -> None:
        self._pool, self._fd, self._limit = pool, fd, limit
        self._offset = os.lseek(fd, 0, os.SEEK_CUR)
        self._pending: deque[Any] = deque()

    def submit(self, chunks: list[EncodedEvents]) -> None:
        """Bytes are written here at once; runs of template fills go to a worker to expand and write."""
        fills: list[EncodedEvents] = []
        for chunk in chunks:
            if isinstance(chunk, bytes):
                self._send(fills)
                fills = []
                write_encoded_at(self._fd, [chunk], self._offset)
                self._offset += len(chunk)
            else:
                fills.append(chunk)
        self._send(fills)

    def _send(self, fills: list[EncodedEvents]) -> None:
        if not fills:
            return
        self._pending.append(self._pool.apply_async(write_encoded_at, (self._fd, fills, self._offset)))
        self._offset += encoded_size(fills)
        while len(self._pending) > self._limit:
            self._pending.popleft().get()

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().get()
        os.lseek(self._fd, self._offset, os.SEEK_SET)


def run_performances(
    tasks: list[Task], settings: IngestSettings, jobs: int, events_fd: int | None = None
) -> Iterator[PerformanceResult]:
    """Results in task order. With several jobs at most jobs x 4 results are held at once.

    With several forked workers and `events_fd` (an unbuffered file position), the workers also
    write the event rows there in task order and the results come back with no events.
    """
    if jobs <= 1 or len(tasks) <= 1:
        for performance_id, rows in tasks:
            yield ingest_performance(performance_id, rows, settings)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    limit = jobs * MAX_IN_FLIGHT_PER_JOB
    # The first performance runs here: its numba loops compile (or load) once, and forked workers
    # inherit them instead of each compiling its own copy (seconds of CPU each after an install).
    first = ingest_performance(tasks[0][0], tasks[0][1], settings) if method == "fork" else None
    with context.Pool(jobs, initializer=_init_worker, initargs=(settings,)) as pool:
        writer = _PooledEventWriter(pool, events_fd, limit) if events_fd is not None and method == "fork" else None
        if first is not None:
            if writer is not None:
                writer.submit(first.events)
                first.events = []
            yield first
        pending: deque[Any] = deque()
        queue = iter(tasks[1:] if first is not None else tasks)
        for task in queue:
            pending.append(pool.apply_async(_work, (task,)))
            if len(pending) >= limit:
                break
        while pending:
            result = pending.popleft().get()
            next_task = next(queue, None)
            if next_task is not None:
                pending.append(pool.apply_async(_work, (next_task,)))
            if writer is not None:
                writer.submit(result.events)
                result.events = []
            yield result
        if writer is not None:
            writer.finish()
