"""Crash safety: ingestion and report commands killed with SIGKILL at seeded random moments leave
every artifact either as it was before the run or exactly as a clean run writes it, never partial.

The trials replay stages of the second pass of `pipeline_walk` (seed-7 artifacts, seed-8 raw
corpus), so each stage has an old complete version and a different new one to tell apart. A
lineage lock gathers one entry per artifact, each recorded right after its artifact is written;
after a kill each of its entries must be the old or the new entry, and the lock must parse.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.fixtures.pr_repo import commit_all, init_repo, write_dataset
from tests.conftest import PROJECT_ROOT
from tests.reliability.conftest import StageRecord, Walk, workspace_env
from tests.reliability.support import (
    child_env,
    drumgate_command,
    is_scratch,
    run_drumgate,
    scratch_files,
    sha256_of,
    tool_identity,
    tree_digest,
)

SEED = 20260115
# Trials per stage family: the first stage of a family that writes something new gets them, except
# health and weights, which get them on each of their stages (one per dataset). `crash-map` and
# `diff` write the same bytes on the changed corpus (nothing to tell old from new), so they get none.
EVERY_STAGE = ("health", "weights")
TRIALS_PER_STAGE = {
    "ingest egmd": 3, "checksums generate": 2, "ingest cambridge": 2, "events cambridge": 2,
    "ingest musdb": 2, "health": 2, "weights": 1, "compare": 1, "combine": 3, "docs": 2,
}
KILL_WINDOW_S = (0.15, 0.9)


def family(argv: tuple[str, ...]) -> str:
    return " ".join(argv[:2]) if argv[0] in ("ingest", "events", "checksums") else argv[0]


@dataclass(frozen=True)
class Trial:
    number: int
    stage: StageRecord
    delay: float

    @property
    def label(self) -> str:
        return f"{self.number:02d}-{family(self.stage.argv).replace(' ', '-')}-{self.delay:.2f}s"


def plan_trials(records: list[StageRecord]) -> list[Trial]:
    """Seeded kill moments spread over each stage's own run time (start-up included)."""
    rng, trials, budget = random.Random(SEED), [], dict(TRIALS_PER_STAGE)
    low, high = KILL_WINDOW_S
    for record in records:
        if record.old == record.new:
            continue
        count = budget.get(family(record.argv), 0)
        if record.argv[0] not in EVERY_STAGE:
            budget[family(record.argv)] = 0
        for _ in range(count):
            trials.append(Trial(len(trials), record, rng.uniform(low, max(low * 2, record.seconds * high))))
    return trials


def prepare(record: StageRecord, workspace: Path, raw: Path) -> None:
    shutil.copytree(record.before, workspace)
    shutil.copytree(raw, workspace / "data" / "raw", copy_function=os.link)


def clean_reference(record: StageRecord, root: Path, walk: Walk) -> Path | None:
    """A clean run of the stage with the tool as it is now (drumgate changed since the walk); None
    when the changed tool cannot run the stage at all (someone is mid-edit: nothing to compare)."""
    workspace = root / f"reference-{record.index:02d}-{time.monotonic_ns()}"
    prepare(record, workspace, walk.raw)
    run = run_drumgate(record.argv, cwd=workspace, env=workspace_env(workspace, walk.cache))
    return workspace if run.code in (0, 1) else None


