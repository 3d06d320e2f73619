"""Shared fixtures: a temporary workspace with the project's configs copied in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drumgate.workspace import Workspace

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh workspace (configs + licence notes) in tmp, made the current folder."""
    root = tmp_path / "ws"
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    shutil.copytree(PROJECT_ROOT / "data" / "licenses", root / "data" / "licenses")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    return Workspace(root)
