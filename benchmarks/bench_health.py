"""Benchmark: `drumgate health` (counting + report) vs pandas.read_json(lines=True) + groupby counts.

Generates a seeded events manifest (2,000,000 rows; `quick`: 100,000), then runs each side in its
own subprocess, several times, and reads the child's wall time, CPU time and peak RSS from
`os.wait4` (CPU includes the worker processes drumgate forks; peak RSS is the largest single
process). The drumgate child also reports its own and its workers' peaks, so the table shows the
sum of all drumgate processes' peaks too, and the memory ratio uses that sum. `drumgate serial`
(DRUMGATE_WORKERS=1) is the one-process figure. The machine's 1-minute load average is recorded
before and after, since other work shares the cores. Targets: health >= 10x faster (wall) and
<= 1/20 of pandas' peak memory. Run: `python -m benchmarks health [--quick]`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from drumgate.fixtures.health_events import event_rows
from drumgate.io.jsonio import write_jsonl

ROOT = Path(__file__).resolve().parent.parent
FULL_EVENTS = 2_000_000
QUICK_EVENTS = 100_000

DRUMGATE_CHILD = """
import resource
import sys
from pathlib import Path
from drumgate.reports.health import compute_health
from drumgate.reports.health_scan import count_events_file, default_workers
from drumgate.workspace import Workspace
counts = count_events_file(sys.argv[2])
report = compute_health(Workspace(Path(sys.argv[1])), "egmd", counts)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(report["totals"]["events"], own, workers, default_workers())
"""

PANDAS_CHILD = """
import sys
import pandas as pd
frame = pd.read_json(sys.argv[2], lines=True)
for column in ("label", "split", "session_id", "label_source", "velocity", "item_id"):
    frame.groupby(column, dropna=False).size()
print(len(frame))
"""


def _measure(code: str, workspace: Path, events: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, str(workspace), str(events)], stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({child.returncode})")
    fields = output.decode().split()
    figures = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "rows": int(fields[0]),
    }
    figures["all_processes_peak_mb"] = figures["peak_rss_mb"]
    if len(fields) == 4:
        own_kb, worker_kb, workers = int(fields[1]), int(fields[2]), int(fields[3])
        spawned = workers if worker_kb else 0
        figures["all_processes_peak_mb"] = (own_kb + spawned * worker_kb) / 1024.0
        figures["workers"] = workers if worker_kb else 1
    return figures


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _prepare(folder: Path, events: int) -> Path:
    shutil.copytree(ROOT / "configs", folder / "configs")
    manifest = folder / "data" / "manifests" / "egmd_events.jsonl"
    write_jsonl(manifest, event_rows(events, sessions=max(100, events // 2000), items_per_session=4, seed=2024))
    return manifest


def run(quick: bool = False) -> dict[str, Any]:
    events = QUICK_EVENTS if quick else FULL_EVENTS
    repeats = 3 if quick else 2
    serial_env = {**os.environ, "DRUMGATE_WORKERS": "1"}
    with tempfile.TemporaryDirectory(prefix="bench_health_") as tmp:
        workspace = Path(tmp)
        manifest = _prepare(workspace, events)
        size_mb = manifest.stat().st_size / 1e6
        load_before = _load()
        runs: dict[str, list[dict[str, float]]] = {"drumgate": [], "drumgate serial": [], "pandas": []}
        for _ in range(repeats):
            runs["drumgate"].append(_measure(DRUMGATE_CHILD, workspace, manifest))
            runs["drumgate serial"].append(_measure(DRUMGATE_CHILD, workspace, manifest, serial_env))
            runs["pandas"].append(_measure(PANDAS_CHILD, workspace, manifest))
        load_after = _load()
    ours, serial, theirs = (_median(runs[name]) for name in ("drumgate", "drumgate serial", "pandas"))
    result = {
        "events": events,
        "file_mb": round(size_mb, 1),
        "repeats": repeats,
        "load_avg_1m": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
        "drumgate": ours,
        "drumgate serial": serial,
        "pandas": theirs,
        "wall_ratio": theirs["wall_s"] / ours["wall_s"],
        "cpu_ratio": theirs["cpu_s"] / ours["cpu_s"],
        "serial_wall_ratio": theirs["wall_s"] / serial["wall_s"],
        "memory_ratio": ours["all_processes_peak_mb"] / theirs["peak_rss_mb"],
    }
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    load = result["load_avg_1m"]
    print(f"health benchmark: {result['events']:,} events, {result['file_mb']} MB, median of {result['repeats']}")
    print(f"load average (1 min): {load['before']} before, {load['after']} after, on {load['cpus']} CPUs")
    print(f"{'':16} {'wall s':>9} {'cpu s':>9} {'peak MB':>9} {'all procs MB':>13}")
    for name in ("drumgate", "drumgate serial", "pandas"):
        side = result[name]
        print(
            f"{name:16} {side['wall_s']:9.2f} {side['cpu_s']:9.2f} {side['peak_rss_mb']:9.1f} "
            f"{side['all_processes_peak_mb']:13.1f}"
        )
    print(
        f"speed-up: {result['wall_ratio']:.1f}x wall, {result['cpu_ratio']:.1f}x cpu (target >= 10x wall); "
        f"serial {result['serial_wall_ratio']:.1f}x wall; memory (all drumgate processes): "
        f"{result['memory_ratio']:.3f} of pandas (target <= 0.05)"
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
