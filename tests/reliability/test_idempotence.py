"""Idempotence and determinism on the demo corpus: reruns and second demos change no byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drumgate.demo import DEMO_DATE
from tests.reliability.conftest import DemoPair
from tests.reliability.support import changed, run_drumgate, stage_argvs, tool_identity, tree_digest


def assert_unchanged(before: dict[str, str], after: dict[str, str], tool: str, context: str) -> None:
    """Same inputs, configs and tool give the same bytes; a tool that moved mid-test proves nothing."""
    differences = changed(before, after)
    if differences and tool_identity() != tool:
        pytest.skip("drumgate's own code changed while the test ran (provenance records the tool commit)")
    assert differences == [], context


def test_second_demo_in_another_folder_is_byte_identical(demo_pair: DemoPair) -> None:
    first_tree, second_tree = tree_digest(demo_pair.first), tree_digest(demo_pair.second)
    assert len(first_tree) > 20
    assert_unchanged(first_tree, second_tree, demo_pair.tool, "the two demo trees differ")


def test_demo_writes_every_artifact_family(demo_pair: DemoPair) -> None:
    tree = tree_digest(demo_pair.first)
    for prefix in ("data/manifests/", "data/provenance/", "data/archives/checksums/", "data/locks/",
                   "reports/health/", "reports/sampling/", "reports/diffs/"):
        assert any(path.startswith(prefix) for path in tree), prefix


@pytest.fixture(scope="module")
def rerun_workspace(demo_pair: DemoPair, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("rerun") / "ws"
    shutil.copytree(demo_pair.first, copy, symlinks=True)
    return copy


@pytest.mark.parametrize("argv", stage_argvs(DEMO_DATE), ids=lambda argv: " ".join(argv[:3]))
def test_command_run_again_changes_nothing(rerun_workspace: Path, demo_pair: DemoPair, argv: tuple[str, ...]) -> None:
    tool = demo_pair.tool
    before = tree_digest(rerun_workspace)
    run = run_drumgate(argv, cwd=rerun_workspace, env={"DRUMGATE_WORKSPACE": str(rerun_workspace)})
    assert run.code in (0, 1), run.describe()
    assert_unchanged(before, tree_digest(rerun_workspace), tool, run.describe())
