"""The workflows pass zizmor (offline, zero findings) and GitHub's workflow schema; actions are pinned."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drumgate.workspace import DEFAULTS

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[audit]')")
    return found


def test_the_five_workflows_exist() -> None:
    assert [f.name for f in FILES] == ["ci.yml", "ingest.yml", "pr-comment.yml", "pr-health.yml", "pr-hooks.yml"]


def test_the_shipped_workflows_are_this_repositorys_own() -> None:
    """What `drumgate init` writes is what this repository runs (and what the tests run)."""
    shipped = sorted((DEFAULTS / "workflows").glob("*.yml"))
    assert [f.name for f in shipped] == ["ingest.yml", "pr-comment.yml", "pr-health.yml", "pr-hooks.yml"]
    for path in shipped:
        assert path.read_bytes() == (WORKFLOWS / path.name).read_bytes(), path.name


def test_zizmor_offline_has_zero_findings() -> None:
    done = subprocess.run([tool("zizmor"), "--offline", str(WORKFLOWS)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_workflows_match_the_github_schema() -> None:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege_pins_and_limits(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    assert document["permissions"] == {}, "top-level permissions: {}"
    assert "concurrency" in document
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"{name}: permissions per job"
        assert "timeout-minutes" in job, f"{name}: timeout-minutes"
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
            if "run" in step:
                assert "${{" not in step["run"], f"{name}: untrusted context only through env:"
    for line in text.splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"version comment: {line.strip()}"


def test_each_action_is_pinned_to_one_commit_in_every_workflow() -> None:
    pins: dict[str, set[str]] = {}
    for path in FILES:
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    action, _, commit = step["uses"].partition("@")
                    pins.setdefault(action, set()).add(commit)
    assert {"actions/checkout", "actions/setup-python"} <= set(pins)
    assert {action: commits for action, commits in pins.items() if len(commits) > 1} == {}


def test_commenter_never_runs_pr_code() -> None:
    document = yaml.safe_load((WORKFLOWS / "pr-comment.yml").read_text(encoding="utf-8"))
    job = document["jobs"]["comment"]
    assert set(job["permissions"]) == {"actions", "contents", "pull-requests"}
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert "ref" not in step.get("with", {}), "checks out the default branch only"
            assert "repository" not in step.get("with", {})


def test_the_hooks_run_apart_from_pr_health_installed_by_the_same_line() -> None:
    """A hook finding must not make pr-comment.yml withdraw the health verdict (it does so when the
    "PR health" run fails), and `init --install-spec` must re-pin the hooks job as it does the rest."""
    comment = yaml.safe_load((WORKFLOWS / "pr-comment.yml").read_text(encoding="utf-8"))
    health = yaml.safe_load((WORKFLOWS / "pr-health.yml").read_text(encoding="utf-8"))
    hooks = yaml.safe_load((WORKFLOWS / "pr-hooks.yml").read_text(encoding="utf-8"))
    assert comment[True]["workflow_run"]["workflows"] == [health["name"]]  # YAML 1.1 reads `on` as True
    assert hooks["name"] != health["name"]
    assert hooks[True] == {"pull_request": {"types": ["opened", "synchronize", "reopened"]}}
    assert hooks["concurrency"] == {"group": "pr-hooks-${{ github.event.pull_request.number }}",
                                    "cancel-in-progress": True}
    (job,) = hooks["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    checkout = job["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"

    def install(document: dict) -> list[str]:
        return [step["run"] for jobs in document["jobs"].values() for step in jobs["steps"]
                if step.get("name") == "Install drumgate"]

    assert install(hooks) == install(health) == ["python -m pip install --disable-pip-version-check -e ."]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pre-commit run --all-files --show-diff-on-failure" in runs
    assert "drumgate hook freshness --all" in runs


def test_ingest_writes_only_in_a_publish_job_that_runs_no_hook() -> None:
    """The commit is made, checked by the hooks and reported on without write access; the one job
    that may push and comment only moves that commit and posts the comment it renders from that
    report's data (no Markdown from the job that ran the hooks), and a dry run never starts it."""
    jobs = yaml.safe_load((WORKFLOWS / "ingest.yml").read_text(encoding="utf-8"))["jobs"]
    writers = {name for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writers == {"publish"}
    publish = jobs["publish"]
    # decided by the dispatch input, not by an output the hooks' job could have written
    assert publish["if"] == "${{ !inputs.dry_run && needs.commit.outputs.changed == 'true' }}"
    commands = "\n".join(step.get("run", "") for step in publish["steps"])
    assert "needs.commit.outputs.branch" not in str(publish), "the branch name comes from the checked inputs"
    rendering = [line.strip() for line in commands.splitlines() if "pr-report" in line]
    assert rendering == ['drumgate pr-report --from-summary "$RUNNER_TEMP/pull-request/summary.json" \\'], rendering
    assert '--body-file "$RUNNER_TEMP/drumgate-comment/comment.md"' in commands, "posts its own rendering"
    assert "pull-request/comment.md" not in commands
    for forbidden in ("pre-commit", "repro", "ingest ", "pip install -e .[", "git commit"):
        assert forbidden not in commands, f"the publish job runs {forbidden!r}"


def test_a_hung_health_report_fails_its_step_so_the_old_verdict_is_withdrawn() -> None:
    """A job over its `timeout-minutes` is cancelled, and a cancelled run withdraws nothing; the report's
    step has a shorter limit of its own, so a hang fails the step and the `failure()` steps run."""
    health = yaml.safe_load((WORKFLOWS / "pr-health.yml").read_text(encoding="utf-8"))
    job = health["jobs"]["health"]
    [report] = [step for step in job["steps"] if "drumgate pr-report" in step.get("run", "")]
    assert report["timeout-minutes"] < job["timeout-minutes"]
    later = job["steps"][job["steps"].index(report) + 1:]
    assert any(step.get("if") == "${{ failure() }}" and step.get("with", {}).get("name") == "drumgate-health-failed"
               for step in later)
