"""Run pr-hooks.yml's own `run:` steps (read from the YAML) on a pull request's head, as a runner would.

The repository is a real data repository (`drumgate init --datasets egmd`, a seeded E-GMD corpus
ingested and committed through the hooks init installs). Each pull request is one head commit on a
copy of it; the job runs in a fresh clone checked out at that head (the checkout, Python and install
steps are skipped: drumgate and pre-commit are the ones running the tests). A gate change made the
way the hooks ask (`drumgate repro`) passes; the same change committed with `--no-verify`, or a
manifest row the schema refuses, fails the job with the hook's own finding in its output.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.data_repo_support import commit_refused, committed_egmd_repo, copied_repo, drumgate, git
from tests.test_checksums_parts_hooks import regenerate
from tests.workflow_runner import JobRun, run_job

PR_NUMBER = 23
EVENTS = "data/manifests/egmd_events.jsonl"
CONFIG = "configs/datasets.toml"
STEPS = ("Run the repository's hooks on every file", "Check every artifact group is fresh")


@dataclass(frozen=True)
class HooksRun:
    job: JobRun

    @property
    def hooks(self) -> subprocess.CompletedProcess[str]:
        return self.job.results[0]

    @property
    def freshness(self) -> subprocess.CompletedProcess[str]:
        return self.job.results[1]


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default branch: an E-GMD group ingested, checked and committed through the hooks."""
    return committed_egmd_repo(tmp_path_factory.mktemp("base"), regenerate, "Ingest E-GMD")


@pytest.fixture
def author(base_repo: Path, tmp_path: Path) -> Path:
    """The pull request author's copy (raw corpus and installed hooks included)."""
    return copied_repo(base_repo, tmp_path)


def run_hooks_job(author: Path, tmp_path: Path) -> HooksRun:
    """pr-hooks.yml's `hooks` job on a fresh clone of `author` checked out at its head, as actions/checkout
    gives it: tracked files only, no raw corpus, no installed hooks."""
    head = git(author, "rev-parse", "HEAD").stdout.strip()
    work = tmp_path / "runner" / "work"
    assert git(tmp_path, "clone", "-q", str(author), str(work)).returncode == 0
    assert git(work, "checkout", "-q", "--detach", head).returncode == 0
    temp = tmp_path / "runner" / "temp"
    temp.mkdir()
    contexts = {"github.event.pull_request.head.sha": head, "github.event.pull_request.number": str(PR_NUMBER)}
    extra = {"GITHUB_EVENT_NAME": "pull_request", "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
             "DRUMGATE_CACHE_DIR": os.environ["DRUMGATE_CACHE_DIR"]}
    job = run_job("pr-hooks.yml", "hooks", work, temp, contexts, extra)
    assert len(job.results) == len(STEPS), "both checks run, the second also after the first failed"
    return HooksRun(job)


def change_gate(repo: Path) -> None:
    config = repo / CONFIG
    text = config.read_text(encoding="utf-8")
    assert "min_sessions = 2\n" in text
    config.write_text(text.replace("min_sessions = 2\n", "min_sessions = 3\n", 1), encoding="utf-8")


def test_a_change_made_the_way_the_hooks_ask_passes(author: Path, tmp_path: Path) -> None:
    change_gate(author)
    assert drumgate(author, "repro", "egmd").returncode in (0, 1)  # 1: a gate fails, which is the PR's news
    assert git(author, "add", "-A").returncode == 0
    committed = git(author, "commit", "-q", "-m", "Raise the E-GMD session gate")  # through the hooks
    assert committed.returncode == 0, committed.stdout + committed.stderr

    ran = run_hooks_job(author, tmp_path)
    assert ran.job.ok, ran.job.failure()
    assert "drumgate: artifacts match configs/schemas" in ran.hooks.stdout
    assert "Failed" not in ran.hooks.stdout
    assert "the whole workspace checked, 0 findings" in ran.freshness.stdout


def test_a_stale_group_committed_with_no_verify_fails_the_job(author: Path, tmp_path: Path) -> None:
    change_gate(author)
    refused = commit_refused(author, "Raise the gate, skip repro", author / CONFIG)
    assert "drumgate repro egmd" in refused
    assert git(author, "commit", "-q", "--no-verify", "-m", "Raise the gate, skip repro").returncode == 0

    ran = run_hooks_job(author, tmp_path)
    assert not ran.job.ok
    # every file's hooks pass (nothing is staged in a checkout), so only `freshness --all` can see it
    assert ran.hooks.returncode == 0, ran.hooks.stdout
    assert ran.freshness.returncode == 1
    assert (f"{CONFIG}: changed: 4 artifacts of egmd to regenerate (run: drumgate repro egmd, then git add -A)"
            in ran.freshness.stderr)


def test_a_row_the_schema_refuses_committed_with_no_verify_fails_the_job(author: Path, tmp_path: Path) -> None:
    manifest = author / EVENTS
    lines = manifest.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[-1]) | {"onset_s": -1.0}
    row["event_id"] += "-edited"
    manifest.write_text("\n".join([*lines, json.dumps(row, separators=(",", ":"))]) + "\n", encoding="utf-8")
    assert "is less than the minimum of 0" in commit_refused(author, "One more hit", manifest)
    assert git(author, "commit", "-q", "--no-verify", "-m", "One more hit").returncode == 0

    ran = run_hooks_job(author, tmp_path)
    assert not ran.job.ok
    assert ran.hooks.returncode == 1
    assert "drumgate: artifacts match configs/schemas" in ran.hooks.stdout
    assert "- hook id: drumgate-schema" in ran.hooks.stdout
    assert f"{EVENTS}:{len(lines) + 1}: $.onset_s: -1.0 is less than the minimum of 0" in ran.hooks.stdout
    assert ran.freshness.returncode == 1
    assert f"{EVENTS}: edited by hand" in ran.freshness.stderr


def test_a_repository_without_hooks_config_still_gets_the_freshness_check(author: Path, tmp_path: Path) -> None:
    assert git(author, "rm", "-q", ".pre-commit-config.yaml").returncode == 0
    assert git(author, "commit", "-q", "--no-verify", "-m", "No hooks").returncode == 0

    ran = run_hooks_job(author, tmp_path)
    assert ran.job.ok, ran.job.failure()
    assert ran.hooks.stdout == "No .pre-commit-config.yaml: no hooks to run.\n"
    assert "the whole workspace checked, 0 findings" in ran.freshness.stdout
