"""Idempotence and determinism: every command run twice leaves its artifacts byte-identical, and a
second `drumgate demo` in another folder writes the same data/ and reports/ trees."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import DemoPair, Walk
from tests.reliability.support import changed, pipeline, stage_id, tool_identity, tree_digest

TOOL_MOVED = "drumgate's own code changed while the test ran (provenance records the tool commit)"


def assert_same(before: dict[str, str], after: dict[str, str], tool_moved: bool, context: str) -> None:
    """Same inputs, configs and tool give the same bytes; a tool that moved mid-test proves nothing."""
    differences = changed(before, after)
    if differences and tool_moved:
        pytest.skip(TOOL_MOVED)
    assert differences == [], context


def test_second_demo_in_another_folder_is_byte_identical(demo_pair: DemoPair) -> None:
    first_tree, second_tree = tree_digest(demo_pair.first), tree_digest(demo_pair.second)
    assert len(first_tree) > 20
    assert_same(first_tree, second_tree, tool_identity() != demo_pair.tool, "the two demo trees differ")


def test_demo_writes_every_artifact_family(demo_pair: DemoPair) -> None:
    tree = tree_digest(demo_pair.first)
    for prefix in ("data/manifests/", "data/provenance/", "data/archives/checksums/", "data/locks/",
                   "reports/health/", "reports/sampling/", "reports/diffs/"):
        assert any(path.startswith(prefix) for path in tree), prefix


@pytest.mark.parametrize("index", range(len(pipeline())), ids=[stage_id(argv) for argv in pipeline()])
def test_command_run_twice_changes_nothing(pipeline_walk: Walk, index: int) -> None:
    record = pipeline_walk.records[index]
    assert_same(record.new, record.rerun, record.rerun_tool != record.tool, " ".join(record.argv))