def run_killed(trial: Trial, workspace: Path, walk: Walk) -> bool:
    """Run the stage, SIGKILL it after the trial's delay; True when it was killed before finishing."""
    prepare(trial.stage, workspace, walk.raw)
    process = subprocess.Popen(
        drumgate_command(trial.stage.argv), cwd=workspace, env=child_env(workspace_env(workspace, walk.cache)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=trial.delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    return False


def lock_entries(root: Path, relative: str) -> dict[str, object]:
    path = root / relative
    return json.loads(path.read_bytes())["artifacts"] if path.is_file() else {}


def lock_is_torn(relative: str, old_root: Path, new_root: Path, after_root: Path) -> bool:
    try:
        after = lock_entries(after_root, relative)
    except (ValueError, KeyError, TypeError):
        return True
    old, new = lock_entries(old_root, relative), lock_entries(new_root, relative)
    return any(after.get(key) not in (old.get(key), new.get(key)) for key in old.keys() | new.keys() | after.keys())


def torn_artifacts(old_root: Path, new_root: Path, after_root: Path) -> list[str]:
    """Artifacts that are neither their old bytes (or absence) nor the clean run's bytes (or absence)."""
    old, new, after = tree_digest(old_root), tree_digest(new_root), tree_digest(after_root)
    torn = []
    for path in sorted(old.keys() | new.keys() | after.keys()):
        if after.get(path) in (old.get(path), new.get(path)):
            continue
        if path.startswith("data/locks/") and not lock_is_torn(path, old_root, new_root, after_root):
            continue
        torn.append(path)
    return torn


def test_every_stage_family_has_a_new_version_to_tear(pipeline_walk: Walk) -> None:
    changing = {family(record.argv) for record in pipeline_walk.records if record.old != record.new}
    assert set(TRIALS_PER_STAGE) <= changing


def test_sigkill_at_random_points_never_leaves_a_partial_artifact(pipeline_walk: Walk) -> None:
    trials = plan_trials(pipeline_walk.records)
    assert len(trials) >= 20
    root = pipeline_walk.base / "trials"
    root.mkdir(exist_ok=True)
    failures, killed, conclusive = [], 0, 0
    references: dict[tuple[int, str], Path | None] = {}
    for trial in trials:
        record, tool = trial.stage, tool_identity()
        new_root: Path | None = record.after
        if tool != record.tool:
            if (record.index, tool) not in references:
                references[record.index, tool] = clean_reference(record, root, pipeline_walk)
            new_root = references[record.index, tool]
        if new_root is None:
            continue
        workspace = root / trial.label
        was_killed = run_killed(trial, workspace, pipeline_walk)
        if tool_identity() != tool:
            continue
        conclusive += 1
        killed += was_killed
        torn = torn_artifacts(record.before, new_root, workspace)
        if torn:
            failures.append(f"{' '.join(record.argv)} killed after {trial.delay:.2f}s: {torn} (see {workspace})")
        leftovers = [name for name in scratch_files(workspace) if not name.endswith((".tmp", ".lck"))]
        assert not leftovers, leftovers
    assert not failures, "\n".join(failures)
    if conclusive < 20:
        pytest.skip(f"drumgate's own code changed during {len(trials) - conclusive} trials; too few to judge")
    assert killed >= 1, f"none of {conclusive} runs was killed before it finished"


def folder_digest(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): sha256_of(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and not is_scratch(path)}


@pytest.fixture(scope="module")
def pr_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, float, str]:
    """A repository whose last commits touch three datasets; the comment between base and the
    middle commit is the "old" output folder, the one between base and head the "new"."""
    base = tmp_path_factory.mktemp("pr-crash")
    tool = tool_identity()
    repo = init_repo(base / "repo", PROJECT_ROOT)
    for dataset in ("egmd", "cambridge", "musdb_hq"):
        write_dataset(repo, dataset, 600, 6, seed=1)
    commit_all(repo, "base")
    for seed, message in ((2, "middle"), (3, "head")):
        for dataset in ("egmd", "cambridge", "musdb_hq"):
            write_dataset(repo, dataset, 600 + seed * 50, 6 + seed, seed=seed)
        commit_all(repo, message)
    old, new = base / "old", base / "new"
    assert run_drumgate(pr_argv(repo, "HEAD~1", old), cwd=repo).code in (0, 1)
    started = time.perf_counter()
    run = run_drumgate(pr_argv(repo, "HEAD", new), cwd=repo)
    assert run.code in (0, 1), run.describe()
    return repo, old, new, time.perf_counter() - started, tool


def pr_argv(repo: Path, head: str, out: Path) -> list[str]:
    return ["pr-report", "--workspace", str(repo), "--base", "HEAD~2", "--head", head, "--out", str(out)]


def test_sigkilled_pr_report_leaves_the_old_or_the_new_comment(
    pr_repo: tuple[Path, Path, Path, float, str],
) -> None:
    repo, old_out, new_out, seconds, tool = pr_repo
    old, new = folder_digest(old_out), folder_digest(new_out)
    assert old["comment.md"] != new["comment.md"]
    rng, torn = random.Random(SEED + 1), []
    for trial in range(PR_REPORT_TRIALS):
        out = old_out.parent / f"trial-{trial}"
        shutil.copytree(old_out, out)
        process = subprocess.Popen(drumgate_command(pr_argv(repo, "HEAD", out)), cwd=repo, env=child_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=rng.uniform(0.15, seconds * 1.05))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        after = folder_digest(out)
        torn += [f"trial {trial}: {path}" for path in sorted(old.keys() | new.keys() | after.keys())
                 if after.get(path) not in (old.get(path), new.get(path))]
    if torn and tool_identity() != tool:
        pytest.skip("drumgate's own code changed while the test ran")
    assert not torn, torn


PR_REPORT_TRIALS = 4
