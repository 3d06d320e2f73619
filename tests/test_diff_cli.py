from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.cli import diff as diff_cli
from drumgate.io.jsonio import read_json, write_json
from drumgate.lineage import check, read_lock
from drumgate.workspace import Workspace
from tests.data_repo_support import copied_repo
from tests.diff_fixtures import health_report, make_workspace, next_day_report, weights_report

BASE = "reports/health/musdb_hq_20250301.json"
HEAD = "reports/health/musdb_hq_20250302.json"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    # paths typed on the command line are relative to the current folder: work from the workspace
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    root = make_workspace(tmp_path / "ws")
    health = root / "reports" / "health"
    older = health_report()
    older["totals"]["events"] = 1
    write_json(health / "musdb_hq_20250227.json", older)
    write_json(health / "musdb_hq_20250301.json", health_report())
    write_json(health / "musdb_hq_20250302.json", next_day_report())
    write_json(health / "cambridge_20250301.json", health_report("cambridge"))
    return Workspace(root)


def test_baseline_auto_picks_newest_earlier_report_and_records_lineage(ws: Workspace, capsys) -> None:
    code = diff_cli.main(["--workspace", str(ws.root), "--baseline", "auto", "reports/health/musdb_hq_20250302.json"])
    assert code == 0
    out_json = ws.root / "reports/diffs/musdb_hq_20250301_to_20250302.json"
    out_md = out_json.with_suffix(".md")
    diff = read_json(out_json)
    assert diff["inputs"] == {"base": BASE, "head": HEAD}
    assert diff["summary"]["totals"]["events"]["base"] == 96410
    heading = "<!-- drumgate:diff -->\n### musdb_hq health: 20250301 → 20250302"
    assert out_md.read_text(encoding="utf-8").startswith(heading)
    lock = read_lock(ws, "musdb_hq")
    entry = lock["artifacts"]["reports/diffs/musdb_hq_20250301_to_20250302.md"]
    assert entry["command"] == (
        "drumgate diff reports/health/musdb_hq_20250301.json reports/health/musdb_hq_20250302.json "
        "--json-output reports/diffs/musdb_hq_20250301_to_20250302.json "
        "--markdown-output reports/diffs/musdb_hq_20250301_to_20250302.md"
    )
    assert "reports/health/musdb_hq_20250302.json" in entry["inputs"]
    assert check(ws, "musdb_hq") == []
    assert "3 change" not in capsys.readouterr().err


def test_rerun_is_byte_identical(ws: Workspace) -> None:
    argv = ["--workspace", str(ws.root), BASE, HEAD]
    assert diff_cli.main(argv) == 0
    out = ws.root / "reports/diffs/musdb_hq_20250301_to_20250302"
    first = (out.with_suffix(".json").read_bytes(), out.with_suffix(".md").read_bytes())
    assert diff_cli.main(argv) == 0
    assert (out.with_suffix(".json").read_bytes(), out.with_suffix(".md").read_bytes()) == first


