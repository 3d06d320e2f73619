"""Gates in the pull-request comment: the tallies, the callouts and the first-line verdict.

Every verdict ("now fails", "still fails", "regressed", merge-safe or not) is computed here from the
summary's gate statuses and counts, never taken from text in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drumgate.github.pr_details import licence_changed
from drumgate.github.pr_text import NAMES_SHOWN, code, count, esc, plural
from drumgate.render.gate_wording import gate_sentence
from drumgate.render.numbers import fmt_number
from drumgate.reports.gates import SOURCE_GATE

# a gate value is a number or a few of them; the cap only bounds a forged one
PHRASE_CHARS = 200
WAIVER_KEY = "[combined] waive_source_gates"


def shown_number(value: Any) -> str:
    """A gate's value as the Markdown reports print it (drumgate.render.numbers), escaped."""
    return esc(fmt_number(value), PHRASE_CHARS)


def gate_comparison(name: str, value: Any, threshold: Any, passed: bool) -> str:
    """The gate's phrase in the one wording per gate kind (drumgate.render.gate_wording)."""
    return gate_sentence(name, value, threshold, passed, number=shown_number)


def gates_pass(gates: Mapping[str, Any]) -> bool:
    """The verdict, from the tally's numbers alone: every gate passed."""
    return int(gates["passed"]) == int(gates["total"])


def tally(gates: Mapping[str, Any], absent: bool) -> str:
    if absent:
        return "— (absent)"
    icon = "✅" if gates_pass(gates) else "❌"
    return f"{icon} {count(gates['passed'])}/{count(gates['total'])}"


def source_of_gate(entry: Mapping[str, Any], gate_name: str) -> Mapping[str, Any] | None:
    """The mixed source a `source_gates[<ds>]` gate of the combined manifest judges, from the summary."""
    for source in entry.get("sources", ()):
        if gate_name == f"{SOURCE_GATE}[{source['dataset']}]":
            return source
    return None


def source_failures(source: Mapping[str, Any]) -> str:
    """`egmd` fails `min_class_events[kick]`, … (the source's own failing gates, by name)."""
    shown = ", ".join(code(name) for name in source["failing"][:NAMES_SHOWN])
    rest = int(source["failing_count"]) - len(source["failing"][:NAMES_SHOWN])
    more = f", … and {count(rest)} more" if rest > 0 else ""
    return f"{code(source['dataset'])} fails {shown}{more}"


def gate_comparison_in(entry: Mapping[str, Any], gate: Mapping[str, Any], value: Any, passed: bool) -> str:
    source = source_of_gate(entry, gate["name"])
    if source is not None and not passed and source["failing"]:
        return f"mixed dataset {source_failures(source)}"
    return gate_comparison(gate["name"], value, gate["threshold"], passed)


def was_value(gate: Mapping[str, Any], value: Any, passed: bool) -> str:
    """A gate's base value in a `(was ...)`: the number, or for a source gate (whose number counts the
    mixed dataset's failing gates) its phrase, `fails 2 own gates`."""
    if str(gate["name"]).startswith(f"{SOURCE_GATE}["):
        return gate_comparison(gate["name"], value, gate.get("threshold"), passed)
    return shown_number(value)


def newly_waived(source: Mapping[str, Any]) -> bool:
    """A mixed source failing its own gates that `[combined] waive_source_gates` waives at head and did
    not at base: the pull request adds the waiver."""
    return bool(source.get("waived")) and int(source["failing_count"]) > 0 and not source.get("base_waived", False)


