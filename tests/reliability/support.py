"""Helpers shared by the reliability tests: tmp workspaces, the real CLI in a subprocess, tree digests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_ROOT, REALDATA

CORRUPT = REALDATA / "d_corrupt_edge_cases"
DATE = "2026-01-15"
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return f"$ drumgate {' '.join(self.argv)}\nexit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def make_workspace(root: Path) -> Path:
    """A workspace like a user's: the project's configs and licence notes, nothing else."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    shutil.copytree(PROJECT_ROOT / "data" / "licenses", root / "data" / "licenses")
    return root


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DRUMGATE_", "GITHUB_"))}
    env.pop("SOURCE_DATE_EPOCH", None)
    env.pop("PYTHONHASHSEED", None)
    env.update({"CI": "true", "LC_ALL": "C.UTF-8"})
    env.update(extra or {})
    return env


def drumgate_command(argv: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "drumgate.cli", *argv]


def run_drumgate(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    completed = subprocess.run(
        drumgate_command(argv), cwd=cwd, env=child_env(env), capture_output=True, text=True, timeout=timeout,
        errors="replace", check=False,
    )
    return Run(tuple(argv), completed.returncode, completed.stdout, completed.stderr)


def finding_lines(stderr: str, path: Path | str, root: Path) -> list[str]:
    """stderr lines shaped `path[:line]: reason` that name `path` (absolute, as given, or workspace-relative)."""
    target = Path(path)
    absolute = target if target.is_absolute() else root / target
    forms = {str(path), str(absolute), os.path.normpath(absolute)}
    try:
        forms.add(absolute.relative_to(root).as_posix())
        forms.add(Path(os.path.realpath(absolute)).relative_to(os.path.realpath(root)).as_posix())
    except ValueError:
        pass
    forms.add(os.path.realpath(absolute))
    parts = Path(os.path.relpath(absolute, root)).parts
    if parts[:2] == ("data", "raw") and len(parts) > 3:
        forms.add(Path(*parts[3:]).as_posix())
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    shape = re.compile(rf"^(?:{alternatives})(?::\d+)?: \S")
    return [line for line in stderr.splitlines() if shape.match(line)]


ARTIFACT_FOLDERS = ("data", "reports")
ROOT_ARTIFACTS = ("DATASET_READINESS_PLAN.md",)


def is_scratch(path: Path) -> bool:
    """Files that are not artifacts: a killed writer's temp file, a lock guard (both git-ignored)."""
    return path.name.endswith(".lck") or (path.name.startswith(".") and path.name.endswith(".tmp"))


def artifact_paths(root: Path) -> list[Path]:
    found = [root / name for name in ROOT_ARTIFACTS if (root / name).is_file()]
    for folder in ARTIFACT_FOLDERS:
        base = root / folder
        if base.is_dir():
            found += [path for path in base.rglob("*") if path.is_file() and not is_scratch(path)]
    raw = root / "data" / "raw"
    found = [path for path in found if raw not in path.parents]
    return sorted(found)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every artifact (data/ without raw inputs, reports/, the readiness plan) by relative path."""
    return {path.relative_to(root).as_posix(): sha256_of(path) for path in artifact_paths(root)}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scratch_files(root: Path) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix() for folder in ARTIFACT_FOLDERS if (root / folder).is_dir()
        for path in (root / folder).rglob("*") if path.is_file() and is_scratch(path)
    )


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def run_demo(out: Path, hash_seed: str, seed: int = 7) -> Run:
    """A whole demo; each run gets its own str-hash seed so set and dict orders differ between runs."""
    argv = ["demo", "--out", str(out), "--seed", str(seed), "--no-git"]
    return run_drumgate(argv, cwd=out.parent, env={"PYTHONHASHSEED": hash_seed}, timeout=900)


BASELINE_DATE = "2026-01-14"


def pipeline(date: str = DATE, baseline: str = BASELINE_DATE) -> list[tuple[str, ...]]:
    """Every stage of the demo's first day, in its order, plus a day-earlier baseline for the diff."""
    stamp = date.replace("-", "")
    stages: list[tuple[str, ...]] = [
        ("ingest", "egmd", "--date", date),
        ("checksums", "generate", "egmd"),
        ("checksums", "generate", "cambridge"),
        ("ingest", "cambridge", "--dry-run"),
        ("ingest", "cambridge"),
        ("events", "cambridge"),
        ("ingest", "musdb", "--date", date),
        ("checksums", "generate", "musdb_hq"),
        ("crash-map",),
    ]
    for dataset in ("egmd", "cambridge", "musdb_hq"):
        events = f"data/manifests/{dataset}_events.jsonl"
        stages.append(("health", "--events", events, "--date", date))
        stages.append(("weights", "--events", events, "--group-by", "session_id", "--scheme", "effective",
                       "--date", date))
    stages += [
        ("health", "--events", "data/manifests/musdb_hq_events.jsonl", "--date", baseline),
        ("compare", f"reports/health/cambridge_{stamp}.json", f"reports/health/musdb_hq_{stamp}.json"),
        ("diff", "--baseline", "auto", f"reports/health/musdb_hq_{stamp}.json"),
        ("combine", "--date", date),
        ("docs", "--date", date),
    ]
    return stages


def stage_id(argv: Sequence[str]) -> str:
    return " ".join(part for part in argv if not part.startswith(("data/", "reports/", "--date", "2026")))[:60]


def generate_raw_corpus(root: Path, seed: int) -> None:
    """The demo's seeded corpora in the datasets' real layouts under `root/data/raw/`."""
    from drumgate.fixtures.cambridge import make_cambridge_corpus
    from drumgate.fixtures.egmd import make_egmd_corpus
    from drumgate.fixtures.musdb import make_musdb_corpus

    raw = root / "data" / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    make_egmd_corpus(raw / "egmd", seed=seed)
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=seed)
    make_musdb_corpus(raw / "musdb_hq", seed=seed)


def tool_identity() -> str:
    """The commit-and-dirty identity provenance rows record for the tool (it moves when drumgate changes)."""
    from drumgate.lineage.provenance import ingest_commit

    ingest_commit.cache_clear()
    return ingest_commit()
