"""Real git, real pre-commit: install the hooks in a data repository and try to commit bad changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drumgate.commands.init_hooks import HOOKS, install
from drumgate.io.jsonio import dumps_row
from tests.hooks_support import PROJECT, event, make_workspace, write_group

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
BIN = str(Path(sys.executable).parent)


def git_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        HOME=str(tmp_path / "home"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        DRUMGATE_CACHE_DIR=str(tmp_path / "cache"),
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
    )
    env.pop("DRUMGATE_WORKSPACE", None)
    return env


def git(repo: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {args}: {done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "data-repo"
    root.mkdir()
    env = git_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    git(root, env, "init", "-q", "-b", "main")
    ws = make_workspace(root)
    install(root)
    git(root, env, "add", ".")
    git(root, env, "commit", "-q", "-m", "configs and hooks")
    return ws, env


def commit(root: Path, env: dict[str, str], *paths: str) -> subprocess.CompletedProcess[str]:
    """`git add` then `git commit`; stdout holds everything pre-commit printed."""
    git(root, env, "add", *paths)
    done = git(root, env, "commit", "-m", "change", check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout + done.stderr, "")


def test_init_hooks_writes_the_catalog_and_installs(repo):
    ws, _ = repo
    config = (ws.root / ".pre-commit-config.yaml").read_text()
    assert all(f"id: {hook_id}" in config for hook_id, *_ in HOOKS)
    assert (ws.root / ".git" / "hooks" / "pre-commit").is_file()


def test_hooks_yaml_mirrors_the_catalog():
    import yaml

    published = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert [(h["id"], h["entry"], h.get("files", "")) for h in published] == [
        (hook_id, f"drumgate hook {hook}", files) for hook_id, _, hook, files, _ in HOOKS
    ]
    assert all(h["language"] == "python" for h in published)


def test_good_commit_passes_then_hand_edit_is_blocked(repo):
    ws, env = repo
    paths = write_group(ws)
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode == 0, done.stdout + done.stderr

    report = json.loads(paths["health"].read_text())
    report["totals"]["events"] = 5000
    paths["health"].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    done = commit(ws.root, env, "reports")
    assert done.returncode != 0
    assert (
        "reports/health/egmd_20240105.json: edited by hand: it differs from what its command wrote "
        "(fix: git checkout HEAD -- reports/health/egmd_20240105.json to undo, or drumgate repro egmd, then git add -A,"
        " to regenerate)"
    ) in done.stdout


def test_manifest_staged_without_its_reports_is_blocked(repo):
    """Rows written by hand: the hand edit is the cause; the reports it made stale are not listed."""
    ws, env = repo
    paths = write_group(ws)
    assert commit(ws.root, env, "data", "reports").returncode == 0
    rows = [event(i) for i in range(6)]
    paths["events"].write_bytes(b"".join(dumps_row(r) + b"\n" for r in rows))
    done = commit(ws.root, env, "data/manifests")
    assert done.returncode != 0
    assert "data/manifests/egmd_events.jsonl: edited by hand" in done.stdout
    assert "reports/health/egmd_20240105.json" not in done.stdout
    assert "--date" not in done.stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"event_id": ', "data/manifests/egmd_events.jsonl:6: invalid JSON"),
        (dumps_row(event(9, label="cowbel")), "data/manifests/egmd_events.jsonl:6: unknown label 'cowbel'"),
        (dumps_row(event(9, velocity=300)), "data/manifests/egmd_events.jsonl:6: $.velocity: 300 is greater"),
    ],
)
def test_bad_rows_are_blocked_with_their_message(repo, line, message):
    ws, env = repo
    paths = write_group(ws)
    with paths["events"].open("ab") as handle:
        handle.write(line + b"\n")
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode != 0
    assert message in done.stdout


def test_lfs_pointer_is_blocked(repo):
    ws, env = repo
    paths = write_group(ws)
    paths["events"].write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"b" * 64 + b"\nsize 9\n")
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode != 0
    assert "Git LFS pointer, not the manifest (fix: run git lfs pull)" in done.stdout


def test_incomplete_licence_note_is_blocked(repo):
    ws, env = repo
    write_group(ws)
    (ws.root / "data/licenses/egmd.md").write_text("---\nlicence: CC BY 4.0\n---\n")
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode != 0
    assert "data/licenses/egmd.md: licence note incomplete" in done.stdout


def test_commit_staging_no_data_file_runs_clean(repo):
    ws, env = repo
    (ws.root / "notes.txt").write_text("hello\n")
    done = commit(ws.root, env, "notes.txt")
    assert done.returncode == 0, done.stdout


@pytest.mark.slow
def test_try_repo_runs_the_published_hooks(repo):
    """`pre-commit try-repo` clones the project's HEAD and pip-installs it (language: python)."""
    ws, env = repo
    if git(PROJECT, env, "ls-files", ".pre-commit-hooks.yaml").stdout.strip() == "":
        pytest.skip(".pre-commit-hooks.yaml is not committed in the project yet")
    write_group(ws, rows=[event(0, label="cowbel")])
    git(ws.root, env, "add", "data", "reports")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(PROJECT), "drumgate-taxonomy", "--verbose"],
        cwd=ws.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if "An unexpected error has occurred" in done.stdout + done.stderr and "pip" in done.stdout + done.stderr:
        pytest.skip("pip could not build drumgate from the clone here: " + done.stdout[-400:])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "data/manifests/egmd_events.jsonl:1: unknown label 'cowbel'" in done.stdout
