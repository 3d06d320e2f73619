"""The day-two demo's pull-request comment (issue 16): a first-line verdict computed from the
summary's numbers, the offline Cambridge session, the still-failing gate of a dataset the combined
manifest mixes, and numbers equal to the committed health reports."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drumgate.cli.pr_report import main as pr_report_main
from drumgate.github import pr_gates, pr_render, pr_summary, pr_text
from drumgate.github.sticky import MARKER
from drumgate.io.jsonio import read_json, read_jsonl
from drumgate.workspace import COMBINED

CONTEXT = pr_render.Context("drumgate-health", None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "drumgate.cli", "demo", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def comment(demo: Path) -> str:
    return (demo / "pr-report" / "comment.md").read_text(encoding="utf-8")


def summary(demo: Path) -> dict[str, Any]:
    return json.loads((demo / "pr-report" / "summary.json").read_text(encoding="utf-8"))


def committed_report(demo: Path, dataset: str) -> dict[str, Any]:
    """The newest dated health report committed at HEAD for `dataset`."""
    prefix = f"{dataset}_health_" if dataset == COMBINED else f"{dataset}_"
    names = subprocess.run(
        ["git", "ls-files", "reports/health"], cwd=demo, capture_output=True, text=True, check=True
    ).stdout.split()
    dated = sorted(n for n in names if re.fullmatch(rf"reports/health/{prefix}\d{{8}}\.json", n))
    return read_json(demo / dated[-1])


def test_the_comment_starts_with_a_verdict_line(demo: Path) -> None:
    marker, verdict, *_ = comment(demo).splitlines()
    assert marker == MARKER
    assert verdict.startswith("### ") and "erge-safe" in verdict, verdict
    assert verdict == pr_gates.verdict_line(pr_render.dataset_entries(summary(demo))), "computed from the summary"


def test_the_comment_names_the_offline_cambridge_session(demo: Path) -> None:
    offline = [row for row in read_jsonl(demo / "data/manifests/cambridge_sessions.jsonl")
               if row["status"] == "tier_offline"]
    assert offline, "the demo unplugs the external drive on day two"
    text = comment(demo)
    verdict = text.splitlines()[1]
    for row in offline:
        assert f"{pr_text.code(row['session_id'])} tier_offline" in verdict
        assert f"{pr_text.code(row['session_id'])} ({row['tier']} tier) ok → tier_offline" in text
    storage = summary(demo)["datasets"]["cambridge"]["storage"]
    files = sum(len(row["files"]) for row in offline)
    assert storage["items_by_status"]["tier_offline"] == {"base": 0, "head": files, "delta": files}


def test_the_comment_names_the_still_failing_gate_of_a_mixed_source(demo: Path) -> None:
    egmd = committed_report(demo, "egmd")
    failing = [gate["name"] for gate in egmd["gates"] if gate["status"] == "fail"]
    assert failing, "the demo's egmd fails a gate on both days"
    assert "egmd" not in summary(demo)["datasets"], "egmd itself did not change"
    verdict = comment(demo).splitlines()[1]
    assert "still failing" in verdict and f"{pr_text.code('egmd')} fails" in verdict
    for name in failing:
        assert pr_text.code(name) in verdict
    combined = committed_report(demo, COMBINED)
    assert combined["sources"]["egmd"] == {"status": "fail", "failing": failing, "waived": False}


def test_the_numbers_equal_the_committed_reports(demo: Path) -> None:
    facts = summary(demo)
    text = comment(demo)
    assert facts["datasets"], "day two changes datasets"
    for dataset, data in facts["datasets"].items():
        report = committed_report(demo, dataset)
        head_totals = {key: row["head"] for key, row in data["totals"].items()}
        assert head_totals == report["totals"], dataset
        passed = sum(1 for gate in report["gates"] if gate["status"] == "pass")
        assert data["gates"]["head"] == {"passed": passed, "total": len(report["gates"])}, dataset
        assert sorted(g["name"] for g in data["gates"]["failing"]) == sorted(
            g["name"] for g in report["gates"] if g["status"] == "fail"
        )
        hours = data["totals"]["hours"]
        row = next(line for line in text.splitlines() if line.startswith(f"| {pr_text.esc(dataset)} |"))
        assert row.endswith(f"| {pr_text.hours_change(hours)} |"), row
        assert pr_text.significant(report["totals"]["hours"]) in row


def test_the_trusted_render_gives_the_same_comment(demo: Path, tmp_path: Path) -> None:
    assert pr_report_main(["--from-summary", str(demo / "pr-report" / "summary.json"), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "comment.md").read_text(encoding="utf-8") == comment(demo)


def test_the_verdict_follows_the_numbers_not_text(demo: Path) -> None:
    facts = summary(demo)
    regressed = copy.deepcopy(facts)
    gate = regressed["datasets"][COMBINED]["gates"]["failing"][0]
    gate["was_status"] = "pass"
    first = pr_render.render_comment(regressed, CONTEXT).text.splitlines()[1]
    assert first.startswith("### ❌ Not merge-safe: 1 gate regressed")
    clean = copy.deepcopy(facts)
    for data in clean["datasets"].values():
        data["gates"]["failing"] = []
        data["gates"]["head"]["passed"] = data["gates"]["head"]["total"]
        data["storage"]["status_changed"] = {"count": 0, "items": []}
    assert pr_render.render_comment(clean, CONTEXT).text.splitlines()[1] == "### ✅ Merge-safe: no gate regressed"


def storage_entry(base: dict[str, str], head: dict[str, str]) -> dict[str, Any]:
    """A summary entry whose only news is the storage moves between two sides' session statuses."""

    def health(statuses: dict[str, str]) -> dict[str, Any]:
        return {"sessions": {name: {"status": status, "tier": "external"} for name, status in statuses.items()}}

    storage = json.loads(json.dumps(pr_summary.storage_data(health(base), health(head))))
    return {"dataset": "cambridge", "absent": {"base": False, "head": False}, "gates": {"failing": []},
            "storage": storage}


