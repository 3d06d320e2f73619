"""Run a workflow job's own `run:` steps (read from the YAML) the way a GitHub runner would.

Expressions are substituted from a `contexts` dict (an unknown one fails the test), each step runs
in `bash --noprofile --norc -eo pipefail` with the `GITHUB_*` environment a runner gives, step
outputs become `steps.<id>.outputs.*` and job outputs are resolved from them. `uses:` steps are
handed to a callback (the artifact actions are simulated by `Artifacts`), the install step is
skipped (drumgate is already installed in the interpreter running the tests).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
REPO = "acme/drums"
SKIPPED_STEPS = frozenset({"Install drumgate"})
UsesHandler = Callable[[dict[str, Any], dict[str, str], Path], None]


def load_workflow(workflow: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / workflow).read_text(encoding="utf-8"))


def load_job(workflow: str, job: str) -> dict[str, Any]:
    return load_workflow(workflow)["jobs"][job]


def load_steps(workflow: str, job: str) -> list[dict[str, Any]]:
    return load_job(workflow, job)["steps"]


def substitute(text: str, contexts: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in contexts, f"the test runner does not know ${{{{ {expression} }}}}"
        return contexts[expression]

    return EXPRESSION.sub(value, text)


def runner_env(
    workspace: Path, temp: Path, extra: dict[str, str], bin_dirs: Sequence[Path] = ()
) -> dict[str, str]:
    for name in ("summary", "output", "env", "path"):
        (temp / f"github_{name}").write_text("", encoding="utf-8")
    path = os.pathsep.join([*map(str, bin_dirs), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {
        "PATH": path,
        "HOME": os.environ.get("HOME", str(temp)),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.invalid",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(temp / "github_summary"),
        "GITHUB_OUTPUT": str(temp / "github_output"),
        "GITHUB_ENV": str(temp / "github_env"),
        "GITHUB_PATH": str(temp / "github_path"),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        **extra,
    }


@dataclass
class JobRun:
    results: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    contexts: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.returncode == 0 for r in self.results)

    def failure(self) -> str:
        return "\n".join(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}" for r in self.results if r.returncode)


CONDITION = re.compile(r"^(\S+) (==|!=) '([^']*)'$")


def condition_holds(condition: Any, contexts: dict[str, str]) -> bool:
    """The step `if:` forms the workflows use: `always()` and `<context> ==|!= '<literal>'`."""
    if condition is None:
        return True
    text = str(condition).strip()
    match = EXPRESSION.fullmatch(text)
    text = match.group(1) if match else text
    if text == "always()":
        return True
    parsed = CONDITION.match(text)
    assert parsed, f"the test runner cannot evaluate if: {condition}"
    left, operator, literal = parsed.groups()
    return (contexts.get(left, "") == literal) == (operator == "==")


def skip_uses(step: dict[str, Any], inputs: dict[str, str], workspace: Path) -> None:
    return


def run_job(
    workflow: str,
    job: str,
    workspace: Path,
    temp: Path,
    contexts: dict[str, str],
    extra: dict[str, str],
    *,
    on_uses: UsesHandler = skip_uses,
    bin_dirs: Sequence[Path] = (),
) -> JobRun:
    """Run the job's steps in order; stop at the first failing step."""
    spec = load_job(workflow, job)
    env = runner_env(workspace, temp, extra, bin_dirs)
    run = JobRun(contexts={"runner.temp": str(temp), **contexts})
    for step in spec["steps"]:
        if step.get("name") in SKIPPED_STEPS or not condition_holds(step.get("if"), run.contexts):
            continue
        if "uses" in step:
            if on_uses is skip_uses:
                continue
            inputs = {key: substitute(str(value), run.contexts) for key, value in (step.get("with") or {}).items()}
            on_uses(step, inputs, workspace)
            continue
        step_env = {key: substitute(str(value), run.contexts) for key, value in (step.get("env") or {}).items()}
        Path(env["GITHUB_OUTPUT"]).write_text("", encoding="utf-8")
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", substitute(step["run"], run.contexts)],
            cwd=workspace,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            check=False,
        )
        run.results.append(result)
        if result.returncode != 0:
            return run
        if "id" in step:
            for line in Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                run.contexts[f"steps.{step['id']}.outputs.{key}"] = value
    run.outputs = {key: substitute(str(value), run.contexts) for key, value in (spec.get("outputs") or {}).items()}
    return run


def run_steps(
    workflow: str, job: str, workspace: Path, temp: Path, contexts: dict[str, str], extra: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """The results of `run_job`, `uses:` steps skipped."""
    return run_job(workflow, job, workspace, temp, contexts, extra).results


# Artifacts ----------------------------------------------------------------------------------------
def _search_root(pattern: str) -> str:
    """The part of a path pattern before its first wildcard segment (actions/upload-artifact)."""
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        if any(char in part for char in "*?["):
            return "/".join(parts[:index])
    return pattern


def _common_root(roots: Sequence[str], workspace: Path) -> Path:
    if len(roots) > 1:
        return Path(os.path.commonpath(roots))
    return Path(roots[0]).parent if (workspace / roots[0]).is_file() else Path(roots[0])


class Artifacts:
    """actions/upload-artifact and download-artifact v4 as copies into and out of a store folder.

    Upload keeps each matched file's path relative to the least common ancestor of the search
    paths; download of `name` extracts one artifact into `path`, of `pattern` with `merge-multiple`
    extracts every matching artifact into `path` itself.
    """

    def __init__(self, store: Path) -> None:
        self.store = store
        self.uploaded: dict[str, list[str]] = {}

    def handle(self, step: dict[str, Any], inputs: dict[str, str], workspace: Path) -> None:
        action = step["uses"].split("@")[0]
        if action == "actions/upload-artifact":
            self.upload(inputs, workspace)
        elif action == "actions/download-artifact":
            self.download(inputs, workspace)

    def upload(self, inputs: dict[str, str], workspace: Path) -> None:
        patterns = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
        roots = [_search_root(p) for p in patterns]
        base = _common_root(roots, workspace)
        files: set[Path] = set()
        for pattern in patterns:
            matched = [workspace / pattern] if not any(c in pattern for c in "*?[") else workspace.glob(pattern)
            for path in matched:
                files.update(p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file())
        assert files or inputs.get("if-no-files-found") != "error", f"upload {inputs['name']}: no files found"
        target = self.store / inputs["name"]
        assert not target.exists(), f"artifact {inputs['name']} uploaded twice"
        names = sorted(str(path.relative_to(workspace / base)) for path in files)
        for name in names:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workspace / base / name, target / name)
        self.uploaded[inputs["name"]] = names

    def download(self, inputs: dict[str, str], workspace: Path) -> None:
        destination = workspace / inputs.get("path", ".")
        if "name" in inputs:
            assert (self.store / inputs["name"]).is_dir(), f"no artifact named {inputs['name']}"
            shutil.copytree(self.store / inputs["name"], destination, dirs_exist_ok=True)
            return
        names = sorted(p.name for p in self.store.iterdir() if fnmatch(p.name, inputs["pattern"]))
        assert names, f"no artifact matches {inputs['pattern']}"
        merge = inputs.get("merge-multiple") == "True"
        for name in names:
            shutil.copytree(self.store / name, destination if merge else destination / name, dirs_exist_ok=True)
