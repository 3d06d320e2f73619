"""Helpers for tests that act as a new user in a data repository: real git, real `drumgate`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "drumgate test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "drumgate test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user with drumgate's venv on PATH and no workspace set."""
    env = {key: value for key, value in os.environ.items() if key not in {"DRUMGATE_WORKSPACE", "SOURCE_DATE_EPOCH"}}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, **GIT_ENV, **extra}


def drumgate(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drumgate.cli", *args],
        cwd=cwd, env=user_env(**env), capture_output=True, text=True, check=False, timeout=900,
    )


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=user_env(), capture_output=True, text=True, check=False)


def commit_refused(repo: Path, message: str, *staged: Path) -> str:
    """Stage `staged`, commit through the installed hooks, assert the commit is refused; its output."""
    for path in staged:
        assert git(repo, "add", str(path)).returncode == 0
    blocked = git(repo, "commit", "-q", "-m", message)
    assert blocked.returncode != 0, "the hooks let the commit through"
    return blocked.stdout + blocked.stderr


def status(cwd: Path) -> str:
    return git(cwd, "status", "--porcelain").stdout


def tree_listing(root: Path) -> dict[str, int]:
    """Every file under `root` (not .git) with its size: to prove a run touched nothing there."""
    return {
        path.relative_to(root).as_posix(): path.stat().st_size
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def committed_egmd_repo(
    tmp_path: Path, regenerate: Callable[[Path], None], message: str,
    configure: Callable[[Path], None] | None = None, performances: int = 4,
) -> Path:
    """A data repository made by `drumgate init --datasets egmd` (real hooks) holding a small seeded
    E-GMD corpus, `configure`d, regenerated and committed through the hooks."""
    from drumgate.fixtures.egmd import make_egmd_corpus

    root = tmp_path / "drum-data"
    root.mkdir()
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    assert drumgate(root, "init", "--datasets", "egmd").returncode == 0
    if configure is not None:
        configure(root)
    make_egmd_corpus(root / "data" / "raw" / "egmd", seed=5, performances=performances, kits=2)
    regenerate(root)
    assert git(root, "add", "-A").returncode == 0
    first = git(root, "commit", "-q", "-m", message)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def egmd_repo_without_hooks(root: Path, steps: list[list[str]], **corpus: int) -> Path:
    """`drumgate init --no-hooks` in `root`, a seeded E-GMD corpus, the drumgate `steps`, one commit."""
    from drumgate.fixtures.egmd import make_egmd_corpus

    root.mkdir()
    assert git(root, "init", "-q").returncode == 0
    assert drumgate(root, "init", "--datasets", "egmd", "--no-hooks").returncode == 0
    make_egmd_corpus(root / "data" / "raw" / "egmd", seed=5, **corpus)
    for argv in steps:
        done = drumgate(root, *argv)
        assert done.returncode in (0, 1), done.stderr
    assert git(root, "add", "-A").returncode == 0
    assert git(root, "commit", "-qm", "data", "--no-verify").returncode == 0
    return root


def copied_repo(source: Path, tmp_path: Path) -> Path:
    """A copy of a module-scoped repository for one test to change."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(source, copy, symlinks=True)
    return copy


def made_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drumgate demo` once for a module (its fixture), for each test to copy with `copied_repo`."""
    folder = tmp_path_factory.mktemp("demo") / "demo"
    made = drumgate(folder.parent, "demo", "--out", str(folder))
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    return folder


def without_dataset(config: Path, name: str) -> None:
    """A datasets.toml without `[datasets.<name>]` (and its subtables) nor its `[combined] mix` share."""
    kept, inside = [], False
    for line in config.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("["):
            inside = line.startswith((f"[datasets.{name}]", f"[datasets.{name}."))
        if not inside:
            kept.append(line)
    text = re.sub(rf"(?<=[{{ ]){name} = [0-9.]+, |, {name} = [0-9.]+(?= }})", "", "".join(kept))
    config.write_text(text, encoding="utf-8")
