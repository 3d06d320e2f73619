"""The workflows pass zizmor (offline, zero findings) and GitHub's workflow schema; actions are pinned."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[audit]')")
    return found


def test_the_four_workflows_exist() -> None:
    assert [f.name for f in FILES] == ["ci.yml", "ingest.yml", "pr-comment.yml", "pr-health.yml"]


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


def test_commenter_never_runs_pr_code() -> None:
    document = yaml.safe_load((WORKFLOWS / "pr-comment.yml").read_text(encoding="utf-8"))
    job = document["jobs"]["comment"]
    assert set(job["permissions"]) == {"actions", "contents", "pull-requests"}
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert "ref" not in step.get("with", {}), "checks out the default branch only"
            assert "repository" not in step.get("with", {})


def test_ingest_writes_only_in_a_publish_job_that_runs_no_hook() -> None:
    """The commit is made, checked by the hooks and reported on without write access; the one job
    that may push and comment only moves that commit and posts what was rendered, and a dry run
    never starts it."""
    jobs = yaml.safe_load((WORKFLOWS / "ingest.yml").read_text(encoding="utf-8"))["jobs"]
    writers = {name for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writers == {"publish"}
    publish = jobs["publish"]
    # decided by the dispatch input, not by an output the hooks' job could have written
    assert publish["if"] == "${{ !inputs.dry_run && needs.commit.outputs.changed == 'true' }}"
    commands = "\n".join(step.get("run", "") for step in publish["steps"])
    assert "needs.commit.outputs.branch" not in str(publish), "the branch name comes from the checked inputs"
    for forbidden in ("pre-commit", "pr-report", "repro", "ingest ", "pip install -e .[", "git commit"):
        assert forbidden not in commands, f"the publish job runs {forbidden!r}"
