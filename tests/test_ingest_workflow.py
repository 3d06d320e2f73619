"""Run ingest.yml's own `run:` steps (read from the YAML) job by job, as a dispatch would.

The repository is a temporary git workspace (configs and licence notes, no artifacts yet); the
raw corpora come from the demo generators and sit outside it, reached through the storage-root
environment variables a data runner sets (a checkout cleans the workspace). Every job starts from
its own clone, the shard matrix is one run per value of the plan's list, artifacts move between
jobs as copies of what the upload steps name, and `gh` is a stub on PATH that records its
arguments. A four-shard E-GMD run must give the same artifacts, byte for byte, as a one-shard run.
A real (not dry) run pushes to a bare `origin` and posts its comment to a loopback GitHub API.
A second ingest of a changed corpus gives a commit that passes the repository's own hooks; an
ingest that would empty a manifest, or a raw file that cannot be hashed, fails the run and opens
nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drumgate.commands.init_hooks import install
from drumgate.fixtures.cambridge import make_cambridge_corpus
from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.fixtures.musdb import make_musdb_corpus
from drumgate.fixtures.pr_repo import commit_all, git, init_repo
from tests.workflow_runner import Artifacts, FakeGitHub, JobRun, condition_holds, load_job, run_job, serve_github

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "ingest.yml"
DATE = "2024-06-03"
STAMP = DATE.replace("-", "")
GITIGNORE = "data/raw/\n*.lck\n.*.tmp\n"
DISPATCH_TOKEN = "ghs_dispatch_token"
PR_NUMBER = 31
UNREACHABLE_API = "http://127.0.0.1:9"
GH_STUB = f"""#!/usr/bin/env bash
printf '%s\\n' "${{*@Q}}" >> "$GH_STUB_LOG"
case "$1 $2" in
  "pr create") echo "https://github.invalid/acme/drums/pull/{PR_NUMBER}" ;;
  "pr view") echo {PR_NUMBER} ;;
esac
"""


@dataclass
class Dispatch:
    jobs: dict[str, JobRun]
    artifacts: Artifacts
    workspaces: dict[str, Path]
    gh_calls: list[str]

    def artifact(self, name: str) -> Path:
        return self.artifacts.store / name


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Raw corpora outside the repository, as the data runner's environment names them."""
    raw = tmp_path_factory.mktemp("raw")
    make_egmd_corpus(raw / "egmd", seed=3, performances=6)
    make_cambridge_corpus(raw / "cambridge", raw / "cambridge_external", seed=3)
    make_musdb_corpus(raw / "musdb_hq", seed=3, seconds=4.0)
    return {
        "DRUMGATE_EGMD_ROOT": str(raw / "egmd"),
        "DRUMGATE_CAMBRIDGE_PRIMARY": str(raw / "cambridge"),
        "DRUMGATE_CAMBRIDGE_EXTERNAL": str(raw / "cambridge_external"),
        "DRUMGATE_MUSDB_ROOT": str(raw / "musdb_hq"),
    }


def seed_repository(root: Path) -> Path:
    """Configs, licence notes, .gitignore and the drumgate hooks' .pre-commit-config.yaml."""
    init_repo(root, PROJECT_ROOT)
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    install(root, run_install=False)
    commit_all(root, "configs, licence notes and hooks")
    return root


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_repository(tmp_path_factory.mktemp("origin") / "drums")


def checkout(origin: Path, folder: Path) -> Path:
    """actions/checkout with full history: a fresh clone per job."""
    subprocess.run(["git", "clone", "-q", str(origin), str(folder)], check=True, capture_output=True)
    return folder


