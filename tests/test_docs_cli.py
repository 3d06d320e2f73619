from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from drumgate.cli import diff as diff_cli
from drumgate.cli import docs
from drumgate.errors import DrumgateError
from drumgate.io.jsonio import write_json
from drumgate.lineage import check, read_lock
from drumgate.reports import readiness_docs
from drumgate.reports.readiness_docs import BEGIN, END, PLAN_NAME, replace_block
from drumgate.workspace import Workspace
from tests.diff_fixtures import dated_reports_workspace, health_report, next_day_report

PLAN = "DATASET_READINESS_PLAN.md"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    # paths typed on the command line are relative to the current folder: work from the workspace
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    ws = Workspace(dated_reports_workspace(tmp_path / "ws"))
    ws.health_report("musdb_hq", "20250302", "html").write_text("<html></html>\n", encoding="utf-8")
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


def test_a_dated_summary_shows_what_stood_that_day_and_no_self_diff(ws: Workspace) -> None:
    """`docs --date` of an earlier day listed the newest reports, dated after it; a report diffed against
    itself was linked as its "diff vs previous"."""
    assert run(ws, "2025-03-01") == 0
    text = (ws.root / "reports/health/2025-03-01-health-summary.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `") and " | 2025-" in line]
    assert [row.split(" | ")[:2] for row in rows] == [["| `musdb_hq`", "2025-03-01"]]
    head = "reports/health/musdb_hq_20250302.json"
    assert diff_cli.main(["--workspace", str(ws.root), head, head]) == 0  # written: it is a diff of one report
    assert run(ws) == 0
    text = (ws.root / "reports/health/2025-03-02-health-summary.md").read_text(encoding="utf-8")
    assert "[diff](../diffs/musdb_hq_20250301_to_20250302.md)" in text
    assert "_20250302_to_20250302" not in text


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


@pytest.mark.parametrize(("lines", "stray", "what"), [
    (["# Plan", BEGIN, "old status", "## Open questions (human)", "- ask Cambridge"], 2, "no end marker after it"),
    (["# Plan", "old status", END, "## Open questions (human)"], 3, "no begin marker before it"),
    (["# Plan", BEGIN, "a", END, "## Notes", BEGIN, "b", END], 6, "a second status begin marker"),
])
def test_a_stray_status_marker_is_refused_and_its_printed_fix_keeps_every_hand_written_line(
        tmp_path: Path, lines: list[str], stray: int, what: str) -> None:
    """Replacing from a lone begin marker to the next end marker deleted what a person wrote after it
    (the second docs run did, silently); now the stray marker is a finding whose fix keeps the text."""
    plan = tmp_path / PLAN_NAME
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DrumgateError) as refused:
        replace_block(plan.read_text(encoding="utf-8"), f"{BEGIN}\nnew status\n{END}\n")
    assert refused.value.line == stray and what in refused.value.message
    fix = refused.value.hint
    assert fix == f"fix: sed -i '{stray}d' {PLAN_NAME}, then drumgate docs"
    command = fix.removeprefix("fix: ").split(", then ")[0]
    assert subprocess.run(shlex.split(command), cwd=tmp_path, check=False).returncode == 0
    text = plan.read_text(encoding="utf-8")
    while True:  # a second stray marker is the next finding, mended the same way
        try:
            mended = replace_block(text, f"{BEGIN}\nnew status\n{END}\n")
            break
        except DrumgateError as again:
            lines_now = text.splitlines()
            del lines_now[again.line - 1]
            text = "\n".join(lines_now) + "\n"
    hand_written = [line for line in lines if line not in (BEGIN, END, "old status", "a", "b")]
    assert all(line in mended for line in hand_written)
    assert mended.count(BEGIN) == 1 and mended.count(END) == 1 and "new status" in mended
