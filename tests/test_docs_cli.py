from __future__ import annotations

from pathlib import Path

import pytest

from drumgate.cli import diff as diff_cli
from drumgate.cli import docs
from drumgate.io.jsonio import write_json
from drumgate.lineage import check, read_lock
from drumgate.reports import readiness_docs
from drumgate.workspace import Workspace
from tests.diff_fixtures import health_report, make_workspace, next_day_report

PLAN = "DATASET_READINESS_PLAN.md"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    # paths typed on the command line are relative to the current folder: work from the workspace
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    ws = Workspace(make_workspace(tmp_path / "ws"))
    write_json(ws.health_report("musdb_hq", "20250301"), health_report())
    write_json(ws.health_report("musdb_hq", "20250302"), next_day_report())
    ws.health_report("musdb_hq", "20250302", "html").write_text("<html></html>\n", encoding="utf-8")
    write_json(ws.health_report("egmd", "20250302"), health_report("egmd"))
    combined = health_report("prod_combined")
    combined["licences"] = {"egmd": {"licence": "CC BY 4.0", "commercial_use": "yes", "redistribution": "yes"}}
    write_json(ws.root / "reports/health/prod_combined_health_20250302.json", combined)
    head = "reports/health/musdb_hq_20250302.json"
    assert diff_cli.main(["--workspace", str(ws.root), "--baseline", "auto", head]) == 0
    return ws


def run(ws: Workspace, date: str = "2025-03-02") -> int:
    return docs.main(["--workspace", str(ws.root), "--date", date])


def test_summary_lists_newest_reports_failing_gates_and_links_diffs(ws: Workspace) -> None:
    assert run(ws) == 0
    text = (ws.root / "reports/health/2025-03-02-health-summary.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `") and " | 2025-" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| `egmd`", "| `musdb_hq`", "| `prod_combined`"]
    musdb = rows[1]
    assert "| 2025-03-02 | ❌ 3/6 | 94,977 | 151 | 9.8 |" in musdb
    assert "[JSON](musdb_hq_20250302.json) · [HTML](musdb_hq_20250302.html)" in musdb
    assert "[diff](../diffs/musdb_hq_20250301_to_20250302.md)" in musdb
    assert "## ❌ musdb_hq: 3 failing gate(s)" in text
    assert "- `min_class_events[ride]`: observed 1,912, needs ≥ 2,000" in text
    assert "| `egmd` | CC BY 4.0 | yes | yes |" in text


def test_plan_is_created_with_prose_around_the_block_then_only_the_block_changes(ws: Workspace) -> None:
    assert run(ws) == 0
    plan = (ws.root / PLAN).read_text(encoding="utf-8")
    assert plan.startswith("# Dataset readiness plan\n")
    block = plan[plan.index(readiness_docs.BEGIN) : plan.index(readiness_docs.END)]
    failing = "`min_class_events[ride]`, `max_unknown_label_fraction`, `leakage`"
    assert f"| `musdb_hq` | 2025-03-02 | ❌ 3/6 (failing: {failing}) |" in block
    assert "[diff](reports/diffs/musdb_hq_20250301_to_20250302.md)" in block
    edited = plan.replace("## Steps", "## Steps\n\nA note the team wrote by hand.")
    (ws.root / PLAN).write_text(edited, encoding="utf-8")
    write_json(ws.health_report("egmd", "20250303"), next_day_report())
    assert run(ws, "2025-03-03") == 0
    updated = (ws.root / PLAN).read_text(encoding="utf-8")
    assert "A note the team wrote by hand." in updated
    assert updated[: updated.index(readiness_docs.BEGIN)] == edited[: edited.index(readiness_docs.BEGIN)]
    assert updated[updated.index(readiness_docs.END) :] == edited[edited.index(readiness_docs.END) :]
    assert "| `egmd` | 2025-03-03 | ❌ 3/6" in updated


def test_rerun_is_byte_identical_and_lineage_recorded(ws: Workspace) -> None:
    assert run(ws) == 0
    outputs = [ws.root / PLAN, ws.root / "reports/health/2025-03-02-health-summary.md"]
    first = [path.read_bytes() for path in outputs]
    assert run(ws) == 0
    assert [path.read_bytes() for path in outputs] == first
    entry = read_lock(ws, "prod_combined")["artifacts"][PLAN]
    assert entry["command"] == "drumgate docs --date 2025-03-02"
    assert "reports/diffs/musdb_hq_20250301_to_20250302.md" in entry["inputs"]
    assert check(ws, "prod_combined") == []


def test_existing_plan_without_markers_gets_the_block_appended(ws: Workspace) -> None:
    (ws.root / PLAN).write_text("# Our plan\n\nShip it.\n", encoding="utf-8")
    assert run(ws) == 0
    text = (ws.root / PLAN).read_text(encoding="utf-8")
    assert text.startswith("# Our plan\n\nShip it.\n\n" + readiness_docs.BEGIN)
    assert text.rstrip().endswith(readiness_docs.END)


def test_hostile_dataset_strings_are_escaped(ws: Workspace) -> None:
    bad = health_report("egmd")
    bad["gates"][0]["name"] = "min_class_events[<img src=x>|`]"
    bad["gates"][0]["status"] = "fail"
    write_json(ws.health_report("egmd", "20250302"), bad)
    assert run(ws) == 0
    text = (ws.root / "reports/health/2025-03-02-health-summary.md").read_text(encoding="utf-8")
    assert "<img" not in text and "- min_class_events&#91;&lt;img src=x&gt;&#124;&#96;&#93;: observed 150" in text
