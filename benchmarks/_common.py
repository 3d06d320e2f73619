"""Timing helpers shared by the benchmark modules."""

from __future__ import annotations

import compileall
import importlib
import multiprocessing
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any


def median_seconds(action: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of `action` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command in a child process: (wall seconds, the child's peak RSS in MB).

    Run each measured command through a fresh wrapper so ru_maxrss is that command's own peak.
    """
    wrapper = [
        sys.executable,
        "-c",
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:]);w=time.perf_counter()-t;"
        "m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(f'{w} {m}',file=sys.stderr);sys.exit(r.returncode)",
        *argv,
    ]
    done = subprocess.run(wrapper, capture_output=True, text=True, env=env, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    wall, peak_kb = done.stderr.strip().splitlines()[-1].split()
    return float(wall), float(peak_kb) / 1024


def self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compile_drumgate() -> bool:
    """Byte-compile the drumgate package as `pip install` does, so that every timed child imports it
    the way an installed drumgate is imported, even where PYTHONDONTWRITEBYTECODE is set: an editable
    checkout would otherwise be compiled from source by each child (about 30 ms of every `drumgate
    health`, which its peers, installed with their bytecode, never pay). False if a file would not
    compile or its folder is read-only."""
    import drumgate

    return bool(compileall.compile_dir(Path(drumgate.__file__).parent, quiet=1))


def run_benchmark(name: str, quick: bool) -> dict[str, Any]:
    """`benchmarks.bench_<name>.run(quick)` in a fresh interpreter. On Linux a child's peak RSS starts
    at its parent's: after one benchmark grew a shared parent (the corpus-scale one to 658 MB), every
    later benchmark's children reported at least that much."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_run_here, name, quick).result()


def _run_here(name: str, quick: bool) -> dict[str, Any]:
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return dict(module.run(quick))
