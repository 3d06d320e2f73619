"""The verdict on the combined manifest's source gates, and waivers a pull request adds or removes.

- A new Cambridge gate that fails (`min_events = 1000`) failed `source_gates[cambridge]` of
  `prod_combined` (pass -> fail), yet the comment read "✅ Merge-safe: no gate regressed": the
  combined regression was left out as "named by its source", where it was filed only as failing in
  new data, so it was counted nowhere.
- Adding `egmd` to `[combined] waive_source_gates` read "source_gates[egmd] now passes: fails 1 own
  gate (was fails 1 own gate)", and the verdict did not say the pull request waived a failing gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drumgate.fixtures.pr_repo import git
from drumgate.github import pr_gates, pr_sections
from drumgate.github.pr_text import code
from drumgate.io.jsonio import read_json
from drumgate.workspace import COMBINED
from tests.data_repo_support import copied_repo, drumgate

CAMBRIDGE_GATE = code("source_gates[cambridge]")
EGMD_GATE = code("source_gates[egmd]")
KICK = code("min_class_events[kick]")
WAIVER = "waive_source_gates = [\"egmd\"]"


# End to end: the demo's repository, a commit, pr-report -------------------------------------------
def edited_config(repo: Path, edit: Any) -> None:
    path = repo / "configs" / "datasets.toml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")


def in_table(table: str, old: str, new: str) -> Any:
    """An edit of the first `old` after `[table]` (the demo's datasets.toml)."""
    def edit(text: str) -> str:
        at = text.index(f"[{table}]")
        assert old in text[at:], (table, old)
        return text[:at] + text[at:].replace(old, new, 1)
    return edit


def committed(repo: Path, message: str, egmd_health: str | None = None) -> None:
    """Commit the change, with a new E-GMD health report dated `egmd_health` if given: E-GMD's group then
    changes too and is judged beside the combined manifest (a [combined] edit alone touches only that)."""
    if egmd_health:
        made = drumgate(repo, "health", "--events", "data/manifests/egmd_events.jsonl", "--date", egmd_health)
        assert made.returncode == 1 and "min_class_events[kick]" in made.stderr, made.stdout + made.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


def pr_report(repo: Path, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    """The comment's lines and the summary of HEAD~1 -> HEAD; the trusted render of that summary is
    the same bytes."""
    out = tmp_path / "pr-report"
    report = drumgate(repo, "pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out))
    assert report.returncode in (0, 1), report.stdout + report.stderr
    comment = (out / "comment.md").read_text(encoding="utf-8")
    again = drumgate(repo, "pr-report", "--from-summary", str(out / "summary.json"), "--out", str(tmp_path / "trusted"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "trusted" / "comment.md").read_text(encoding="utf-8") == comment
    return comment.splitlines(), read_json(out / "summary.json")


def combined_gate(summary: dict[str, Any], name: str) -> dict[str, Any]:
    [flip] = [gate for gate in summary["datasets"][COMBINED]["gates"]["flipped"] if gate["name"] == name]
    return flip


def test_a_new_failing_source_gate_fails_the_combined_manifest_and_is_not_merge_safe(
        demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    edited_config(repo, in_table("datasets.egmd.gates", "{ kick = 50, snare = 50, hihat = 50 }",
                                 "{ snare = 50, hihat = 50 }"))
    edited_config(repo, in_table("datasets.cambridge.gates", "leakage = true", "leakage = true\nmin_events = 1000"))
    committed(repo, "A Cambridge minimum of events; E-GMD's kick gate dropped")
    lines, summary = pr_report(repo, tmp_path)
    flip = combined_gate(summary, "source_gates[cambridge]")
    assert (flip["base_status"], flip["head_status"]) == ("pass", "fail")
    assert lines[1] == (
        f"### ❌ Not merge-safe: 1 gate regressed: {COMBINED} {CAMBRIDGE_GATE} (<code>cambridge</code> fails "
        "<code>min_events</code>); 1 gate failing in new data: cambridge <code>min_events</code>"), lines[1]
    assert (f"**❌ {COMBINED}: {CAMBRIDGE_GATE} now fails: mixed dataset <code>cambridge</code> fails "
            "<code>min_events</code>** (was its own gates pass).<br>") in lines
    assert f"✅ {COMBINED}: {EGMD_GATE} now passes: its own gates pass (was fails 1 own gate)." in lines


def test_a_waiver_added_is_named_in_the_verdict_and_its_gate_reads_waived(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    edited_config(repo, in_table("combined", f"# {WAIVER}", WAIVER))
    committed(repo, "Waive E-GMD in the production manifest", egmd_health="2026-01-20")
    lines, summary = pr_report(repo, tmp_path)
    [egmd] = [source for source in summary["datasets"][COMBINED]["sources"] if source["dataset"] == "egmd"]
    assert (egmd["waived"], egmd["base_waived"], egmd["failing"]) == (True, False, ["min_class_events[kick]"])
    assert lines[1] == (
        f"### ✅ Merge-safe: no gate regressed; ⚠️ 1 waiver added: {COMBINED} {EGMD_GATE} (<code>egmd</code> fails "
        f"{KICK}); 1 gate still failing: egmd {KICK}"), lines[1]
    said = [line for line in lines if EGMD_GATE in line or "waive_source_gates" in line]
    assert said[1:] == [
        f"⚠️ {COMBINED}: {EGMD_GATE} now waived: <code>egmd</code> fails {KICK}, which "
        "<code>&#91;combined&#93; waive_source_gates</code> accepts at head (was failing: fails 1 own gate)."], said
    assert not any("now passes" in line for line in lines), "nothing about E-GMD passes now"


def test_a_waiver_removed_fails_the_combined_gate_again(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    edited_config(repo, in_table("combined", f"# {WAIVER}", WAIVER))
    committed(repo, "Waive E-GMD in the production manifest")
    edited_config(repo, in_table("combined", WAIVER, f"# {WAIVER}"))
    committed(repo, "Stop waiving E-GMD", egmd_health="2026-01-21")
    lines, _summary = pr_report(repo, tmp_path)
    assert lines[1] == (
        f"### ❌ Not merge-safe: 1 gate regressed: {COMBINED} {EGMD_GATE} (<code>egmd</code> fails {KICK}); "
        f"1 gate still failing: egmd {KICK}"), lines[1]
    assert (f"**❌ {COMBINED}: {EGMD_GATE} now fails, no longer waived: mixed dataset <code>egmd</code> fails "
            f"{KICK}** (was waived: fails 1 own gate).") in lines
    assert not any("waived in" in line for line in lines)


# judge on hand-built summaries ------------------------------------------------------------------
def gate(name: str, was: str | None) -> dict[str, Any]:
    return {"name": name, "observed": 1, "threshold": 0, "was": None if was is None else 0, "was_status": was,
            "was_threshold": None if was is None else 0}


def entry(dataset: str, failing: Sequence[dict[str, Any]], sources: Sequence[dict[str, Any]] = (),
          flipped: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"dataset": dataset, "absent": {"base": False, "head": False},
            "gates": {"failing": list(failing), "flipped": list(flipped), "removed": []},
            "storage": {"status_changed": {"count": 0, "off_ok": 0, "items": []}},
            "malformed_rows": {"base": 0, "head": 0, "head_shown": []}, "sources": list(sources)}


def source(dataset: str, failing: Sequence[str], waived: bool = False, base_waived: bool = False) -> dict[str, Any]:
    return {"dataset": dataset, "failing": list(failing), "failing_count": len(failing), "waived": waived,
            "base_waived": base_waived}


def combined(was: str | None, failing: Sequence[str], **waivers: bool) -> dict[str, Any]:
    return entry(COMBINED, [gate("source_gates[cambridge]", was)], [source("cambridge", failing, **waivers)])


NAMED = f"{COMBINED} {CAMBRIDGE_GATE} (<code>cambridge</code> fails <code>min_events</code>)"


def test_a_source_gate_regressed_for_a_gate_new_at_head_is_the_one_regression() -> None:
    verdict = pr_gates.judge([entry("cambridge", [gate("min_events", None)]), combined("pass", ["min_events"])])
    assert verdict.regressed == [NAMED]
    assert verdict.failing_new == ["cambridge <code>min_events</code>"]


def test_a_source_gate_regressed_with_its_own_gate_is_counted_once_by_the_dataset() -> None:
    own = entry("cambridge", [gate("min_events", "pass")])
    assert pr_gates.judge([own, combined("pass", ["min_events"])]).regressed == ["cambridge <code>min_events</code>"]
    both = entry("cambridge", [gate("min_events", "pass"), gate("min_sessions", None)])
    verdict = pr_gates.judge([both, combined("pass", ["min_events", "min_sessions"])])
    assert verdict.regressed == ["cambridge <code>min_events</code>"]
    assert verdict.failing_new == ["cambridge <code>min_sessions</code>"]


def test_a_source_gate_failing_in_new_data_with_its_own_new_gate_is_named_once() -> None:
    verdict = pr_gates.judge([entry("cambridge", [gate("min_events", None)]), combined(None, ["min_events"])])
    assert (verdict.regressed, verdict.failing_new) == ([], ["cambridge <code>min_events</code>"])
    still = pr_gates.judge([entry("cambridge", [gate("min_events", "fail")]), combined("fail", ["min_events"])])
    assert (still.regressed, still.still_failing) == ([], ["cambridge <code>min_events</code>"])


def test_a_waiver_removed_regresses_the_source_gate_while_its_own_gate_still_fails() -> None:
    verdict = pr_gates.judge([entry("cambridge", [gate("min_events", "fail")]),
                              combined("pass", ["min_events"], base_waived=True)])
    assert verdict.regressed == [NAMED]
    assert verdict.still_failing == ["cambridge <code>min_events</code>"]


def test_only_a_waiver_the_base_did_not_have_is_added() -> None:
    def added(**waivers: bool) -> list[str]:
        mixed = entry(COMBINED, [], [source("cambridge", ["min_events"], **waivers), source("egmd", [], waived=True)])
        return pr_gates.judge([mixed]).waivers_added

    assert added(waived=True) == [NAMED]
    assert added(waived=True, base_waived=True) == []
    assert added(waived=False, base_waived=True) == []
    line = pr_gates.verdict_line([entry(COMBINED, [], [source("cambridge", ["min_events"], waived=True)])])
    assert line == f"### ✅ Merge-safe: no gate regressed; ⚠️ 1 waiver added: {NAMED}"


def flip(base: str, head: str, base_observed: int, head_observed: int) -> dict[str, Any]:
    return {"name": "source_gates[cambridge]", "base_status": base, "head_status": head, "threshold": 0,
            "base_threshold": 0, "base_observed": base_observed, "head_observed": head_observed}


def test_the_waived_source_is_worded_once_and_a_standing_waiver_is_not_new() -> None:
    waived = entry(COMBINED, [], [source("cambridge", ["min_events"], waived=True)], [flip("fail", "pass", 1, 1)])
    assert pr_gates.gate_callouts(waived) == [
        f"⚠️ {COMBINED}: {CAMBRIDGE_GATE} now waived: <code>cambridge</code> fails <code>min_events</code>, which "
        "<code>&#91;combined&#93; waive_source_gates</code> accepts at head (was failing: fails 1 own gate)."]
    assert pr_sections.waiver_callouts(waived) == [], "its gate's line says it"
    newly = entry(COMBINED, [], [source("cambridge", ["min_events"], waived=True)])
    standing = entry(COMBINED, [], [source("cambridge", ["min_events"], waived=True, base_waived=True)])
    assert [line.split(": ", 1)[1] for line in pr_sections.waiver_callouts(newly) + pr_sections.waiver_callouts(
        standing)] == [f"{word}waived in <code>&#91;combined&#93; waive_source_gates</code>: <code>cambridge</code>"
                       " fails <code>min_events</code>." for word in ("newly ", "")]
    passing = entry(COMBINED, [], [source("cambridge", [])], [flip("fail", "pass", 1, 0)])
    assert pr_gates.gate_callouts(passing) == [
        f"✅ {COMBINED}: {CAMBRIDGE_GATE} now passes: its own gates pass (was fails 1 own gate)."]


def test_gate_names_from_the_pull_request_are_escaped_in_the_waiver_lines() -> None:
    forged = "min_events](https://x.invalid) <b>@team"
    mixed = entry(COMBINED, [], [source("cambridge", [forged], waived=True)], [flip("fail", "pass", 1, 1)])
    [line] = pr_gates.gate_callouts(mixed)
    [named] = pr_gates.judge([mixed]).waivers_added
    for text in (line, named):
        assert code(forged) in text and "](" not in text and "<b>" not in text and "@team" not in text
