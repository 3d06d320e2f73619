"""All drumgate hooks, as pre-commit runs them (one `drumgate hook NAME` process each), on two commits:
one staging no data file (target < 0.5 s in total) and one staging an events manifest of 1,000,000
rows with its whole group (target < 5 s). The peer is `git commit`'s own floor: `git diff --cached`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import median_seconds
from benchmarks.bench_schema import make_rows
from drumgate.workspace import Workspace

BIN = Path(sys.executable).parent
HOOK_FILES = {
    "schema": ("events", "provenance", "health", "weights", "lock"),
    "taxonomy": ("events",),
    "checksums": ("checksums", "provenance"),
    "freshness": (),
    "licences": ("events", "provenance", "checksums", "health", "weights", "lock"),
}


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(tmp))
    env.update(
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@example.invalid",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@example.invalid",
        DRUMGATE_CACHE_DIR=str(tmp / "cache"),
    )
    return env


def _git(root: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _hooks_wall(root: Path, env: dict[str, str], files: dict[str, str] | None) -> float:
    """Wall seconds of every hook process one after another, with the files each would be given."""
    started = time.perf_counter()
    for hook, kinds in HOOK_FILES.items():
        names = [files[k] for k in kinds] if files else []
        if kinds and not names:
            continue
        done = subprocess.run(
            [str(BIN / "drumgate"), "hook", hook, *names],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hook {hook} failed: {done.stderr[-800:]}")
    return time.perf_counter() - started


def _bare_hooks_wall(root: Path, env: dict[str, str]) -> float:
    """Upper bound for a no-data commit: every hook process started, even those pre-commit would skip."""
    started = time.perf_counter()
    for hook in HOOK_FILES:
        subprocess.run([str(BIN / "drumgate"), "hook", hook], cwd=root, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def run(quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.hooks_support import make_workspace, write_group

    count = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "repo"
        root.mkdir()
        env = _env(tmp)
        _git(root, env, "init", "-q")
        ws: Workspace = make_workspace(root)
        _git(root, env, "add", ".")
        _git(root, env, "commit", "-q", "-m", "configs")
        (root / "notes.txt").write_text("a note\n")
        _git(root, env, "add", "notes.txt")
        floor = median_seconds(lambda: _git(root, env, "diff", "--cached", "--name-only"), repeats=5)
        no_data = median_seconds(lambda: _hooks_wall(root, env, None), repeats=5)
        every_process = median_seconds(lambda: _bare_hooks_wall(root, env), repeats=5)
        _git(root, env, "commit", "-q", "-m", "notes")
        rows = make_rows(count)
        for row in rows:
            row["session_id"], row["item_id"] = "s1", "s1/take.wav"
        paths = write_group(ws, rows)
        _git(root, env, "add", "data", "reports")
        files = {kind: ws.rel(path) for kind, path in paths.items()}
        with_group = median_seconds(lambda: _hooks_wall(root, env, files), repeats=3)
        size_mb = paths["events"].stat().st_size / 1e6
    return {
        "rows": [
            {
                "commit": "no data file staged (pre-commit runs freshness only)",
                "hooks_s": no_data,
                "target_s": 0.5,
                "git_diff_floor_s": floor,
            },
            {
                "commit": "no data file, all 5 hook processes forced",
                "hooks_s": every_process,
                "target_s": 0.5,
                "git_diff_floor_s": floor,
            },
            {
                "commit": f"{count:,}-row events manifest + group ({size_mb:.0f} MB)",
                "hooks_s": with_group,
                "target_s": 5.0 if count == 1_000_000 else None,
                "git_diff_floor_s": floor,
            },
        ],
        "meets_no_data_target": no_data < 0.5,
        "meets_group_target": with_group < 5.0 if count == 1_000_000 else None,
        "notes": ["hooks run one after another, one process each, as pre-commit runs them"],
    }


if __name__ == "__main__":
    print(run(quick=True))
