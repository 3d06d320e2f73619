"""The realistic pull request the PR tests share: two dataset groups change between base and head.

E-GMD gains two sessions, loses its rimshot articulation (so `min_technique_events[rimshot]`
flips to failing) and has a third of its ride hits relabelled crash; MUSDB18-HQ loses a session
and its licence note narrows redistribution. Cambridge does not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.fixtures.pr_repo import commit_all, init_repo, set_licence_field, write_dataset
from tests.workflow_runner import Artifacts, JobRun, run_pr_health

PROJECT_ROOT = Path(__file__).resolve().parent.parent
Row = dict[str, Any]


def relabel_head(rows: Iterable[Row]) -> Iterator[Row]:
    for index, row in enumerate(rows):
        row["techniques"] = [t for t in row["techniques"] if t != "rimshot"]
        if row["label"] == "ride" and index % 3 == 0:
            row.update(label="crash", labels=["crash", "crash"], variant="crash_1", techniques=[])
        yield row


def build(root: Path) -> tuple[str, str]:
    """Create the repository; returns (base sha, head sha)."""
    init_repo(root, PROJECT_ROOT)
    write_dataset(root, "egmd", 2400, 16)
    write_dataset(root, "musdb_hq", 1200, 8, seed=11)
    write_dataset(root, "cambridge", 900, 6, seed=5)
    base = commit_all(root, "base: three datasets")
    write_dataset(root, "egmd", 2700, 18, edit=relabel_head)
    write_dataset(root, "musdb_hq", 1050, 7, seed=11)
    set_licence_field(root, "musdb_hq", "redistribution", "no (internal training copies only)")
    head = commit_all(root, "head: re-ingest egmd and musdb_hq")
    return base, head


@dataclass(frozen=True)
class HealthJob:
    """pr-health.yml's `health` job run on the scenario: the commits, the runner's temp folder, the job."""

    base: str
    head: str
    temp: Path
    job: JobRun
    store: Artifacts


def run_health_job(folder: Path, pr_number: int, base: str | None = None) -> HealthJob:
    """The scenario built in `folder`, then pr-health.yml's job for a pull request to its head from its
    base (or from `base`, a commit that need not exist)."""
    built_base, head = build(folder / "checkout")
    temp = folder / "runner"
    temp.mkdir()
    store = Artifacts(folder / "artifact-store")
    job = run_pr_health(folder / "checkout", temp, store, base or built_base, head, pr_number)
    return HealthJob(built_base, head, temp, job, store)
