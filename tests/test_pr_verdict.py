"""The day-two demo's pull-request comment (issue 16): a first-line verdict computed from the
summary's numbers, the offline Cambridge session, the still-failing gate of a dataset the combined
manifest mixes, and numbers equal to the committed health reports."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from drumgate.cli.pr_report import main as pr_report_main
from drumgate.errors import DrumgateError
from drumgate.github import pr_gates, pr_render, pr_summary, pr_text
from drumgate.github.sticky import MARKER
from drumgate.io.jsonio import read_json, read_jsonl
from drumgate.workspace import COMBINED

CONTEXT = pr_render.Context("drumgate-health", None)


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
        data["storage"]["status_changed"] = {"count": 0, "off_ok": 0, "items": []}
    assert pr_render.render_comment(clean, CONTEXT).text.splitlines()[1] == "### ✅ Merge-safe: no gate regressed"


def storage_entry(base: dict[str, str], head: dict[str, str]) -> dict[str, Any]:
    """A summary entry whose only news is the storage moves between two sides' session statuses."""

    def health(statuses: dict[str, str]) -> dict[str, Any]:
        return {"sessions": {name: {"status": status, "tier": "external"} for name, status in statuses.items()}}

    storage = json.loads(json.dumps(pr_summary.storage_data(health(base), health(head))))
    return {"dataset": "cambridge", "absent": {"base": False, "head": False}, "gates": {"failing": []},
            "storage": storage, "malformed_rows": {"base": 0, "head": 0, "head_shown": []}}


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


def summary_with(storage: dict[str, Any]) -> dict[str, Any]:
    """A summary.json the schema allows whose only news is cambridge's `storage`."""
    sha, tally, sample = "0" * 40, {"passed": 0, "total": 0}, {"count": 0, "names": []}
    rows = {"rows": [], "rows_total": 0}
    data = {
        "absent": {"base": False, "head": False}, "totals": {},
        "gates": {"base": tally, "head": tally, "failing": [], "flipped": []}, "classes": rows, "techniques": rows,
        "sessions": {"added": sample, "removed": sample, "split_changed": {"count": 0, "items": []}},
        "leakage_added": sample, "unknown_labels_added": sample,
        "malformed_rows": {"base": 0, "head": 0, "head_shown": []},
        "licence": {"base": None, "head": None, "head_error": None},
        "storage": storage, "sources": [], "weights": None, "weights_fallback": {"base": None, "head": None},
        "changes": 0, "deepdiff_json": "{}",
    }
    return {"schema_version": pr_summary.SCHEMA_VERSION, "kind": "pr_report", "base": sha, "head": sha,
            "merge_base": sha, "changed": True, "configs_changed": False, "changed_paths": 1,
            "datasets": {"cambridge": data}}


def written(tmp_path: Path, storage: dict[str, Any]) -> Path:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary_with(storage)), encoding="utf-8")
    return path


GONE = [f"g{index:03d}" for index in range(70)]
BACK = [f"b{index:03d}" for index in range(30)]


def offline_and_back() -> dict[str, Any]:
    """70 sessions go offline and 30 come back: more moves off `ok` than the summary keeps, and recoveries past them."""
    return storage_entry(
        {**dict.fromkeys(GONE, "ok"), **dict.fromkeys(BACK, "tier_offline")},
        {**dict.fromkeys(GONE, "tier_offline"), **dict.fromkeys(BACK, "ok")},
    )


def test_the_storage_count_leaves_out_sessions_coming_back_past_the_kept_moves(tmp_path: Path) -> None:
    entry = offline_and_back()
    changed = entry["storage"]["status_changed"]
    assert (changed["count"], changed["off_ok"], len(changed["items"])) == (100, 70, pr_summary.SPLIT_MOVES_KEPT)
    assert all(item["head"] == "tier_offline" for item in changed["items"]), "no recovery is kept"
    facts = pr_summary.read_summary(written(tmp_path, entry["storage"]))
    verdict = pr_gates.verdict_line(pr_render.dataset_entries(facts))
    # 70 off `ok`, 4 named: the 30 coming back are not counted as going offline (it printed "… and 96 more")
    assert verdict.endswith(
        "; storage: cambridge <code>g000</code> tier_offline, cambridge <code>g001</code> tier_offline, "
        "cambridge <code>g002</code> tier_offline, cambridge <code>g003</code> tier_offline, … and 66 more"
    ), verdict


def few_moves() -> dict[str, Any]:
    """3 sessions go offline and 2 come back: every move is kept."""
    return storage_entry({"a": "ok", "b": "ok", "c": "ok", "y": "missing_audio", "z": "tier_offline"},
                         {"a": "tier_offline", "b": "tier_offline", "c": "unreadable", "y": "ok", "z": "ok"})