def dispatch(
    origin: Path, corpora: dict[str, str], tmp: Path, inputs: dict[str, str], api: str = UNREACHABLE_API
) -> Dispatch:
    """Every job of one workflow_dispatch, in dependency order; stops after a failing job."""
    contexts = {f"inputs.{key}": value for key, value in inputs.items()}
    contexts |= {"github.token": DISPATCH_TOKEN, "github.event.repository.default_branch": "main"}
    artifacts = Artifacts(tmp / "artifact-store")
    artifacts.store.mkdir(parents=True)
    stub_bin = tmp / "bin"
    stub_bin.mkdir()
    (stub_bin / "gh").write_text(GH_STUB, encoding="utf-8")
    (stub_bin / "gh").chmod(0o755)
    gh_log = tmp / "gh-calls.log"
    gh_log.touch()
    jobs: dict[str, JobRun] = {}
    workspaces: dict[str, Path] = {}

    def job(name: str, key: str, extra_contexts: dict[str, str], clone: bool = True) -> JobRun:
        folder = tmp / key
        workspace = checkout(origin, folder / "work") if clone else (folder / "work")
        workspace.mkdir(parents=True, exist_ok=True)
        temp = folder / "runner-temp"
        temp.mkdir()
        env = {
            **corpora,
            "GH_STUB_LOG": str(gh_log),
            "GITHUB_API_URL": api,
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_REF_NAME": "main",
            "XDG_CACHE_HOME": str(folder / "cache"),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        done = run_job(WORKFLOW, name, workspace, temp, {**contexts, **extra_contexts}, env,
                       on_uses=artifacts.handle, bin_dirs=[stub_bin])
        jobs[key], workspaces[key] = done, workspace
        return done

    plan = job("plan", "plan", {}, clone=False)
    if not plan.ok:
        return Dispatch(jobs, artifacts, workspaces, [])
    needs = {f"needs.plan.outputs.{key}": value for key, value in plan.outputs.items()}
    assert load_job(WORKFLOW, "shard")["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    for shard in json.loads(plan.outputs["shards"]):
        if not job("shard", f"shard-{shard}", {**needs, "matrix.shard": str(shard)}).ok:
            return Dispatch(jobs, artifacts, workspaces, [])
    if job("merge", "merge", needs).ok:
        committed = job("commit", "commit", needs)
        publish = load_job(WORKFLOW, "publish")
        after = needs | {f"needs.commit.outputs.{key}": value for key, value in committed.outputs.items()}
        if committed.ok and condition_holds(publish["if"], {**contexts, **after}):
            job("publish", "publish", after)
    return Dispatch(jobs, artifacts, workspaces, gh_log.read_text(encoding="utf-8").splitlines())


def egmd_inputs(shards: int) -> dict[str, str]:
    return {"dataset": "egmd", "dry_run": "true", "date": DATE, "shard_count": str(shards)}


@pytest.fixture(scope="module")
def sharded(origin: Path, corpora: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Dispatch:
    return dispatch(origin, corpora, tmp_path_factory.mktemp("sharded"), egmd_inputs(4))


@pytest.fixture(scope="module")
def unsharded(origin: Path, corpora: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Dispatch:
    return dispatch(origin, corpora, tmp_path_factory.mktemp("unsharded"), egmd_inputs(1))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_all_ok(run: Dispatch) -> None:
    for name, job in run.jobs.items():
        assert job.ok, f"job {name} failed:\n{job.failure()}"


def test_every_job_of_a_four_shard_dispatch_succeeds(sharded: Dispatch) -> None:
    assert_all_ok(sharded)
    assert list(sharded.jobs) == ["plan", "shard-1", "shard-2", "shard-3", "shard-4", "merge", "commit"]
    assert sharded.jobs["plan"].outputs == {"date": DATE, "command": "egmd", "shards": "[1,2,3,4]", "count": "4"}


def test_a_shard_uploads_only_its_own_files(sharded: Dispatch) -> None:
    uploaded = sharded.artifacts.uploaded["shard-egmd-2"]
    assert uploaded, "the shard artifact holds files"
    assert all(".shard-2-of-4." in name for name in uploaded), uploaded
    kinds = {name.split("/")[1] for name in uploaded}
    assert kinds == {"manifests", "provenance"}
    assert sum(name.endswith(".shard.json") for name in uploaded) == 3, "one sidecar per shard file"


def test_merged_artifacts_equal_an_unsharded_run_byte_for_byte(sharded: Dispatch, unsharded: Dispatch) -> None:
    assert_all_ok(unsharded)
    name = f"ingest-egmd-{DATE}"
    merged, single = tree(sharded.artifact(name)), tree(unsharded.artifact(name))
    assert sorted(merged) == sorted(single)
    differing = [path for path in merged if merged[path] != single[path]]
    assert not differing, f"sharded and unsharded runs differ in {differing}"
    assert not [path for path in merged if ".shard" in path], "no shard leftovers in the merged artifact"


def test_the_merge_produces_manifests_checksums_reports_and_docs(sharded: Dispatch) -> None:
    files = tree(sharded.artifact(f"ingest-egmd-{DATE}"))
    expected = [
        "data/manifests/egmd_events.jsonl",
        "data/manifests/egmd_sessions.jsonl",
        "data/provenance/egmd_provenance.jsonl",
        "data/archives/checksums/egmd.sha256",
        "data/locks/egmd.lock.json",
        f"reports/health/egmd_{STAMP}.json",
        f"reports/health/egmd_{STAMP}.html",
        f"reports/sampling/egmd_weights_{STAMP}.json",
        f"reports/health/{DATE}-health-summary.md",
        "DATASET_READINESS_PLAN.md",
    ]
    assert [path for path in expected if path not in files] == []
    sessions = files["data/manifests/egmd_sessions.jsonl"].decode().splitlines()
    assert len(sessions) == 6, "every performance of the corpus is one session"
    health = json.loads(files[f"reports/health/egmd_{STAMP}.json"])
    assert health["totals"]["sessions"] == 6
    lock = json.loads(files["data/locks/egmd.lock.json"])
    assert lock["artifacts"]["data/manifests/egmd_events.jsonl"]["command"].startswith("drumgate ingest egmd ")
    checksums = files["data/archives/checksums/egmd.sha256"].decode()
    assert checksums.count("primary/") >= 6 * 2 * 2, "every MIDI and WAV render is checksummed"
    crash_map = subprocess.run(
        [str(Path(sys.executable).parent / "drumgate"), "crash-map", "--check"],
        cwd=sharded.workspaces["merge"], capture_output=True, text=True, check=False,
    )
    assert crash_map.returncode == 0 and "would relabel 0" in crash_map.stdout, crash_map.stdout + crash_map.stderr


def test_a_dry_run_commits_locally_previews_the_comment_and_pushes_nothing(sharded: Dispatch, origin: Path) -> None:
    workspace = sharded.workspaces["commit"]
    branch = f"ingest/egmd-{DATE}"
    assert git(workspace, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert git(workspace, "log", "-1", "--format=%s") == f"Ingest egmd ({DATE})"
    assert git(origin, "branch", "--list", branch) == "", "nothing pushed"
    assert sharded.gh_calls == [], "a dry run never calls gh"
    assert "publish" not in sharded.jobs, "a dry run never starts the job with write access"
    assert not any(name.startswith("pull-request-") for name in sharded.artifacts.uploaded), "no commit uploaded"
    summary = (workspace.parent / "runner-temp" / "github_summary").read_text(encoding="utf-8")
    assert "<!-- drumgate:health-delta -->" in summary
    assert "Dry run" in summary and branch in summary


@pytest.mark.parametrize("dataset", ["cambridge", "musdb_hq"])
def test_the_unsharded_datasets_ingest_end_to_end(
    dataset: str, origin: Path, corpora: dict[str, str], tmp_path: Path
) -> None:
    inputs = {"dataset": dataset, "dry_run": "true", "date": DATE, "shard_count": "4"}
    run = dispatch(origin, corpora, tmp_path, inputs)
    assert_all_ok(run)
    assert run.jobs["plan"].outputs["shards"] == "[1]", "only E-GMD splits into shards"
    files = tree(run.artifact(f"ingest-{dataset}-{DATE}"))
    for path in (
        f"data/manifests/{dataset}_events.jsonl",
        f"data/manifests/{dataset}_sessions.jsonl",
        f"data/provenance/{dataset}_provenance.jsonl",
        f"data/archives/checksums/{dataset}.sha256",
        f"reports/health/{dataset}_{STAMP}.json",
        f"reports/sampling/{dataset}_weights_{STAMP}.json",
    ):
        assert path in files, f"{path} missing from the artifact"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("date", "03/06/2024", "date must be YYYY-MM-DD"), ("shard_count", "0", "shard_count must be a whole number")],
)
def test_the_plan_refuses_bad_inputs(field: str, value: str, message: str, tmp_path: Path) -> None:
    contexts = {f"inputs.{key}": value for key, value in egmd_inputs(4).items()} | {f"inputs.{field}": value}
    (tmp_path / "work").mkdir()
    (tmp_path / "temp").mkdir()
    done = run_job(WORKFLOW, "plan", tmp_path / "work", tmp_path / "temp", contexts, {})
    assert not done.ok
    assert f"::error::{message}" in done.results[-1].stdout


def gh_call(run: Dispatch, command: str) -> list[str]:
    calls = [shlex.split(line) for line in run.gh_calls]
    matching = [args for args in calls if args[:2] == command.split()]
    assert len(matching) == 1, f"expected one `gh {command}`, got {run.gh_calls}"
    return matching[0]


def option(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} missing or repeated in {args}"
    return args[args.index(name) + 1]


def git_bytes(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


def test_a_real_run_pushes_the_branch_opens_the_pr_and_posts_the_health_comment(
    origin: Path, corpora: dict[str, str], tmp_path: Path
) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    fake = FakeGitHub(DISPATCH_TOKEN, PR_NUMBER)
    with serve_github(fake) as api:
        run = dispatch(bare, corpora, tmp_path, egmd_inputs(2) | {"dry_run": "false"}, api=api)
    assert_all_ok(run)

    branch = f"ingest/egmd-{DATE}"
    assert git(bare, "rev-parse", f"{branch}^") == git(bare, "rev-parse", "main"), "one commit on top of main"
    assert git(bare, "log", "-1", "--format=%s", branch) == f"Ingest egmd ({DATE})"
    committed = git(bare, "diff-tree", "-r", "--name-only", "--no-commit-id", f"main..{branch}").splitlines()
    uploaded = tree(run.artifact(f"ingest-egmd-{DATE}"))
    artifact = {path: data for path, data in uploaded.items() if not path.endswith(".lck")}  # ignored by git
    assert sorted(committed) == sorted(artifact), "the commit holds exactly the regenerated artifacts"
    for path, content in artifact.items():
        assert git_bytes(bare, "show", f"{branch}:{path}") == content, f"{path} differs from the artifact"

    create = gh_call(run, "pr create")
    assert option(create, "--head") == branch and option(create, "--base") == "main"
    assert option(create, "--title") == f"Ingest egmd ({DATE})"
    body = Path(option(create, "--body-file")).read_text(encoding="utf-8")
    assert "https://github.invalid/acme/drums/actions/runs/4242" in body

    [comment] = fake.bot_comments()
    rendered = run.workspaces["commit"].parent / "runner-temp" / "drumgate-health" / "comment.md"
    assert comment["body"].startswith("<!-- drumgate:health-delta -->")
    assert comment["body"] == rendered.read_text(encoding="utf-8"), "the comment the read-only job rendered"
    temp = run.workspaces["publish"].parent / "runner-temp"
    assert ("POST", f"/repos/acme/drums/issues/{PR_NUMBER}/comments") in fake.requests
    summary = (temp / "github_summary").read_text(encoding="utf-8")
    assert f"Opened pull request #{PR_NUMBER} from {branch}." in summary


def test_a_branch_left_by_an_earlier_ingest_is_named_before_the_push_and_nothing_is_opened(
    origin: Path, corpora: dict[str, str], tmp_path: Path
) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    branch = f"ingest/egmd-{DATE}"
    git(bare, "branch", branch, "main")  # an earlier dispatch's branch, its pull request closed
    fake = FakeGitHub(DISPATCH_TOKEN, PR_NUMBER)
    with serve_github(fake) as api:
        run = dispatch(bare, corpora, tmp_path, egmd_inputs(1) | {"dry_run": "false"}, api=api)
    publish = run.jobs["publish"]
    assert not publish.ok
    said = publish.results[-1].stdout
    expected = f"::error::branch {branch} already exists (left by an earlier dispatch for egmd on {DATE})"
    assert f"{expected}; nothing pushed." in said
    assert f"git push origin --delete {branch}" in said
    assert git(bare, "rev-parse", branch) == git(bare, "rev-parse", "main"), "the branch is left as it was"
    assert not [call for call in run.gh_calls if "pr create" in call] and fake.comments == []


# A second ingest, on top of a first one merged to main ------------------------------------------
SECOND_DATE = "2024-06-10"
EGMD_CSV = "e-gmd-v1.0.0.csv"


@dataclass
class Ingested:
    """A bare origin whose main holds one E-GMD ingest, and the raw corpus it came from."""

    origin: Path
    raw: Path


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    base = tmp_path_factory.mktemp("ingested")
    raw = base / "raw-egmd"
    make_egmd_corpus(raw, seed=5, performances=4)
    bare = base / "origin.git"
    git(base, "clone", "-q", "--bare", str(seed_repository(base / "seed")), str(bare))
    first = dispatch(bare, {"DRUMGATE_EGMD_ROOT": str(raw)}, base / "first", egmd_inputs(2))
    assert_all_ok(first)
    git(first.workspaces["commit"], "push", "-q", str(bare), "HEAD:refs/heads/main")
    return Ingested(bare, raw)


def second_ingest(ingested: Ingested, tmp: Path, change: Callable[[Path], None]) -> tuple[Dispatch, Ingested]:
    """Copies of the origin and the raw corpus, `change` applied to the corpus, and a dry-run dispatch."""
    copy = Ingested(tmp / "origin.git", tmp / "raw-egmd")
    shutil.copytree(ingested.raw, copy.raw, symlinks=True)
    change(copy.raw)
    git(tmp, "clone", "-q", "--bare", str(ingested.origin), str(copy.origin))
    inputs = egmd_inputs(2) | {"date": SECOND_DATE}
    return dispatch(copy.origin, {"DRUMGATE_EGMD_ROOT": str(copy.raw)}, tmp / "dispatch", inputs), copy


def drop_one_csv_row(raw: Path) -> None:
    csv = raw / EGMD_CSV
    header, *rows = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(rows) > 1, "the corpus has rows to remove"
    csv.write_text(header + "".join(rows[:-1]), encoding="utf-8")


def run_tool(workspace: Path, raw: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRUMGATE_EGMD_ROOT": str(raw), "GIT_CONFIG_GLOBAL": os.devnull,
           "PRE_COMMIT_HOME": str(workspace.parent / "pre-commit-home"),
           # the hooks call `drumgate`: this interpreter's, even without an activated virtual environment
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.pop("DRUMGATE_WORKSPACE", None)
    tool = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    return subprocess.run(tool, cwd=workspace, env=env, capture_output=True, text=True, check=False)


def test_an_ingest_of_a_changed_corpus_passes_the_repositorys_own_hooks(ingested: Ingested, tmp_path: Path) -> None:
    run, copy = second_ingest(ingested, tmp_path, drop_one_csv_row)
    assert_all_ok(run)
    workspace = run.workspaces["commit"]
    changed = git(workspace, "diff-tree", "-r", "--name-only", "--no-commit-id", "HEAD").splitlines()
    second_report = f"reports/health/egmd_{SECOND_DATE.replace('-', '')}.json"
    for path in ("data/manifests/egmd_events.jsonl", "data/archives/checksums/egmd.sha256",
                 "data/manifests/prod_combined_events.json", second_report):
        assert path in changed, f"{path} not regenerated by the second ingest: {changed}"

    hooks = run_tool(workspace, copy.raw, "pre-commit", "run", "--all-files", "--color", "never")
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "drumgate: artifact groups staged together, nothing stale" in hooks.stdout
    verify = run_tool(workspace, copy.raw, "drumgate", "checksums", "verify", "egmd")
    assert verify.returncode == 0 and verify.stderr == "", verify.stdout + verify.stderr
    fresh = run_tool(workspace, copy.raw, "drumgate", "hook", "freshness", "--all")
    assert fresh.returncode == 0, fresh.stderr
    assert git(workspace, "status", "--porcelain") == ""


def test_an_ingest_that_would_empty_the_manifest_fails_and_opens_nothing(ingested: Ingested, tmp_path: Path) -> None:
    def keep_only_the_header(raw: Path) -> None:
        csv = raw / EGMD_CSV
        csv.write_text(csv.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")

    run, copy = second_ingest(ingested, tmp_path, keep_only_the_header)
    failed = [name for name, job in run.jobs.items() if not job.ok]
    assert failed and failed[0].startswith("shard-"), list(run.jobs)
    assert "merge" not in run.jobs and "commit" not in run.jobs
    output = run.jobs[failed[0]].failure()
    assert "::error::drumgate ingest egmd refused to empty a manifest" in output
    assert "refusing to replace it with an empty manifest" in output
    assert run.gh_calls == [] and git(copy.origin, "branch", "--list", "ingest/*") == ""


def test_a_raw_file_that_cannot_be_hashed_fails_the_run_before_any_commit(ingested: Ingested, tmp_path: Path) -> None:
    def add_a_dangling_link(raw: Path) -> None:
        (raw / "drummer1" / "lost_take.wav").symlink_to(raw / "nowhere.wav")

    run, copy = second_ingest(ingested, tmp_path, add_a_dangling_link)
    assert [name for name, job in run.jobs.items() if not job.ok] == ["merge"]
    assert "commit" not in run.jobs
    assert "dangling symlink" in run.jobs["merge"].failure()
    assert run.gh_calls == [] and git(copy.origin, "branch", "--list", "ingest/*") == ""
