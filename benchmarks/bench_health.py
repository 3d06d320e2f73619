"""Benchmark: `drumgate health` (compute only) vs pandas.read_json(lines=True) + groupby counts.

Generates a seeded events manifest (2,000,000 rows; `quick`: 100,000), then runs each side in its
own subprocess, several times, and reads the child's wall time, CPU time and peak RSS from
`os.wait4` (the per-child form of getrusage(RUSAGE_CHILDREN)). Targets: health >= 10x faster
and <= 1/20 of pandas' peak memory. Run: `python -m benchmarks.bench_health [--quick]`.
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
from drumgate.jsonio import write_jsonl

ROOT = Path(__file__).resolve().parent.parent
FULL_EVENTS = 2_000_000
QUICK_EVENTS = 100_000

DRUMGATE_CHILD = """
import sys
from pathlib import Path
from drumgate.health import compute_health, read_events
from drumgate.workspace import Workspace
report = compute_health(Workspace(Path(sys.argv[1])), "egmd", read_events(sys.argv[2]))
print(report["totals"]["events"])
"""

PANDAS_CHILD = """
import sys
import pandas as pd
frame = pd.read_json(sys.argv[2], lines=True)
for column in ("label", "split", "session_id", "label_source", "velocity", "item_id"):
    frame.groupby(column, dropna=False).size()
print(len(frame))
"""


def _measure(code: str, workspace: Path, events: Path) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, str(workspace), str(events)], stdout=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({child.returncode})")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "rows": int(output.decode().strip()),
    }


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
    with tempfile.TemporaryDirectory(prefix="bench_health_") as tmp:
        workspace = Path(tmp)
        manifest = _prepare(workspace, events)
        size_mb = manifest.stat().st_size / 1e6
        drumgate_runs, pandas_runs = [], []
        for _ in range(repeats):
            drumgate_runs.append(_measure(DRUMGATE_CHILD, workspace, manifest))
            pandas_runs.append(_measure(PANDAS_CHILD, workspace, manifest))
    ours, theirs = _median(drumgate_runs), _median(pandas_runs)
    result = {
        "events": events,
        "file_mb": round(size_mb, 1),
        "repeats": repeats,
        "drumgate": ours,
        "pandas": theirs,
        "wall_ratio": theirs["wall_s"] / ours["wall_s"],
        "cpu_ratio": theirs["cpu_s"] / ours["cpu_s"],
        "memory_ratio": ours["peak_rss_mb"] / theirs["peak_rss_mb"],
    }
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    print(f"health benchmark: {result['events']:,} events, {result['file_mb']} MB, median of {result['repeats']}")
    print(f"{'':10} {'wall s':>9} {'cpu s':>9} {'peak MB':>9}")
    for name in ("drumgate", "pandas"):
        side = result[name]
        print(f"{name:10} {side['wall_s']:9.2f} {side['cpu_s']:9.2f} {side['peak_rss_mb']:9.1f}")
    print(
        f"speed-up: {result['wall_ratio']:.1f}x wall, {result['cpu_ratio']:.1f}x cpu (target >= 10x); "
        f"memory: {result['memory_ratio']:.3f} of pandas (target <= 0.05)"
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