def test_fail_on_regression_exits_1_naming_each_flipped_gate(ws: Workspace, capsys) -> None:
    code = diff_cli.main(
        [
            "--workspace",
            str(ws.root),
            "--fail-on-regression",
            "reports/health/musdb_hq_20250301.json",
            "reports/health/musdb_hq_20250302.json",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "min_class_events[ride]: now fails (observed 1912 vs threshold 2000, was 3345)" in err


def test_no_earlier_report_is_a_clear_usage_error(ws: Workspace, capsys) -> None:
    code = diff_cli.main(["--workspace", str(ws.root), "--baseline", "auto", "reports/health/cambridge_20250301.json"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("no health report of cambridge dated before 20250301 (fix: drumgate ingest cambridge, then"
                        " drumgate health --events data/manifests/cambridge_events.jsonl --dataset cambridge"
                        " --date 2025-02-28)")


def test_earliest_report_fix_diffs_it_against_the_next_one(ws: Workspace, capsys) -> None:
    typed = ["diff", "--baseline", "auto", "reports/health/musdb_hq_20250227.json"]
    assert cli.main(typed) == 2
    err = capsys.readouterr().err.strip()
    found = re.fullmatch(r"reports/health: no health report of musdb_hq dated before 20250227 \(fix: (.+)\)", err)
    assert found is not None, err
    fix = shlex.split(found.group(1))
    assert fix == ["drumgate", "diff", "reports/health/musdb_hq_20250227.json", "reports/health/musdb_hq_20250301.json"]
    assert cli.main(fix[1:]) == 0, capsys.readouterr().err
    assert (ws.root / "reports/diffs/musdb_hq_20250227_to_20250301.json").is_file()


def test_only_report_fix_writes_a_base_the_day_before_as_it_was_written(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    repo = copied_repo(demo, tmp_path)
    for name in ("cambridge_20260114.json", "cambridge_20260114.html"):
        (repo / "reports/health" / name).unlink()
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    monkeypatch.chdir(repo / "data")  # a subfolder: the fix's paths are typed from here
    typed = ["diff", "--baseline", "auto", "../reports/health/cambridge_20260115.json"]
    assert cli.main(typed) == 2
    err = capsys.readouterr().err.strip()
    found = re.fullmatch(r"(\S+): no health report of cambridge dated before 20260115 \(fix: (.+)\)", err)
    assert found is not None, err
    fix = shlex.split(found.group(2))
    # the command the lock records for HEAD (its --sessions, --provenance), writing the day before's report
    assert fix[:4] == ["drumgate", "health", "--events", "manifests/cambridge_events.jsonl"], fix
    assert "provenance/cambridge_provenance.jsonl" in fix and fix[-2:] == ["--date", "2026-01-14"], fix
    assert cli.main(fix[1:]) == 0, capsys.readouterr().err
    assert read_json(repo / "reports/health/cambridge_20260114.json")["dataset"] == "cambridge"
    assert cli.main(typed) == 0, capsys.readouterr().err
    assert (repo / "reports/diffs/cambridge_20260114_to_20260115.json").is_file()


def test_schema_version_mismatch_names_the_file(ws: Workspace, capsys) -> None:
    write_json(ws.root / "reports/health/musdb_hq_20250303.json", health_report(schema_version=2))
    code = diff_cli.main(["--workspace", str(ws.root), "--baseline", "auto", "reports/health/musdb_hq_20250303.json"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "musdb_hq_20250303.json: cannot diff reports of different schema versions (base 1, head 2)" in err
    assert "Traceback" not in err


def test_unreadable_report_gives_path_and_line(ws: Workspace, capsys) -> None:
    bad = ws.root / "reports/health/musdb_hq_20250304.json"
    bad.write_text('{"schema_version": 1,\n "kind": }\n', encoding="utf-8")
    code = diff_cli.main(["--workspace", str(ws.root), "reports/health/musdb_hq_20250301.json", str(bad)])
    assert code == 2
    assert "musdb_hq_20250304.json:2: invalid JSON" in capsys.readouterr().err


def test_weights_diff_gets_its_own_output_name(ws: Workspace) -> None:
    sampling = ws.root / "reports" / "sampling"
    write_json(sampling / "egmd_weights_20250301.json", weights_report({"a": 0.5, "b": 0.5}))
    write_json(sampling / "egmd_weights_20250302.json", weights_report({"a": 0.6, "b": 0.4}))
    head = "reports/sampling/egmd_weights_20250302.json"
    code = diff_cli.main(["--workspace", str(ws.root), "--baseline", "auto", head])
    assert code == 0
    md = (ws.root / "reports/diffs/egmd_weights-20250301_to_weights-20250302.md").read_text(encoding="utf-8")
    assert "| `a` | 0.5 | 0.6 | +0.1 |" in md
