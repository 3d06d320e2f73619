"""The README's lines that load a partitioned manifest for training give the rows drumgate does:
`drumgate.events.read` one per render-hit, DuckDB's join of the parts with `renders/` as many, and
polars and pandas one per stored hit."""

from __future__ import annotations

import re

import pytest

from drumgate import cli, events
from drumgate.workspace import Workspace
from tests.conftest import PROJECT_ROOT
from tests.test_repro_partitioned import partitioned_workspace


def readme_lines() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"## Reading the data for training.*?```python\n(.+?)\n```", text, re.S)
    assert block is not None
    return block.group(1).splitlines()


def test_the_readme_lines_load_what_drumgate_reads(workspace: Workspace) -> None:
    duckdb = pytest.importorskip("duckdb")
    polars = pytest.importorskip("polars")
    pandas = pytest.importorskip("pandas")
    import glob

    import drumgate.events

    partitioned_workspace(workspace)
    assert cli.main(["combine", "--date", "2026-02-01"]) in (0, 1)
    scope = {"drumgate": drumgate, "duckdb": duckdb, "polars": polars, "pandas": pandas, "glob": glob}
    for line in readme_lines():
        exec(line, scope)  # the README's own lines, run as a user would
    render_hits = sum(1 for _ in events.read(workspace.path("data/manifests/egmd_events")))
    stored = sum(1 for _ in events.read(workspace.path("data/manifests/egmd_events"), per_render=False))
    assert len(scope["rows"]) == len(scope["hits"]) == render_hits > stored
    assert len(scope["stored"]) == stored
    assert len(scope["combined"]) == render_hits  # the demo mix keeps every E-GMD row
