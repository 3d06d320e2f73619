"""Shared fixtures: a temporary workspace with the project's configs copied in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from drumgate.workspace import Workspace

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """drumgate's user cache (scan memos, compiled templates) of this run only: a developer's own is
    neither read nor written, and no run sees what an earlier version of the code left there."""
    os.environ["DRUMGATE_CACHE_DIR"] = str(tmp_path_factory.mktemp("drumgate-cache"))


def copy_workspace_files(root: Path) -> Path:
    """The project's configs and licence notes copied into `root`, a workspace with no data yet."""
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    shutil.copytree(PROJECT_ROOT / "data" / "licenses", root / "data" / "licenses")
    return root


def current_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`root` as the workspace a command finds: the current folder, no DRUMGATE_WORKSPACE set."""
    monkeypatch.chdir(root)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    return Workspace(root)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh workspace (configs + licence notes) in tmp, made the current folder."""
    return current_workspace(copy_workspace_files(tmp_path / "ws"), monkeypatch)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drumgate demo` once per run, shared: a test that changes it works on `copied_repo(demo, tmp_path)`."""
    from tests.data_repo_support import made_demo

    return made_demo(tmp_path_factory)
