"""E-GMD at its full shape in git: partitioned manifests, a 1% change, health against DuckDB.

A MIDI-only corpus of E-GMD's shape (1,059 performances x 43 kits = 45,537 renders, `--quick`:
1/50 of the performances) is ingested with `--layout parts` in a git repository made by
`drumgate init`, and committed through its hooks. Then 1% of the performances change (their
split moves) and the ingest and commit run again. Reported side by side in one run:

- the largest committed file and the E-GMD group's bytes on disk (targets: < 50 MB, < 150 MB);
- the bytes the 1% change rewrote, as a share of the group (target: < 5%);
- wall seconds of the ingests and of each commit's hooks;
- `drumgate health` on the folder against a hand-written DuckDB query over the same parts
  (class counts of render-hits: stored hits joined with their renders), and whether drumgate's
  report equals the report of the same corpus ingested as single files (`--layout file`).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_egmd_scale import KITS, PERFORMANCES, make_corpus

DATE = "2026-01-15"
CHANGE_SHARE = 0.01


def _drumgate(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "drumgate.cli", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    return time.perf_counter() - started, done


def _git(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done


def _files(repo: Path) -> dict[str, int]:
    sizes = {}
    for folder in ("data/manifests", "data/provenance"):
        for path in (repo / folder).rglob("*"):
            if path.is_file():
                sizes[path.relative_to(repo).as_posix()] = path.stat().st_size
    return sizes


def _digests(repo: Path) -> dict[str, str]:
    import hashlib

    return {name: hashlib.sha256((repo / name).read_bytes()).hexdigest() for name in _files(repo)}


def change_performances(csv_path: Path, share: float) -> int:
    rows = list(csv.DictReader(csv_path.open(newline="")))
    ids = sorted({row["id"] for row in rows})
    step = max(1, round(1 / share))
    chosen = set(ids[::step])
    for row in rows:
        if row["id"] in chosen:
            row["split"] = "test" if row["split"] != "test" else "train"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(chosen)


def duckdb_classes(folder: Path) -> tuple[float, dict[str, int]]:
    import duckdb

    started = time.perf_counter()
    rows = duckdb.sql(
        f"select e.label, count(*) from read_ndjson('{folder}/*.jsonl.gz') e "
        f"join read_ndjson('{folder}/renders/*.jsonl.gz') r on e.item_id = r.events_item group by e.label"
    ).fetchall()
    return time.perf_counter() - started, {label: n for label, n in rows}


def _health(repo: Path, env: dict[str, str], argv: list[str], out: Path) -> tuple[float, dict[str, Any]]:
    seconds, done = _drumgate(["health", *argv, "--output", str(out), "--date", DATE], repo, env)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"health failed: {done.stderr[-400:]}")
    report = json.loads(out.read_text())
    report.pop("source")
    return seconds, report


def run(quick: bool) -> dict[str, Any]:
    performances = PERFORMANCES // 50 if quick else PERFORMANCES
    with tempfile.TemporaryDirectory(prefix="bench_corpus_") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        make_corpus(raw, performances)
        repo = work / "repo"
        repo.mkdir()
        _git(["init", "-q"], repo)
        _git(["config", "user.email", "bench@example.invalid"], repo)
        _git(["config", "user.name", "bench"], repo)
        env = dict(os.environ, CI="true", DRUMGATE_EGMD_ROOT=str(raw), SOURCE_DATE_EPOCH="1768435200")
        _drumgate(["init", "--datasets", "egmd"], repo, env)
        ingest = ["ingest", "egmd", "--layout", "parts", "--jobs", "2", "--date", DATE]
        first_s, done = _drumgate(ingest, repo, env)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"ingest failed: {done.stderr[-400:]}")
        _git(["add", "-A"], repo)
        commit_s, first_commit = _git(["commit", "-q", "-m", "Ingest E-GMD"], repo)
        before = _digests(repo)
        changed = change_performances(raw / "e-gmd-v1.0.0.csv", CHANGE_SHARE)
        second_s, done = _drumgate(ingest, repo, env)
        after = _digests(repo)
        sizes = _files(repo)
        rewritten = sum(sizes[name] for name in after if before.get(name) != after[name])
        _git(["add", "-A"], repo)
        change_commit_s, change_commit = _git(["commit", "-q", "-m", "1% of performances change split"], repo)
        folder = repo / "data" / "manifests" / "egmd_events"
        health_s, parts_report = _health(repo, env, ["--events", "data/manifests/egmd_events"], work / "h1.json")
        duck_s, duck_classes = duckdb_classes(folder)
        single = work / "single"
        for name in ("configs", "data/licenses"):
            shutil.copytree(repo / name, single / name)
        _drumgate(["ingest", "egmd", "--layout", "file", "--jobs", "2", "--date", DATE], single, env)
        single_s, single_report = _health(single, env, ["--events", "data/manifests/egmd_events.jsonl"],
                                          work / "h2.json")
        single_mb = (single / "data" / "manifests" / "egmd_events.jsonl").stat().st_size / 1e6
    group = sum(sizes.values())
    figures = {
        "performances": performances, "renders": performances * KITS, "changed_performances": changed,
        "committed_files": len(sizes), "largest_file_mb": round(max(sizes.values()) / 1e6, 3),
        "group_mb": round(group / 1e6, 2), "single_file_events_mb": round(single_mb, 1),
        "rewritten_mb": round(rewritten / 1e6, 3), "rewritten_share": round(rewritten / group, 4),
        "ingest_s": round(first_s, 1), "reingest_s": round(second_s, 1),
        "first_commit_hooks_s": round(commit_s, 1), "first_commit_exit": first_commit.returncode,
        "change_commit_hooks_s": round(change_commit_s, 1), "change_commit_exit": change_commit.returncode,
        "change_commit_stderr_tail": change_commit.stderr[-300:],
        "health_parts_s": round(health_s, 2), "health_single_file_s": round(single_s, 2),
        "duckdb_class_query_s": round(duck_s, 2),
        "duckdb_classes_equal_health": duck_classes == parts_report["classes"],
        "health_equals_single_file": parts_report == single_report,
    }
    for key, value in figures.items():
        print(f"{key:32} {value}")
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
