"""Run a workflow job's own `run:` steps (read from the YAML) the way a GitHub runner would.

Expressions are substituted from a `contexts` dict (an unknown one fails the test), each step runs
in `bash --noprofile --norc -eo pipefail` with the `GITHUB_*` environment a runner gives, step
outputs become `steps.<id>.outputs.*` and job outputs are resolved from them. `uses:` steps are
handed to a callback (the artifact actions are simulated by `Artifacts`), the install step is
skipped (drumgate is already installed in the interpreter running the tests). `FakeGitHub` and
`serve_github` are a loopback (127.0.0.1 only) GitHub API for the comment and pull request reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

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


CONTEXT_NAME = re.compile(r"\b(?:github|inputs|steps|needs|env|runner)(?:\.[A-Za-z_][\w-]*)+")
OPERATORS = (("&&", " and "), ("||", " or "), ("!=", " != "), ("==", " == "))


def evaluate(expression: str, contexts: dict[str, Any]) -> Any:
    """A `${{ }}` expression's value as GitHub computes it, for the forms the workflows use: contexts
    (a missing one is null), '...' literals, `!`, `==`, `!=`, `&&` and `||` (which give an operand's
    value, not a boolean), parentheses and `format()`. Read through Python's own evaluator with no
    builtins: the operators map one to one, and the text comes from this repository's workflows."""
    names: dict[str, Any] = {}

    def name(match: re.Match[str]) -> str:
        names[f"_c{len(names)}"] = contexts.get(match.group(0))
        return f"_c{len(names) - 1}"

    text = CONTEXT_NAME.sub(name, expression)
    for github, python in OPERATORS:
        text = text.replace(github, python)
    text = re.sub(r"!(?!=)", " not ", text)

    def format_(template: str, *values: Any) -> str:
        return re.sub(r"\{(\d+)\}", lambda m: str(values[int(m.group(1))]), template)

    return eval(text, {"__builtins__": {}}, {**names, "format": format_})


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


def condition_holds(condition: Any, contexts: dict[str, str], failed: bool = False) -> bool:
    """The `if:` forms the workflows use: `always()`, `!cancelled()` (a test run is never cancelled),
    `failure()` (an earlier step of the job failed), `<context> ==|!= '<literal>'`, `!<context>` (a
    false, empty or missing value) and terms joined by `&&`, the first of which may be `failure()`;
    any other condition holds only while no step has failed, as on a runner."""
    if condition is None:
        return not failed
    text = str(condition).strip()
    match = EXPRESSION.fullmatch(text)
    text = match.group(1) if match else text
    if text in ("always()", "!cancelled()", "failure()"):
        return text != "failure()" or failed
    terms = [term.strip() for term in text.split("&&")]
    if terms[0] == "failure()":  # `failure() && <terms>`: after a failed step, and only if the rest holds
        return failed and all(_term_holds(term, condition, contexts) for term in terms[1:])
    return not failed and all(_term_holds(term, condition, contexts) for term in terms)


def _term_holds(term: str, condition: Any, contexts: dict[str, str]) -> bool:
    if term.startswith("!") and " " not in term:
        return contexts.get(term[1:], "") in ("", "false")
    parsed = CONDITION.match(term)
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
    """Run the job's steps in order; after a failing step only those whose `if:` says so (`failure()`)."""
    spec = load_job(workflow, job)
    env = runner_env(workspace, temp, extra, bin_dirs)
    run = JobRun(contexts={"runner.temp": str(temp), **contexts})
    failed = False
    for step in spec["steps"]:
        if step.get("name") in SKIPPED_STEPS or not condition_holds(step.get("if"), run.contexts, failed):
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
        if "id" in step:
            run.contexts[f"steps.{step['id']}.outcome"] = "success" if result.returncode == 0 else "failure"
        if result.returncode != 0:
            failed = True
            continue
        if "id" in step:
            for line in Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                run.contexts[f"steps.{step['id']}.outputs.{key}"] = value
    if not failed:  # a failed job's outputs are not read: the jobs that need it do not run
        run.outputs = {key: substitute(str(value), run.contexts) for key, value in (spec.get("outputs") or {}).items()}
    return run