def waived_by_flip(entry: Mapping[str, Any], gate: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The source of a `source_gates[<ds>]` that flipped to pass only because its failing source is
    waived at head: its own gates still fail, so "now passes" would hide them."""
    source = source_of_gate(entry, gate["name"])
    if gate["head_status"] != "pass" or entry["absent"]["base"] or source is None:
        return None
    return source if source.get("waived") and int(source["failing_count"]) > 0 else None


def gate_callouts(entry: Mapping[str, Any]) -> list[str]:
    gates, name = entry["gates"], esc(entry["dataset"])
    base_absent = entry["absent"]["base"]
    lines = []
    for gate in gates["failing"]:
        comparison = gate_comparison_in(entry, gate, gate["observed"], passed=False)
        source = source_of_gate(entry, gate["name"])
        unwaived = source is not None and source.get("base_waived", False) and not source.get("waived")
        was = (f" (was {'waived: ' if unwaived else ''}{was_value(gate, gate['was'], gate['was_status'] == 'pass')})"
               if gate["was"] is not None and not base_absent else "")
        if was and _threshold_moved(gate.get("was_threshold"), gate["threshold"]):  # the gate moved, not the data
            before = f"{shown_number(gate['was'])} against {shown_number(gate['was_threshold'])}"
            was = f" (was {before}: the threshold changed)"
        if gate["was_status"] == "pass" and not base_absent:
            verb = "now fails, no longer waived" if unwaived else "now fails"
            lines.append(f"**❌ {name}: {code(gate['name'])} {verb}: {comparison}**{was}.")
        elif gate["was_status"] == "fail" and not base_absent:
            was = "" if source_of_gate(entry, gate["name"]) else was
            lines.append(f"❌ {name}: {code(gate['name'])} still fails: {comparison}{was}.")
        else:  # failing in new data (judge): in bold only a regression
            lines.append(f"❌ {name}: {code(gate['name'])} fails: {comparison}.")
    for gate in gates["flipped"]:
        waived = waived_by_flip(entry, gate)
        if waived is not None:
            lines.append(f"⚠️ {name}: {code(gate['name'])} now waived: {source_failures(waived)}, which "
                         f"{code(WAIVER_KEY)} accepts at head (was failing: "
                         f"{was_value(gate, gate['base_observed'], passed=False)}).")
        elif gate["head_status"] == "pass" and not base_absent:
            comparison = gate_comparison(gate["name"], gate["head_observed"], gate["threshold"], passed=True)
            was = was_value(gate, gate["base_observed"], passed=False)
            if _threshold_moved(gate.get("base_threshold"), gate["threshold"]):
                was += f" against {shown_number(gate['base_threshold'])}: the threshold changed"
            lines.append(f"✅ {name}: {code(gate['name'])} now passes: {comparison} (was {was}).")
    removed = gates.get("removed") or []
    if removed and not base_absent:
        shown = ", ".join(_removed_gate(gate) for gate in removed[:NAMES_SHOWN])
        more = f", … and {count(len(removed) - NAMES_SHOWN)} more" if len(removed) > NAMES_SHOWN else ""
        if retired(entry):
            lines.append(f"➖ {name}: removed at head, with its {plural(len(removed), 'gate')}: {shown}{more}.")
        elif not entry["absent"]["head"]:
            lines.append(f"➖ {name}: {plural(len(removed), 'gate')} no longer judged at head: {shown}{more}.")
    return lines


def _removed_gate(name: str) -> str:
    """A gate no longer judged, with why when its name says it: a source gate goes with its dataset's share."""
    source = name.removeprefix(f"{SOURCE_GATE}[").removesuffix("]") if name.startswith(f"{SOURCE_GATE}[") else None
    return code(name) + (f" ({esc(source)} left the mix)" if source else "")


def retired(entry: Mapping[str, Any]) -> bool:
    """A dataset the pull request takes out: events at base, none at head, and no gate judging it at
    head (its config table is gone: drumgate.github.pr_sides.compute_side)."""
    gates = entry["gates"]
    return (entry["absent"]["head"] and not entry["absent"]["base"] and int(gates["head"]["total"]) == 0
            and bool(gates.get("removed")))


def _threshold_moved(before: Any, after: Any) -> bool:
    return before is not None and after is not None and before != after



@dataclass
class Verdict:
    """What the gates say across every changed dataset, counted from the summary's numbers."""

    errors: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    failing_new: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    offline_count: int = 0
    malformed_new: list[str] = field(default_factory=list)  # more rows a reader refuses than at base
    malformed_still: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # datasets taken out with their config table
    licence_changed: list[str] = field(default_factory=list)  # what a trainer may do with the data moved
    waivers_added: list[str] = field(default_factory=list)  # failing sources the pull request waives


def _gate_named(entry: Mapping[str, Any], gate: Mapping[str, Any]) -> str:
    source = source_of_gate(entry, gate["name"])
    where = f" ({source_failures(source)})" if source is not None and source["failing"] else ""
    return f"{esc(entry['dataset'])} {code(gate['name'])}{where}"


def gate_standing(entry: Mapping[str, Any], gate: Mapping[str, Any]) -> str:
    """`regressed` (passed at base), `still` (failed at base) or `new` (a gate base did not have, or a
    dataset new at head: it fails in new data)."""
    if entry["absent"]["base"] or gate["was_status"] is None:
        return "new"
    return "still" if gate["was_status"] == "fail" else "regressed"


def _waiver_named(entry: Mapping[str, Any], source: Mapping[str, Any]) -> str:
    gate = f"{SOURCE_GATE}[{source['dataset']}]"
    return f"{esc(entry['dataset'])} {code(gate)} ({source_failures(source)})"


def _named_by_its_source(entry: Mapping[str, Any], gate: Mapping[str, Any],
                         failing_of: Mapping[str, set[str]], regressed_of: Mapping[str, set[str]]) -> bool:
    """A combined manifest's `source_gates[<ds>]` failing only for gates `<ds>`'s own entry already
    lists as failing: one cause, named once, by the dataset. A regressed one is left out only when that
    entry counts a regression of those gates: a gate new at head fails there in new data, and a waiver
    removed leaves them still failing, so the combined gate's is then the only regression."""
    source = source_of_gate(entry, gate["name"])
    if source is None or not source["failing"] or source["dataset"] not in failing_of:
        return False
    own = failing_of[source["dataset"]]
    if int(source["failing_count"]) > len(own) or not set(source["failing"]) <= own:
        return False
    return gate_standing(entry, gate) != "regressed" or bool(set(source["failing"]) & regressed_of[source["dataset"]])


def _bad_rows_of_its_sources(entry: Mapping[str, Any], bad_at_head: Mapping[str, int]) -> bool:
    """A combined manifest's malformed rows at head that its mixed sources' own entries already count:
    its reference reads their rows, so one bad row showed under the dataset and again under it."""
    sources = [source["dataset"] for source in entry.get("sources", ())]
    return bool(sources) and int(entry["malformed_rows"]["head"]) <= sum(bad_at_head.get(ds, 0) for ds in sources)


def judge(entries: Sequence[Mapping[str, Any]]) -> Verdict:
    verdict = Verdict()
    judged = [entry for entry in entries if "error" not in entry]
    failing_of = {entry["dataset"]: {gate["name"] for gate in entry["gates"]["failing"]} for entry in judged}
    regressed_of = {entry["dataset"]: {gate["name"] for gate in entry["gates"]["failing"]
                                       if gate_standing(entry, gate) == "regressed"} for entry in judged}
    bad_at_head = {entry["dataset"]: int(entry["malformed_rows"]["head"]) for entry in judged
                   if not entry.get("sources")}
    own_storage = {(entry["dataset"], item["session"]) for entry in judged if not entry.get("sources")
                   for item in entry["storage"]["status_changed"]["items"]}
    for entry in entries:
        if "error" in entry:
            verdict.errors.append(esc(entry["dataset"]))
            continue
        if retired(entry):
            verdict.retired.append(esc(entry["dataset"]))
        licence = entry.get("licence") or {}
        if licence.get("base") is not None and licence.get("head") is not None and licence_changed(
                licence["base"], licence["head"]):
            verdict.licence_changed.append(esc(entry["dataset"]))
        for gate in entry["gates"]["failing"]:
            if _named_by_its_source(entry, gate, failing_of, regressed_of):
                continue
            standing = gate_standing(entry, gate)
            listed = {"new": verdict.failing_new, "still": verdict.still_failing, "regressed": verdict.regressed}
            listed[standing].append(_gate_named(entry, gate))
        verdict.waivers_added.extend(_waiver_named(entry, source) for source in entry.get("sources", ())
                                     if newly_waived(source))
        base_bad, head_bad = int(entry["malformed_rows"]["base"]), int(entry["malformed_rows"]["head"])
        if head_bad and not _bad_rows_of_its_sources(entry, bad_at_head):
            bad = f"{esc(entry['dataset'])} ({plural(head_bad, 'row')})"
            (verdict.malformed_new if head_bad > base_bad else verdict.malformed_still).append(bad)
        named, total = _offline(entry, own_storage)
        verdict.offline.extend(named)
        verdict.offline_count += total
    return verdict


def _offline(entry: Mapping[str, Any], own: set[tuple[str, str]]) -> tuple[list[str], int]:
    """The sessions of `entry` whose storage status moved to anything but `ok`: the kept ones named,
    and how many there are in all (`off_ok`, which pr_summary.read_summary checks against the kept ones).
    A combined manifest's `<ds>:<session>` whose dataset's entry names it (`own`) is that one session."""
    changed = entry["storage"]["status_changed"]
    items = [item for item in changed["items"] if item["head"] != "ok"]
    if entry.get("sources"):
        items = [item for item in items if tuple(str(item["session"]).split(":", 1)) not in own]
        dropped = sum(1 for item in changed["items"] if item["head"] != "ok") - len(items)
        total = max(int(changed["off_ok"]) - dropped, len(items))
    else:
        total = max(int(changed["off_ok"]), len(items))
    return [f"{esc(entry['dataset'])} {code(item['session'])} {esc(item['head'])}" for item in items], total


def _listed(label: str, items: Sequence[str], total: int | None = None, shown: int = 4) -> str:
    rest = (len(items) if total is None else total) - len(items[:shown])
    more = f", … and {count(rest)} more" if rest > 0 else ""
    return f"{label}: {', '.join(items[:shown])}{more}"


def verdict_line(entries: Sequence[Mapping[str, Any]], configs_changed: bool = False) -> str:
    """The first line: merge-safe or not, computed here from the gate statuses and counts in the summary."""
    verdict = judge(entries)
    regressed = _listed(plural(len(verdict.regressed), "gate") + " regressed", verdict.regressed)
    if verdict.errors or verdict.malformed_new:
        head = (f"❗ Not merge-safe: health could not be computed for {', '.join(verdict.errors)}" if verdict.errors
                # a trainer's reader stops at such a row, whatever the gates say
                else f"❌ Not merge-safe: {_listed('malformed rows at head', verdict.malformed_new)}")
        if verdict.regressed:
            head += f"; {regressed}"
    elif verdict.regressed:
        head = f"❌ Not merge-safe: {regressed}"
    elif not entries and configs_changed:
        head = "✅ Merge-safe: configs changed, but no dataset group with events is touched"
    elif not entries:
        head = "✅ Merge-safe: no dataset artifacts or configs changed"
    else:
        head = "✅ Merge-safe: no gate regressed"
    parts = [head]
    if verdict.waivers_added:  # a failing gate accepted by this pull request, whatever the verdict
        parts.append(_listed(f"⚠️ {plural(len(verdict.waivers_added), 'waiver')} added", verdict.waivers_added))
    if verdict.still_failing:
        parts.append(_listed(f"{plural(len(verdict.still_failing), 'gate')} still failing", verdict.still_failing))
    if verdict.failing_new:
        parts.append(_listed(f"{plural(len(verdict.failing_new), 'gate')} failing in new data", verdict.failing_new))
    if verdict.malformed_still:
        parts.append(_listed("malformed rows still at head", verdict.malformed_still))
    if verdict.retired:
        parts.append(_listed(f"{plural(len(verdict.retired), 'dataset')} removed", verdict.retired))
    if verdict.licence_changed:
        parts.append(_listed("⚠️ licence constraints changed", verdict.licence_changed))
    if verdict.offline_count:
        parts.append(_listed("storage", verdict.offline, verdict.offline_count))
    return "### " + "; ".join(parts)
