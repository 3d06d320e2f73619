"""pr-report on a generated change touching three datasets, beside the peer it replaces: the
plain `git show` + `drumgate health` for each side (checkout-free, what a CI script would do).

Usage: python benchmarks/bench_pr_report.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drumgate.cli import pr_report
from drumgate.fixtures.pr_repo import commit_all, init_repo, write_dataset
from drumgate.io.jsonio import iter_jsonl

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATASETS = ("egmd", "musdb_hq", "cambridge")


def build(root: Path, events: int, sessions: int) -> None:
    init_repo(root, PROJECT_ROOT)
    for index, name in enumerate(DATASETS):
        write_dataset(root, name, events, sessions, seed=index)
    commit_all(root, "base")
    for index, name in enumerate(DATASETS):
        write_dataset(root, name, events + events // 10, sessions + 2, seed=index)
    commit_all(root, "head")


def time_pr_report(root: Path, out: Path) -> float:
    start = time.perf_counter()
    code = pr_report.main(["--workspace", str(root), "--base", "HEAD~1", "--head", "HEAD", "--out", str(out)])
    elapsed = time.perf_counter() - start
    assert code == 0
    return elapsed


def time_peer(root: Path, scratch: Path) -> float:
    """Materialise each manifest with `git show`, then compute health from the file, per side."""
    from drumgate.reports.gates import load_health_config
    from drumgate.reports.health import compute_health
    from drumgate.workspace import Workspace

    ws = Workspace(root)
    start = time.perf_counter()
    for rev in ("HEAD~1", "HEAD"):
        for name in DATASETS:
            target = scratch / f"{rev.replace('~', '_')}_{name}.jsonl"
            with target.open("wb") as handle:
                subprocess.run(
                    ["git", "show", f"{rev}:data/manifests/{name}_events.jsonl"], cwd=root, stdout=handle, check=True
                )
            compute_health(load_health_config(ws, name), iter_jsonl(target))
    return time.perf_counter() - start


def run(quick: bool) -> dict:
    events, sessions, repeats = (3_000, 30, 3) if quick else (60_000, 300, 5)
    with tempfile.TemporaryDirectory(prefix="bench-pr-") as folder:
        root = Path(folder) / "repo"
        build(root, events, sessions)
        ours = [time_pr_report(root, Path(folder) / f"out{i}") for i in range(repeats)]
        peer = [time_peer(root, Path(folder)) for _ in range(repeats)]
    figures = {
        "datasets": len(DATASETS),
        "events_per_dataset_side": events,
        "repeats": repeats,
        "pr_report_s": round(statistics.median(ours), 3),
        "peer_show_and_health_s": round(statistics.median(peer), 3),
    }
    figures["ratio"] = round(figures["pr_report_s"] / figures["peer_show_and_health_s"], 2)
    print(f"{'what':<44} {'median s':>9}")
    print(f"{'drumgate pr-report (health, diff, weights, comment)':<44} {figures['pr_report_s']:>9.3f}")
    print(f"{'peer: git show + compute_health only':<44} {figures['peer_show_and_health_s']:>9.3f}")
    print(f"ratio pr-report / peer: {figures['ratio']}  ({len(DATASETS)} datasets x {events:,} events per side)")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    sys.exit(0 if run(parser.parse_args().quick) else 1)
