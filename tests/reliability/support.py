"""Helpers shared by the reliability tests: tmp workspaces, the real CLI in a subprocess, tree digests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_ROOT, REALDATA

CORRUPT = REALDATA / "d_corrupt_edge_cases"
DATE = "2026-01-15"
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return f"$ drumgate {' '.join(self.argv)}\nexit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def make_workspace(root: Path) -> Path:
    """A workspace like a user's: the project's configs and licence notes, nothing else."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "configs", root / "configs")
    shutil.copytree(PROJECT_ROOT / "data" / "licenses", root / "data" / "licenses")
    return root


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DRUMGATE_", "GITHUB_"))}
    env.pop("SOURCE_DATE_EPOCH", None)
    env.update({"CI": "true", "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"})
    env.update(extra or {})
    return env


def drumgate_command(argv: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "drumgate.cli", *argv]


def run_drumgate(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    completed = subprocess.run(
        drumgate_command(argv), cwd=cwd, env=child_env(env), capture_output=True, text=True, timeout=timeout,
        errors="replace", check=False,
    )
    return Run(tuple(argv), completed.returncode, completed.stdout, completed.stderr)


def finding_lines(stderr: str, path: Path | str, root: Path) -> list[str]:
    """stderr lines shaped `path[:line]: reason` that name `path` (absolute, as given, or workspace-relative)."""
    target = Path(path)
    absolute = target if target.is_absolute() else root / target
    forms = {str(path), str(absolute), os.path.normpath(absolute)}
    try:
        forms.add(absolute.relative_to(root).as_posix())
        forms.add(Path(os.path.realpath(absolute)).relative_to(os.path.realpath(root)).as_posix())
    except ValueError:
        pass
    forms.add(os.path.realpath(absolute))
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    shape = re.compile(rf"^(?:{alternatives})(?::\d+)?: \S")
    return [line for line in stderr.splitlines() if shape.match(line)]


def tree_digest(root: Path, folders: Sequence[str] = ("data", "reports")) -> dict[str, str]:
    """sha256 of every file under `folders` (raw inputs and temp files aside), keyed by relative path."""
    digests: dict[str, str] = {}
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not relative.startswith("data/raw/"):
                digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
