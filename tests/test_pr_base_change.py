"""A pull request moved to another base branch gets a new verdict; a title edit changes nothing.

pr-health.yml runs on `edited` too, because a new base changes every delta. The workflows' own
expressions (their `if:` and concurrency groups) are evaluated here as GitHub evaluates them
(`tests.workflow_runner.evaluate`), for the events a pull request sends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow_runner import EXPRESSION, evaluate, load_job, load_workflow

PR = {"github.event.pull_request.number": 7, "github.run_id": "900"}
BASE_CHANGED = {"github.event.changes.base": {"ref": {"from": "main"}, "sha": {"from": "a" * 40}}}
TITLE_CHANGED = {"github.event.changes.title": {"from": "old title"}}


def expanded(template: str, contexts: dict[str, Any]) -> str:
    """A workflow value with each `${{ }}` replaced by its value."""
    return EXPRESSION.sub(lambda match: str(evaluate(match.group(1), contexts) or ""), template)


def health_run(action: str, changes: dict[str, Any], run_id: str = "900") -> tuple[bool, str]:
    """(whether the health job runs, the run's concurrency group) for one pull_request event."""
    contexts = {**PR, "github.event.action": action, **changes, "github.run_id": run_id}
    group = expanded(load_workflow("pr-health.yml")["concurrency"]["group"], contexts)
    return bool(evaluate(load_job("pr-health.yml", "health")["if"], contexts)), group


def test_pr_health_runs_when_the_base_branch_changes_and_only_then_on_an_edit() -> None:
    assert "edited" in load_workflow("pr-health.yml")[True]["pull_request"]["types"]  # YAML 1.1 reads `on` as True
    for action in ("opened", "synchronize", "reopened"):
        assert health_run(action, {}) == (True, "pr-health-7-health")
    # a new base supersedes a run against the old one: the same group, so the older run is cancelled
    assert health_run("edited", BASE_CHANGED) == (True, "pr-health-7-health")
    runs, group = health_run("edited", TITLE_CHANGED)
    assert not runs
    # a title edit must not cancel the health run of a push made just before it
    assert group != health_run("synchronize", {})[1]
    assert group != health_run("edited", TITLE_CHANGED, run_id="901")[1]


@pytest.mark.parametrize("conclusion", ["success", "failure", "skipped", "cancelled"])
def test_a_skipped_health_run_posts_nothing_and_replaces_no_waiting_comment(conclusion: str) -> None:
    """A title edit's health run has only a skipped job, so it concludes `skipped`: neither the comment
    nor the withdrawal runs, and its comment run sits in a group of its own (with cancel-in-progress
    off, a new run in a group replaces the one waiting there). So does a cancelled run's."""
    contexts = {"github.event.workflow_run.event": "pull_request", "github.event.workflow_run.conclusion": conclusion,
                "github.event.workflow_run.head_repository.full_name": "fork/drums",
                "github.event.workflow_run.head_branch": "more-kicks", "github.run_id": "55"}
    workflow = load_workflow("pr-comment.yml")
    ran = {name: bool(evaluate(job["if"], contexts)) for name, job in workflow["jobs"].items()}
    assert ran == {name: conclusion == {"comment": "success"}.get(name, "failure") for name in workflow["jobs"]}
    group = expanded(workflow["concurrency"]["group"], contexts)
    shared = "pr-comment-fork/drums-more-kicks"
    assert group == (shared if conclusion in ("success", "failure") else f"{shared}-{conclusion}-55")
