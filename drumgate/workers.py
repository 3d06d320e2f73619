"""How many workers a parallel step uses: the one policy every pool in drumgate asks.

An explicit `--jobs` wins; otherwise `DRUMGATE_WORKERS` when set (CI runners and shared
machines cap every pool with it); otherwise the CPUs this process may run on. The CPU count honours
the affinity mask (`taskset`, cgroup cpusets, `docker --cpuset-cpus`): `os.cpu_count()` reports
every core of the host and would oversubscribe a container pinned to two of them. A pool never
gets more workers than it has items, and always at least one.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from drumgate.errors import DrumgateError

WORKERS_ENV = "DRUMGATE_WORKERS"


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def configured_workers() -> int | None:
    """`DRUMGATE_WORKERS` as a positive whole number, or None when it is unset or blank."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if not configured:
        return None
    try:
        return max(1, int(configured))
    except ValueError:
        raise DrumgateError(
            f"{WORKERS_ENV}={configured!r} is not a whole number (fix: export {WORKERS_ENV}=2, or unset it)"
        ) from None


def worker_count(jobs: int | None = None, items: int | None = None, *, cap: int | None = None) -> int:
    """Workers for a pool: `jobs` if given, else DRUMGATE_WORKERS, else the available CPUs (at most
    `cap`, for pools whose gain flattens out; the setting is not capped); never more than `items` when that is known."""
    if jobs is not None and jobs > 0:
        workers = jobs
    else:
        cpus = available_cpus() if cap is None else min(cap, available_cpus())
        workers = configured_workers() or cpus
    if items is not None:
        workers = min(workers, items)
    return max(1, workers)


def quiet_worker() -> None:
    """The initializer of every process pool: a worker ignores Ctrl-C. A terminal sends SIGINT to the
    whole foreground group, and each forked worker would print its own KeyboardInterrupt traceback;
    the parent gets it too, and leaving its `with Pool` terminates the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection off while a counting pass builds many small dicts and tuples that
    hold no reference cycles: each full collection walks every object alive, so with hundreds of
    thousands of parsed rows kept (pr-report's part memo) it took about a quarter of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