def recoveries_kept() -> dict[str, Any]:
    """3 sessions go offline and 60 come back: the kept moves end in recoveries."""
    back = [f"a{index:03d}" for index in range(60)]
    return storage_entry({**dict.fromkeys(back, "tier_offline"), "z1": "ok", "z2": "ok", "z3": "ok"},
                         {**dict.fromkeys(back, "ok"), "z1": "missing_audio", "z2": "ok", "z3": "unreadable"})


def test_an_honest_storage_count_is_accepted(tmp_path: Path) -> None:
    for storage in (offline_and_back()["storage"], few_moves()["storage"], recoveries_kept()["storage"]):
        assert pr_summary.read_summary(written(tmp_path, storage))["datasets"]["cambridge"]["storage"] == storage
    assert few_moves()["storage"]["status_changed"]["off_ok"] == 3
    assert recoveries_kept()["storage"]["status_changed"]["off_ok"] == 2


def _forge(make: Any, **changed: Any) -> dict[str, Any]:
    storage = make()["storage"]
    storage["status_changed"].update(changed)
    return storage


FORGED_MOVES = {
    "the old upper bound, moves back to ok counted as going offline": (
        lambda: _forge(few_moves, off_ok=5), "5 moves off ok counted but every one is kept and there are 3"),
    "fewer off ok than the kept ones going offline": (
        lambda: _forge(offline_and_back, off_ok=49), "49 moves off ok counted but 50 kept"),
    "more off ok than moves in all": (
        lambda: _forge(offline_and_back, off_ok=101), "101 moves off ok counted but 100 moves in all"),
    "moves off ok past kept recoveries": (
        lambda: _forge(recoveries_kept, off_ok=3), "3 moves off ok counted but every one is kept and there are 2"),
    "recoveries kept before moves off ok": (
        lambda: _forge(few_moves, items=few_moves()["storage"]["status_changed"]["items"][::-1]),
        "a move back to ok is kept before a move off it"),
    "fewer moves counted than kept": (lambda: _forge(few_moves, count=4), "more moves kept than counted"),
    "moves counted past an uncapped list": (
        lambda: _forge(few_moves, count=9), "5 moves kept, under the cap of 50, but 9 counted"),
}


@pytest.mark.parametrize("case", sorted(FORGED_MOVES))
def test_a_storage_count_that_disagrees_with_the_kept_moves_is_refused(case: str, tmp_path: Path) -> None:
    make, said = FORGED_MOVES[case]
    with pytest.raises(DrumgateError) as refused:
        pr_summary.read_summary(written(tmp_path, make()))
    assert str(refused.value).count("\n") == 0
    assert f"datasets.cambridge.storage.status_changed: {said}" in str(refused.value), refused.value


def test_a_failing_gate_base_did_not_have_is_not_a_regression() -> None:
    entry = storage_entry({}, {})
    entry["dataset"] = "egmd"
    entry["gates"]["failing"] = [{"name": "min_technique_events[rimshot]", "was_status": None}]
    assert pr_gates.verdict_line([entry]) == (
        "### ✅ Merge-safe: no gate regressed; "
        "1 gate failing in new data: egmd <code>min_technique_events&#91;rimshot&#93;</code>"
    )


def test_malformed_rows_added_at_head_are_not_merge_safe() -> None:
    """A committed manifest with a row a reader refuses read "Merge-safe" (its rows were only left out of
    the counts); a trainer's reader stops there. Rows already bad at base are named, not blamed."""
    entry = storage_entry({}, {})
    entry["dataset"] = "musdb_hq"
    entry["malformed_rows"] = {"base": 0, "head": 1, "head_shown": []}
    assert pr_gates.verdict_line([entry]) == "### ❌ Not merge-safe: malformed rows at head: musdb_hq (1 row)"
    entry["gates"]["failing"] = [{"name": "min_sessions", "was_status": "pass"}]
    assert pr_gates.verdict_line([entry]).endswith("; 1 gate regressed: musdb_hq <code>min_sessions</code>")
    entry["gates"]["failing"] = []
    entry["malformed_rows"] = {"base": 2, "head": 2, "head_shown": []}
    assert pr_gates.verdict_line([entry]) == (
        "### ✅ Merge-safe: no gate regressed; malformed rows still at head: musdb_hq (2 rows)")


def test_a_group_that_could_not_be_judged_does_not_hide_the_regressions_of_others() -> None:
    entry = storage_entry({}, {})
    entry["dataset"] = "egmd"
    entry["gates"]["failing"] = [{"name": "min_sessions", "was_status": "pass"}]
    failed = {"dataset": "prod_combined", "error": "b2414e0:data/manifests/prod_combined_events.json: mixes ..."}
    assert pr_gates.verdict_line([entry, failed]) == (
        "### ❗ Not merge-safe: health could not be computed for prod_combined; "
        "1 gate regressed: egmd <code>min_sessions</code>")


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


