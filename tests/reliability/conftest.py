"""Every test in this folder is a reliability test (`pytest -m reliability` runs them alone).

The session fixtures run the demo's pipeline for real: `demo_pair` two whole `drumgate demo`
runs side by side (seed 7); `pipeline_walk` takes a copy of the first demo's workspace, swaps in
a seed-8 raw corpus and runs the demo's stages on it, snapshotting the workspace before and after
each stage and running each stage a second time (idempotence), so crash trials can replay any
stage from its "old" state and compare with its "new" one.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.reliability.known_bugs import KNOWN_BUGS

    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
            if item.nodeid in KNOWN_BUGS:
                item.add_marker(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[item.nodeid]))


@dataclass(frozen=True)
class DemoPair:
    first: Path
    second: Path
    tool: str


@pytest.fixture(scope="session")
def demo_pair(tmp_path_factory: pytest.TempPathFactory) -> DemoPair:
    """Two full `drumgate demo --out` runs with the same seed, in different folders, side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.reliability.support import run_demo, tool_identity

    tool = tool_identity()
    base = tmp_path_factory.mktemp("demo")
    first, second = base / "first", base / "second-elsewhere"
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(run_demo, (first, second), ("1", "2")))
    for run in runs:
        assert run.code == 0, run.describe()
    return DemoPair(first, second, tool)


@dataclass(frozen=True)
class StageRecord:
    index: int
    argv: tuple[str, ...]
    before: Path
    after: Path
    old: dict[str, str]
    new: dict[str, str]
    seconds: float
    tool: str
    rerun: dict[str, str]
    rerun_tool: str


@dataclass(frozen=True)
class Walk:
    base: Path
    raw: Path
    cache: Path
    records: list[StageRecord]


def workspace_env(workspace: Path, cache: Path) -> dict[str, str]:
    return {"DRUMGATE_WORKSPACE": str(workspace), "XDG_CACHE_HOME": str(cache)}


def skip_raw_inputs(folder: str, _names: list[str]) -> list[str]:
    return ["raw"] if Path(folder).name == "data" else []


def snapshot(workspace: Path, target: Path) -> None:
    """Copy everything but the raw corpus (real copies: a writer that edits in place must not reach back)."""
    target.mkdir(parents=True)
    for name in os.listdir(workspace):
        source = workspace / name
        if name == "data":
            shutil.copytree(source, target / name, ignore=skip_raw_inputs)
        elif source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)


def second_pass_argv(argv: tuple[str, ...]) -> tuple[str, ...]:
    """On the changed corpus, checksums accept the changes (`--update`) so they have a new version."""
    return (*argv, "--update") if argv[:2] == ("checksums", "generate") else argv


@pytest.fixture(scope="session")
def pipeline_walk(demo_pair: DemoPair, tmp_path_factory: pytest.TempPathFactory) -> Walk:
    from tests.reliability.support import generate_raw_corpus, pipeline, run_drumgate, tool_identity, tree_digest

    base = tmp_path_factory.mktemp("walk")
    workspace, cache = base / "ws", base / "cache"
    shutil.copytree(demo_pair.first, workspace, symlinks=True)
    env = workspace_env(workspace, cache)
    generate_raw_corpus(workspace, seed=8)
    records = []
    for index, plain in enumerate(pipeline()):
        argv = second_pass_argv(plain)
        before, after = base / f"before-{index:02d}", base / f"after-{index:02d}"
        snapshot(workspace, before)
        old, tool = tree_digest(workspace), tool_identity()
        started = time.perf_counter()
        run = run_drumgate(argv, cwd=workspace, env=env)
        seconds = time.perf_counter() - started
        assert run.code in (0, 1), run.describe()
        new = tree_digest(workspace)
        snapshot(workspace, after)
        again = run_drumgate(argv, cwd=workspace, env=env)
        assert again.code == run.code, again.describe()
        records.append(
            StageRecord(index, argv, before, after, old, new, seconds, tool, tree_digest(workspace), tool_identity())
        )
    return Walk(base, workspace / "data" / "raw", cache, records)
