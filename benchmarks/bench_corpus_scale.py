"""E-GMD at its full shape in git: partitioned manifests, a 1% change, health against DuckDB.

A MIDI-only corpus of E-GMD's shape (1,059 performances x 43 kits = 45,537 renders, `--quick`:
1/50 of the performances) is ingested with `--layout parts` in a git repository made by
`drumgate init`, regenerated (checksums, health, weights) and committed through its hooks. Then
1% of the performances change (their split moves); `drumgate repro egmd` is timed, the group's steps
run again, and the change is committed and reported (`drumgate pr-report HEAD~1..HEAD`). Reported
side by side in one run:

- the largest committed file and the E-GMD group's bytes on disk (targets: < 50 MB, < 150 MB);
- the bytes the 1% change rewrote, as a share of the group and of its manifests (target: < 5%);
- wall seconds of each step and of each commit's hooks, of `repro` and of `pr-report`;
- `drumgate health` on the folder against a hand-written DuckDB query over the same parts
  (class counts of render-hits: stored hits joined with their renders), and whether drumgate's
  report equals the report of the same corpus ingested as single files (`--layout file`).

`python -m benchmarks.bench_corpus_scale [--quick]` writes `reports/benchmarks/corpus_scale.json`
like `python -m benchmarks corpus_scale`.
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


def change_performances(csv_path: Path, share: float) -> int:
    """Move every `1/share`-th performance (in id order) to another split; returns how many moved."""
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


def class_query(folder: Path) -> str:
    return (f"select e.label, count(*) from read_ndjson('{folder}/*.jsonl.gz') e "
            f"join read_ndjson('{folder}/renders/*.jsonl.gz') r on e.item_id = r.events_item group by e.label")


def duckdb_classes(folder: Path) -> tuple[float, dict[str, int]]:
    """The hand-written query inside this (warm) interpreter, duckdb already imported."""
    import duckdb

    started = time.perf_counter()
    rows = duckdb.sql(class_query(folder)).fetchall()
    return time.perf_counter() - started, {label: n for label, n in rows}


def duckdb_classes_process(folder: Path) -> float:
    """The same query as a one-line script, started like `drumgate health` is (interpreter, import)."""
    script = f"import duckdb; duckdb.sql({class_query(folder)!r}).fetchall()"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    return time.perf_counter() - started


def _health(repo: Path, env: dict[str, str], argv: list[str], out: Path) -> tuple[float, dict[str, Any]]:
    seconds, done = _drumgate(["health", *argv, "--output", str(out), "--date", DATE], repo, env)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"health failed: {done.stderr[-400:]}")
    report = json.loads(out.read_text())
    report.pop("source")
    return seconds, report


REGENERATE = (
    ("checksums", "generate", "egmd", "--update"),
    ("health", "--events", "data/manifests/egmd_events", "--date", DATE),
    ("weights", "--events", "data/manifests/egmd_events", "--date", DATE),
)


def _regenerate(repo: Path, env: dict[str, str], ingest: list[str]) -> dict[str, float]:
    """The group's steps after raw data change, one by one (what `drumgate repro egmd` would run)."""
    seconds: dict[str, float] = {}
    for argv in (ingest, *REGENERATE):
        took, done = _drumgate(list(argv), repo, env)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-400:]}")
        seconds[argv[0]] = round(took, 2)
    return seconds


def _commit(repo: Path, message: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """`git add -A` and `git commit` through the installed hooks, with drumgate on the hooks' PATH."""
    _git(["add", "-A"], repo)
    started = time.perf_counter()
    done = subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, env=env, capture_output=True, text=True,
                          check=False)
    return time.perf_counter() - started, done


def _group_sizes(repo: Path) -> dict[str, int]:
    """The E-GMD group as committed: manifests, provenance, checksums, lock and reports."""
    sizes = _files(repo)
    for pattern in ("data/archives/checksums/egmd.sha256", "data/archives/checksums/egmd/*.sha256",
                    "data/locks/egmd.lock.json", "reports/health/egmd_*",
                    "reports/sampling/egmd_*"):
        for path in repo.glob(pattern):
            sizes[path.relative_to(repo).as_posix()] = path.stat().st_size
    return sizes


def _rewritten(before: dict[str, str], repo: Path, sizes: dict[str, int]) -> dict[str, int]:
    now = _digests_of(repo, sizes)
    return {name: sizes[name] for name in now if before.get(name) != now[name]}