def test_a_combined_licence_change_is_shown_from_the_entry_that_changed() -> None:
    """Both sides of the combined licence were cut to the same 60-character start, hiding the change."""
    from drumgate.github.pr_details import licence_changes

    start = "cambridge: no formal licence published; the library is described as free; egmd: CC BY 4.0; "
    line = licence_changes({"licence": start + "musdb_hq: MUSDB18 terms (academic use only)"},
                           {"licence": start + "musdb_hq: MUSDB18 terms (commercial)"})
    assert line == ("constraints changed: licence: musdb_hq’s is now “MUSDB18 terms (commercial)” "
                    "(was “MUSDB18 terms (academic use only)”)")
    # the last source leaving the mix: the whole texts cut to one start read alike
    musdb = "musdb_hq: MUSDB18 terms (academic use only); per-track licences (DSD100 from Cambridge Mixing Secrets)"
    assert licence_changes({"licence": f"{musdb}; egmd: CC BY 4.0"}, {"licence": musdb}) == (
        "constraints changed: licence: egmd’s “CC BY 4.0” gone")
    from drumgate.github.pr_details import licence_changed

    reordered = ({"licence": f"{musdb}; egmd: CC BY 4.0"}, {"licence": f"egmd: CC BY 4.0; {musdb}"})
    assert not licence_changed(*reordered), "the mix's order is no change"
    assert licence_changed({"licence": "CC BY 4.0"}, {"licence": "CC BY-NC 4.0"})
    assert licence_changes({"licence": "egmd: CC BY 4.0"}, {"licence": f"egmd: CC BY 4.0; {musdb}"}) == (
        "constraints changed: licence: musdb_hq’s “MUSDB18 terms (academic use only); per-track licences (DSD1…”"
        " added")
    assert licence_changes({"commercial_use": "no"}, {"commercial_use": "yes"}) == (
        "constraints changed: commercial use is now “yes” (was “no”)")


def test_the_rows_a_distribution_table_leaves_out_are_named_in_the_plural() -> None:
    from drumgate.github.pr_details import distribution_table

    row = {"name": "kick", "base": 10, "head": 30, "delta": 20, "share_delta_pp": 4.0}
    lines = distribution_table("class", "classes", {"rows": [row], "rows_total": 6})
    assert lines[-1] == "<sub>Classes not shown: 5 unchanged (full list in the deepdiff).</sub>"


def _judged(dataset: str, bad_rows: int, offline: list[str], sources: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "dataset": dataset, "gates": {"failing": []}, "absent": {"base": False, "head": False},
        "malformed_rows": {"base": 0, "head": bad_rows},
        "storage": {"status_changed": {"items": [{"session": name, "base": "ok", "head": "missing_audio"}
                                                 for name in offline], "off_ok": len(offline)}},
    }
    if sources is not None:
        entry["sources"] = [{"dataset": name, "failing": [], "failing_count": 0} for name in sources]
    return entry


def test_a_source_s_bad_row_and_lost_audio_are_named_once_not_again_under_the_combined_manifest() -> None:
    """The combined reference reads its sources' rows: one malformed row read "cambridge (1 row),
    prod_combined (1 row)", and one deleted drum stem was named under both."""
    from drumgate.github.pr_gates import judge

    verdict = judge([_judged("cambridge", 1, ["s1"]),
                     _judged("prod_combined", 1, ["cambridge:s1", "musdb_hq:t2"], sources=["cambridge", "musdb_hq"])])
    assert verdict.malformed_new == ["cambridge (1 row)"]
    assert verdict.offline == ["cambridge <code>s1</code> missing_audio",
                               "prod_combined <code>musdb_hq:t2</code> missing_audio"]
    assert verdict.offline_count == 2
    alone = judge([_judged("prod_combined", 2, [], sources=["cambridge"])])
    assert alone.malformed_new == ["prod_combined (2 rows)"], "no source entry counts them"


def test_a_source_gate_s_base_value_is_worded_not_a_bare_count() -> None:
    """`(was 2)` read as if the gate had seen 2 of something; it counts the mixed dataset's failing gates."""
    flipped = {"name": "source_gates[egmd]", "head_status": "pass", "head_observed": 0, "base_observed": 2,
               "threshold": 0, "base_threshold": 0, "base_status": "fail"}
    entry = {"dataset": "prod_combined", "absent": {"base": False, "head": False},
             "gates": {"failing": [], "flipped": [flipped], "removed": []}}
    assert pr_gates.gate_callouts(entry) == [
        "✅ prod_combined: <code>source_gates&#91;egmd&#93;</code> now passes: its own gates pass"
        " (was fails 2 own gates)."]


def test_a_source_gate_no_longer_judged_says_its_dataset_left_the_mix() -> None:
    entry = {"dataset": "prod_combined", "absent": {"base": False, "head": False},
             "gates": {"failing": [], "flipped": [], "removed": ["source_gates[musdb_hq]"]}}
    assert pr_gates.gate_callouts(entry) == [
        "➖ prod_combined: 1 gate no longer judged at head: <code>source_gates&#91;musdb_hq&#93;</code>"
        " (musdb_hq left the mix)."]