def run_steps(
    workflow: str, job: str, workspace: Path, temp: Path, contexts: dict[str, str], extra: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """The results of `run_job`, `uses:` steps skipped."""
    return run_job(workflow, job, workspace, temp, contexts, extra).results


def run_pr_health(repo: Path, temp: Path, store: Artifacts, base: str, head: str, pr_number: int) -> JobRun:
    """pr-health.yml's `health` job on `repo` for a pull request from `base` to `head`, uploading to `store`."""
    contexts = {
        "github.event.pull_request.base.sha": base,
        "github.event.pull_request.head.sha": head,
        "github.event.pull_request.number": str(pr_number),
    }
    return run_job("pr-health.yml", "health", repo, temp, contexts, {"GITHUB_EVENT_NAME": "pull_request"},
                   on_uses=store.handle)


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


# A loopback GitHub --------------------------------------------------------------------------------
class FakeGitHub:
    """The REST endpoints drumgate uses on one pull request: its read, and its issue comments."""

    def __init__(
        self, token: str, pr_number: int, head_sha: str = "", comments: Sequence[dict[str, Any]] = ()
    ) -> None:
        self.token = token
        self.pr_number = pr_number
        self.head_sha = head_sha
        self.comments: list[dict[str, Any]] = [dict(comment) for comment in comments]
        self.requests: list[tuple[str, str]] = []
        self.forbidden = False
        self.page_size = 2

    def handle(self, method: str, url: str, body: dict[str, Any] | None, auth: str) -> tuple[int, dict, Any]:
        self.requests.append((method, url))
        if auth != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials"}
        if self.forbidden:
            return 403, {}, {"message": "Resource not accessible by integration"}
        parsed = urlparse(url)
        path, query = parsed.path, parse_qs(parsed.query)
        prefix = f"/repos/{REPO}"
        if method == "GET" and path == f"{prefix}/pulls/{self.pr_number}":
            return 200, {}, {"number": self.pr_number, "head": {"sha": self.head_sha}}
        if path == f"{prefix}/issues/{self.pr_number}/comments":
            if method == "GET":
                return self._comment_page(path, int(query.get("page", ["1"])[0]))
            if method == "POST" and body is not None:
                return 201, {}, self._create(body["body"])
        match = re.fullmatch(rf"{prefix}/issues/comments/(\d+)", path)
        if match and method == "PATCH" and body is not None:
            for comment in self.comments:
                if comment["id"] == int(match.group(1)):
                    comment["body"] = body["body"]
                    return 200, {}, comment
        return 404, {}, {"message": "Not Found"}

    def _comment_page(self, path: str, page: int) -> tuple[int, dict, Any]:
        start = (page - 1) * self.page_size
        headers = {}
        if start + self.page_size < len(self.comments):
            headers["Link"] = f'<{path}?per_page=100&page={page + 1}>; rel="next"'
        return 200, headers, self.comments[start : start + self.page_size]

    def _create(self, text: str) -> dict[str, Any]:
        comment: dict[str, Any] = {
            "id": 100 + len(self.comments),
            "body": text,
            "user": {"login": "github-actions[bot]", "type": "Bot"},
        }
        comment["html_url"] = f"https://github.invalid/{REPO}/pull/{self.pr_number}#issuecomment-{comment['id']}"
        self.comments.append(comment)
        return comment

    def bot_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["user"]["type"] == "Bot"]


@contextmanager
def serve_github(fake: FakeGitHub) -> Iterator[str]:
    """Serve `fake` on 127.0.0.1 (a free port) and yield its API root URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, headers, payload = fake.handle(self.command, self.path, body, self.headers.get("Authorization", ""))
            data = json.dumps(payload).encode()
            self.send_response(status)
            for key, value in headers.items():
                if key == "Link":
                    value = value.replace("<", f"<http://127.0.0.1:{self.server.server_port}", 1)
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