def _digests_of(repo: Path, sizes: dict[str, int]) -> dict[str, str]:
    import hashlib

    return {name: hashlib.sha256((repo / name).read_bytes()).hexdigest() for name in sizes}


def _kind(name: str) -> str:
    if name.endswith(".jsonl.gz"):
        return "parts"
    if name.endswith("index.json") or "/index/" in name:
        return "index"
    return name.split("/")[1] if name.startswith("data/") else "reports"


def _mb_by_kind(sizes: dict[str, int]) -> dict[str, float]:
    totals: dict[str, int] = {}
    for name, size in sizes.items():
        totals[_kind(name)] = totals.get(_kind(name), 0) + size
    return {kind: round(total / 1e6, 3) for kind, total in sorted(totals.items())}


def _git_object_bytes(repo: Path) -> int:
    """Bytes of the repository's object store (loose objects as git wrote them, zlib-compressed)."""
    return sum(path.stat().st_size for path in (repo / ".git" / "objects").rglob("*") if path.is_file())


def _pr_report(repo: Path, env: dict[str, str], out: Path) -> tuple[float, int, list[str]]:
    seconds, done = _drumgate(["pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out)], repo, env)
    summary = out / "summary.json"
    listed = json.loads(summary.read_text()).get("datasets", []) if summary.is_file() else []
    # summary.json lists dataset names (version 3 on); older versions held one object per dataset
    datasets = [entry.get("dataset") if isinstance(entry, dict) else entry for entry in listed]
    return seconds, done.returncode, [str(name) for name in datasets]


PROJECT = Path(__file__).resolve().parent.parent


def code_snapshot(target: Path) -> Path:
    """drumgate's committed code outside any git checkout, as a wheel installs it: its provenance
    `ingest_commit` then stays put while others commit to this tree between the two ingests (which
    would rewrite every provenance part and measure that instead of the 1% change)."""
    import io
    import tarfile

    folders = ["drumgate", "checks", "ingest", ".github"]  # the packaged workflows link into .github
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", *folders], cwd=PROJECT, capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # our own HEAD, so trusted; the "data" filter where this Python has it (3.11.4 and newer)
        tar.extractall(target, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return target


def run(quick: bool) -> dict[str, Any]:
    from benchmarks.bench_egmd_scale import KITS, PERFORMANCES, make_corpus

    performances = PERFORMANCES // 50 if quick else PERFORMANCES
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_corpus_") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        make_corpus(raw, performances)
        repo = work / "repo"
        repo.mkdir()
        _git(["init", "-q", "-b", "main"], repo)
        _git(["config", "user.email", "bench@example.invalid"], repo)
        _git(["config", "user.name", "bench"], repo)
        env = dict(os.environ, CI="true", DRUMGATE_EGMD_ROOT=str(raw), SOURCE_DATE_EPOCH="1768435200")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONPATH"] = str(code_snapshot(work / "code"))
        _, made = _drumgate(["init", "--datasets", "egmd"], repo, env)
        if made.returncode != 0 or not (repo / ".git" / "hooks" / "pre-commit").is_file():
            raise RuntimeError(f"drumgate init did not install the hooks: {made.stderr[-400:]}")
        # the checksum manifest as parts at every size, as `--layout parts` does for the manifests
        # (--quick's 900 entries are below the default threshold of drumgate.checksums.parts)
        config = repo / "configs" / "datasets.toml"
        option = "partition_checksums = 0\npartition_renders = "
        config.write_text(config.read_text().replace("partition_renders = ", option, 1))
        ingest = ["ingest", "egmd", "--layout", "parts", "--jobs", "2", "--date", DATE]
        first_steps = _regenerate(repo, env, ingest)
        # the rest of the repository up to date (crash-map, combine, docs) before the baseline commit,
        # so the 1% change is measured against every artifact a team commits
        first_repro_s, first_repro = _drumgate(["repro", "egmd"], repo, env)
        commit_s, first_commit = _commit(repo, "Ingest E-GMD", env)
        sizes_before = _group_sizes(repo)
        before = _digests_of(repo, sizes_before)
        changed = change_performances(raw / "e-gmd-v1.0.0.csv", CHANGE_SHARE)
        repro_s, repro = _drumgate(["repro", "egmd"], repo, env)
        second_steps = _regenerate(repo, env, ingest)
        sizes = _group_sizes(repo)
        rewritten = _rewritten(before, repo, sizes)
        manifests = {name: size for name, size in sizes.items() if name.startswith(("data/manifests", "data/prov"))}
        rewritten_manifests = {name: size for name, size in rewritten.items() if name in manifests}
        indexes = sum(size for name, size in rewritten_manifests.items() if name.endswith("index.json"))
        objects_before = _git_object_bytes(repo)
        change_commit_s, change_commit = _commit(repo, "1% of performances change split", env)
        commit_object_bytes = _git_object_bytes(repo) - objects_before
        pr_s, pr_exit, pr_datasets = _pr_report(repo, env, work / "pr")
        folder = repo / "data" / "manifests" / "egmd_events"
        # cold: an empty memo folder (nothing remembered about the provenance's content); then warm
        memo_env = dict(env, DRUMGATE_CACHE_DIR=str(work / "memo"))
        health_cold_s, _ = _health(repo, memo_env, ["--events", "data/manifests/egmd_events"], work / "h0.json")
        health_s, parts_report = _health(repo, memo_env, ["--events", "data/manifests/egmd_events"], work / "h1.json")
        duck_s, duck_classes = duckdb_classes(folder)
        duck_process_s = duckdb_classes_process(folder)
        single = work / "single"
        for name in ("configs", "data/licenses"):
            shutil.copytree(repo / name, single / name)
        single_ingest_s, _ = _drumgate(["ingest", "egmd", "--layout", "file", "--jobs", "2", "--date", DATE],
                                       single, env)
        single_s, single_report = _health(single, env, ["--events", "data/manifests/egmd_events.jsonl"],
                                          work / "h2.json")
        single_mb = (single / "data" / "manifests" / "egmd_events.jsonl").stat().st_size / 1e6
    group = sum(sizes.values())
    manifest_bytes = sum(manifests.values())
    figures = {
        "performances": performances, "renders": performances * KITS, "changed_performances": changed,
        "committed_files": len(sizes), "largest_file_mb": round(max(sizes.values()) / 1e6, 3),
        "group_mb": round(group / 1e6, 2), "manifests_mb": round(manifest_bytes / 1e6, 2),
        "single_file_events_mb": round(single_mb, 1),
        "rewritten_files": len(rewritten), "rewritten_mb": round(sum(rewritten.values()) / 1e6, 3),
        "rewritten_share_of_group": round(sum(rewritten.values()) / group, 4),
        "rewritten_manifest_mb": round(sum(rewritten_manifests.values()) / 1e6, 3),
        "rewritten_share_of_manifests": round(sum(rewritten_manifests.values()) / manifest_bytes, 4),
        "rewritten_index_mb": round(indexes / 1e6, 3),
        "rewritten_mb_by_kind": _mb_by_kind(rewritten), "group_mb_by_kind": _mb_by_kind(sizes),
        "largest_file": max(sizes, key=lambda name: sizes[name]),
        "change_commit_git_object_mb": round(commit_object_bytes / 1e6, 3),
        "first_steps_s": first_steps, "change_steps_s": second_steps,
        "first_repro_s": round(first_repro_s, 1), "first_repro_exit": first_repro.returncode,
        "change_steps_total_s": round(sum(second_steps.values()), 1),
        "repro_egmd_s": round(repro_s, 1), "repro_egmd_exit": repro.returncode,
        "repro_egmd_stderr_tail": repro.stderr[-300:],
        "first_commit_hooks_s": round(commit_s, 1), "first_commit_exit": first_commit.returncode,
        "first_commit_output_tail": (first_commit.stdout + first_commit.stderr)[-300:],
        "change_commit_hooks_s": round(change_commit_s, 1), "change_commit_exit": change_commit.returncode,
        "change_commit_output_tail": (change_commit.stdout + change_commit.stderr)[-300:],
        "pr_report_s": round(pr_s, 1), "pr_report_exit": pr_exit, "pr_report_datasets": pr_datasets,
        "health_parts_s": round(health_s, 2), "health_parts_cold_s": round(health_cold_s, 2),
        "single_file_ingest_s": round(single_ingest_s, 1),
        "health_single_file_s": round(single_s, 2), "duckdb_class_query_s": round(duck_s, 2),
        "duckdb_class_query_process_s": round(duck_process_s, 2),
        "duckdb_classes_equal_health": duck_classes == parts_report["classes"],
        "health_equals_single_file": parts_report == single_report,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    for key, value in figures.items():
        print(f"{key:32} {value}")
    return figures


if __name__ == "__main__":
    from benchmarks.__main__ import main

    raise SystemExit(main(["corpus_scale", *sys.argv[1:]]))
