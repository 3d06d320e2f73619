from __future__ import annotations

from pathlib import Path

import pytest

from drumgate.cli import compare
from drumgate.io.jsonio import read_json, write_json
from drumgate.lineage import check
from drumgate.workspace import Workspace
from tests.diff_fixtures import health_report, make_workspace


def cambridge_report() -> dict:
    report = health_report("cambridge")
    report["totals"]["events"] = 10000
    report["classes"] = {"kick": 3000, "snare": 3000, "hihat": 2000, "crash": 1200, "tambourine": 800}
    report["techniques"] = {"closed": 1500, "open": 40}
    return report


def musdb_report() -> dict:
    report = health_report("musdb_hq")
    report["totals"]["events"] = 20000
    report["classes"] = {"kick": 6000, "snare": 6000, "hihat": 6000, "crash": 150, "ride": 1850}
    report["techniques"] = {"closed": 3000, "open": 900}
    return report


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    # paths typed on the command line are relative to the current folder: work from the workspace
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    ws = Workspace(make_workspace(tmp_path / "ws"))
    write_json(ws.health_report("cambridge", "20250302"), cambridge_report())
    write_json(ws.health_report("musdb_hq", "20250302"), musdb_report())
    return ws


def run(ws: Workspace, *extra: str) -> int:
    return compare.main(
        [
            "--workspace",
            str(ws.root),
            "reports/health/cambridge_20250302.json",
            "reports/health/musdb_hq_20250302.json",
            *extra,
        ]
    )


def test_flags_classes_and_techniques_one_side_barely_covers(ws: Workspace, capsys) -> None:
    assert run(ws) == 0
    result = read_json(ws.root / "reports/diffs/compare_cambridge_vs_musdb_hq.json")
    flagged = {(f["table"], f["name"]): f["flag"] for f in result["flagged"]}
    assert flagged == {
        ("classes", "crash"): "b_sparse",
        ("classes", "tambourine"): "b_sparse",
        ("families", "percussion"): "b_sparse",
        ("classes", "ride"): "a_sparse",
        ("techniques", "open"): "a_sparse",
    }
    cymbal = next(r for r in result["families"] if r["name"] == "cymbal")
    assert (cymbal["a"], cymbal["b"], cymbal["a_share"], cymbal["b_share"]) == (1200, 2000, 0.12, 0.1)
    assert cymbal["flag"] is None
    out = capsys.readouterr().out
    assert "classes crash: barely covered by musdb_hq (< 1.00% of events)" in out
    md = (ws.root / "reports/diffs/compare_cambridge_vs_musdb_hq.md").read_text(encoding="utf-8")
    assert "| `crash` | 1,200 | 12.00% | 150 | 0.75% | −11.25 pp | ⚠️ barely in musdb_hq |" in md
    assert check(ws, "prod_combined") == []


def test_strict_exits_1_when_flagged_and_min_share_moves_the_line(ws: Workspace) -> None:
    assert run(ws, "--strict") == 1
    assert run(ws, "--strict", "--min-share", "0.001") == 1
    result = read_json(ws.root / "reports/diffs/compare_cambridge_vs_musdb_hq.json")
    assert {f["name"] for f in result["flagged"]} == {"ride", "tambourine", "percussion"}


def test_weights_report_is_refused(ws: Workspace, capsys) -> None:
    write_json(ws.root / "w.json", {"schema_version": 1, "kind": "weights"})
    code = compare.main(["--workspace", str(ws.root), "w.json", "reports/health/musdb_hq_20250302.json"])
    assert code == 2
    assert "w.json: not a drumgate health report" in capsys.readouterr().err


def test_two_reports_of_one_dataset_name_the_diff_instead(ws: Workspace, capsys) -> None:
    """Comparing a report with itself wrote a `compare_x_vs_x` nobody asked for and recorded it."""
    report = "reports/health/cambridge_20250302.json"
    assert compare.main(["--workspace", str(ws.root), report, report]) == 2
    assert capsys.readouterr().err.strip().endswith(f"(fix: drumgate diff {report} {report} to see what changed"
                                                   " between them)")
    assert not (ws.root / "reports/diffs/compare_cambridge_vs_cambridge.json").exists()
