"""Every test in this folder is a reliability test (`pytest -m reliability` runs them alone)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


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
        runs = list(pool.map(run_demo, (first, second)))
    for run in runs:
        assert run.code == 0, run.describe()
    return DemoPair(first, second, tool)
