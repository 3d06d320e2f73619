"""When PR health fails for a new head, the sticky comment stops showing the old head's verdict.

pr-health.yml's steps run on a pull request whose base commit does not exist, so `drumgate
pr-report` fails; its `failure()` steps then upload only the PR number and head. pr-comment.yml's
`withdraw` job (on a failed run) replaces an earlier sticky comment with a not-merge-safe notice
written by default-branch code, never starts a comment, and refuses a forged number as the comment
job does.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import pr_scenario
from tests.workflow_runner import Artifacts, FakeGitHub, run_steps, serve_github

PR_NUMBER = 23
TOKEN = "ghs_loopback_token"
HEALTH_RUN_ID = "5151"
MARKER = "<!-- drumgate:health-delta -->"
EARLIER = {"id": 7, "body": f"{MARKER}\n✅ **Merge-safe**", "user": {"login": "github-actions[bot]", "type": "Bot"}}


@dataclass(frozen=True)
class FailedRun:
    head: str
    results: list[subprocess.CompletedProcess[str]]
    store: Artifacts


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    # a base commit not in the repository: pr-report fails
    ran = pr_scenario.run_health_job(tmp_path_factory.mktemp("failed-health"), PR_NUMBER, base="f" * 40)
    return FailedRun(ran.head, ran.job.results, ran.store)


@pytest.fixture
def github(failed_run: FailedRun) -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(TOKEN, PR_NUMBER, head_sha=failed_run.head, comments=[EARLIER])
    with serve_github(fake) as api:
        yield fake, api


def withdraw(tmp_path: Path, failed_run: FailedRun, api: str, replace: dict[str, str] | None = None
             ) -> list[subprocess.CompletedProcess[str]]:
    temp = tmp_path / "runner-withdraw"
    shutil.copytree(failed_run.store.store / "drumgate-health-failed", temp / "drumgate-failed")
    for name, content in (replace or {}).items():
        (temp / "drumgate-failed" / name).write_text(content, encoding="utf-8")
    contexts = {"github.token": TOKEN, "github.event.workflow_run.head_sha": failed_run.head,
                "github.event.workflow_run.id": HEALTH_RUN_ID}
    extra = {"GITHUB_API_URL": api, "GITHUB_EVENT_NAME": "workflow_run"}
    return run_steps("pr-comment.yml", "withdraw", tmp_path, temp, contexts, extra)


def test_a_failed_report_uploads_only_the_pr_number_and_head(failed_run: FailedRun) -> None:
    assert failed_run.results[0].returncode != 0, "pr-report fails on a base that does not exist"
    assert "drumgate-health" not in failed_run.store.uploaded, "no data from a failed report"
    assert failed_run.store.uploaded["drumgate-health-failed"] == ["head-sha.txt", "pr-number.txt"]
    folder = failed_run.store.store / "drumgate-health-failed"
    assert (folder / "pr-number.txt").read_text(encoding="utf-8") == f"{PR_NUMBER}\n"


def test_the_earlier_verdict_is_replaced_by_a_not_merge_safe_notice(failed_run: FailedRun, github, tmp_path: Path
                                                                   ) -> None:
    fake, api = github
    results = withdraw(tmp_path, failed_run, api)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    [comment] = fake.bot_comments()
    assert comment["id"] == EARLIER["id"], "updated in place"
    assert comment["body"].startswith(f"{MARKER}\n❗ **Not merge-safe: dataset health could not be computed**")
    assert f"`{failed_run.head[:12]}`" in comment["body"] and "✅" not in comment["body"], "the old verdict is gone"
    assert f"https://github.invalid/acme/drums/actions/runs/{HEALTH_RUN_ID}" in comment["body"]


def test_no_comment_is_started_for_a_failed_report(failed_run: FailedRun, tmp_path: Path) -> None:
    fake = FakeGitHub(TOKEN, PR_NUMBER, head_sha=failed_run.head)
    with serve_github(fake) as api:
        results = withdraw(tmp_path, failed_run, api)
    assert results[-1].returncode == 0, results[-1].stderr
    assert fake.comments == []


def test_a_forged_number_is_refused(failed_run: FailedRun, github, tmp_path: Path) -> None:
    fake, api = github
    results = withdraw(tmp_path, failed_run, api, {"pr-number.txt": "23; rm -rf ~\n"})
    assert results[-1].returncode != 0 and "not a pull request number" in results[-1].stdout
    assert not fake.requests