def test_the_storage_count_goes_past_the_kept_moves() -> None:
    names = [f"s{index:03d}" for index in range(120)]
    entry = storage_entry(dict.fromkeys(names, "ok"), dict.fromkeys(names, "tier_offline"))
    assert entry["storage"]["status_changed"]["count"] == 120 > len(entry["storage"]["status_changed"]["items"])
    verdict = pr_gates.verdict_line([entry])
    assert verdict.endswith("<code>s003</code> tier_offline, … and 116 more"), verdict


def test_the_verdict_names_sessions_going_offline_before_those_coming_back() -> None:
    """The kept moves hold the ones going offline first, however many sessions come back before them by name."""
    back, gone = [f"a{index:03d}" for index in range(60)], ["z1", "z2", "z3"]
    entry = storage_entry(
        {**dict.fromkeys(back, "tier_offline"), **dict.fromkeys(gone, "ok")},
        {**dict.fromkeys(back, "ok"), **dict.fromkeys(gone, "missing_audio")},
    )
    verdict = pr_gates.verdict_line([entry])
    assert verdict.endswith(
        "; storage: cambridge <code>z1</code> missing_audio, cambridge <code>z2</code> missing_audio, "
        "cambridge <code>z3</code> missing_audio"
    ), verdict


def test_a_failing_gate_base_did_not_have_is_not_a_regression() -> None:
    entry = storage_entry({}, {})
    entry["dataset"] = "egmd"
    entry["gates"]["failing"] = [{"name": "min_technique_events[rimshot]", "was_status": None}]
    assert pr_gates.verdict_line([entry]) == (
        "### ✅ Merge-safe: no gate regressed; "
        "1 gate failing in new data: egmd <code>min_technique_events&#91;rimshot&#93;</code>"
    )


@pytest.mark.parametrize(
    ("base", "head", "shown"),
    [
        (0.0044, 0.0067, ("0.0044", "0.0067")),
        (0.0264, 0.0286, ("0.0264", "0.0286")),
        (0.5, 0.5926, ("0.500", "0.593")),
        (1234.2, 1234.4, ("1,234.2", "1,234.4")),
        (0.0067, 0.0067, ("0.0067", "0.0067")),
    ],
)
def test_hours_show_a_change_with_significant_digits(base: float, head: float, shown: tuple[str, str]) -> None:
    assert pr_text.significant_pair(base, head) == shown


def test_a_change_that_rounds_to_zero_reads_plus_minus_zero() -> None:
    from drumgate.github.pr_text import percent_change

    assert percent_change(100_000, 99_999) == "±0.0%"  # not −0.0%
    assert percent_change(100, 99) == "−1.0%" and percent_change(100, 101) == "+1.0%"
