from __future__ import annotations

import copy

import jsonschema
import pytest

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import dumps_document, read_json
from drumgate.reports.diffing import diff_reports, render_diff_markdown
from tests.diff_fixtures import REPO_ROOT, health_report, next_day_report, weights_report

SCHEMA = read_json(REPO_ROOT / "configs" / "schemas" / "diff.schema.json")


def _row(block: dict, name: str) -> dict:
    return next(row for row in block["rows"] if row["name"] == name)


def test_health_diff_summarises_counts_shares_gates_and_sessions() -> None:
    diff = diff_reports(health_report(), next_day_report())
    jsonschema.Draft202012Validator(SCHEMA).validate(diff)
    summary = diff["summary"]
    ride = _row(summary["classes"], "ride")
    assert (ride["base"], ride["head"], ride["delta"]) == (3345, 1912, -1433)
    assert ride["base_share"] == round(3345 / 96410, 6)
    assert ride["share_delta_pp"] == round((round(1912 / 94977, 6) - round(3345 / 96410, 6)) * 100, 4)
    assert summary["classes"]["new"] == ["splash"]
    assert summary["techniques"]["new"] == ["choke"] and summary["techniques"]["vanished"] == ["bell"]
    flipped = {gate["name"]: gate for gate in summary["gates"]["flipped"]}
    assert sorted(flipped) == ["leakage", "max_unknown_label_fraction", "min_class_events[ride]"]
    assert flipped["min_class_events[ride]"] == {
        "name": "min_class_events[ride]",
        "base_status": "pass",
        "head_status": "fail",
        "base_observed": 3345,
        "head_observed": 1912,
        "threshold": 2000,
        "base_threshold": 2000,
    }
    assert summary["gates"]["base"] == {"passed": 6, "total": 6}
    assert summary["gates"]["head"] == {"passed": 3, "total": 6}
    assert summary["totals"]["events"] == {"base": 96410, "head": 94977, "delta": -1433}
    assert summary["sessions"]["removed"] == ["Actions - One Minute Smile"]
    assert len(summary["sessions"]["added"]) == 1
    assert summary["sessions"]["split_changed"] == [{"session": "Leaf - Wicked", "base": "test", "head": "train"}]
    assert summary["unknowns"]["labels"] == {"added": ["ride_crash"], "removed": []}
    assert summary["leakage"] == {"added": ["session:Leaf - Wicked"], "removed": []}


def test_deepdiff_paths_name_gates_and_ignore_gate_order() -> None:
    base = health_report()
    head = copy.deepcopy(base)
    head["gates"] = list(reversed(head["gates"]))
    assert diff_reports(base, head)["deepdiff"] == {}
    head["gates"][0]["observed"] = 1
    deep = diff_reports(base, head)["deepdiff"]
    assert list(deep["values_changed"]) == ["root['gates']['leakage']['observed']"]


def test_velocity_histogram_order_matters() -> None:
    base = health_report()
    head = copy.deepcopy(base)
    base["velocity_histogram"]["counts"] = [1, 2, 0, 0]
    head["velocity_histogram"]["counts"] = [2, 1, 0, 0]
    deep = diff_reports(base, head)["deepdiff"]
    assert "root['velocity_histogram']['counts'][0]" in deep["values_changed"]


def test_identical_reports_have_no_changes_and_a_clean_summary() -> None:
    diff = diff_reports(health_report(), health_report())
    assert diff["changes"] == 0 and diff["deepdiff"] == {}
    assert diff["summary"]["gates"]["flipped"] == [] and diff["summary"]["gates"]["failing"] == []
    text = render_diff_markdown(diff, "same")
    assert "All gates pass at head; none flipped." in text


def test_diff_is_deterministic_bytes() -> None:
    first = dumps_document(diff_reports(health_report(), next_day_report()))
    second = dumps_document(diff_reports(copy.deepcopy(health_report()), copy.deepcopy(next_day_report())))
    assert first == second


def test_schema_version_mismatch_is_refused_clearly() -> None:
    head = health_report(schema_version=2)
    with pytest.raises(DrumgateError, match=r"different schema versions \(base 1, head 2\)"):
        diff_reports(health_report(), head)


def test_kind_mismatch_and_non_reports_are_refused() -> None:
    with pytest.raises(DrumgateError, match="cannot diff a health report against a weights report"):
        diff_reports(health_report(), weights_report({"a": 1.0}))
    with pytest.raises(DrumgateError, match="not a drumgate report"):
        diff_reports({"classes": {}}, health_report())


def test_weights_diff_lists_movers_and_sessions() -> None:
    base = weights_report({"a": 0.5, "b": 0.3, "c": 0.2})
    head = weights_report({"a": 0.4, "b": 0.3, "d": 0.3}, beta=0.99)
    diff = diff_reports(base, head)
    jsonschema.Draft202012Validator(SCHEMA).validate(diff)
    summary = diff["summary"]
    assert summary["sessions"]["added"] == ["d"] and summary["sessions"]["removed"] == ["c"]
    assert [m["session"] for m in summary["movers"]] == ["d", "c", "a"]
    assert summary["movers"][0] == {"session": "d", "base": 0, "head": 0.3, "delta": 0.3}
    assert summary["parameters_changed"] is True
    text = render_diff_markdown(diff, "egmd weights")
    assert "Largest sampling-weight movers (3 of 3)" in text
    assert '**Parameters changed:** {"beta": 0.999} → {"beta": 0.99}' in text


def test_markdown_escapes_hostile_session_names() -> None:
    text = render_diff_markdown(diff_reports(health_report(), next_day_report()), "t")
    summary_part = text.split("<details>")[0]
    assert "<b>" not in text
    assert "${{" not in text
    assert "@team" not in summary_part
    escaped = "Zeno &#96;&lt;b&gt;&#96;&#124;&#36;&#123;&#123; github.token &#125;&#125; &#64;&#8203;team &#35;&#8203;1"
    assert escaped in summary_part
    assert "\\u0060\\u003cb\\u003e\\u0060|\\u0024{{ github.token }}" in text


def test_markdown_stays_under_comment_limit_for_huge_diffs() -> None:
    base = health_report()
    head = copy.deepcopy(base)
    for n in range(6000):
        head["sessions"][f"session_{n:05d}_{'x' * 40}"] = {"events": n, "split": "train"}
        head["classes"][f"class_{n:05d}"] = n
    text = render_diff_markdown(diff_reports(base, head), "big")
    assert len(text) < 65_536
    assert "truncated:" in text
    assert "more class rows in the JSON artifact" in text
