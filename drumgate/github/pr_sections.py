"""A dataset's part of the pull-request comment above the fold: its overview row, its callouts
(gates, waivers, storage, malformed rows, leakage, licence, unknown labels) and its digest line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drumgate.github.pr_details import licence_changed, licence_changes
from drumgate.github.pr_gates import (
    WAIVER_KEY,
    gate_callouts,
    newly_waived,
    retired,
    source_failures,
    tally,
    waived_by_flip,
)
from drumgate.github.pr_text import (
    NAMES_SHOWN,
    code,
    count,
    esc,
    hours_change,
    names_list,
    percent_change,
    plural,
    points,
    signed,
)

SHARE_SHIFT_PP = 0.5


def _totals(entry: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return entry["totals"].get(key) or {"base": 0, "head": 0, "delta": 0}


def overview_row(entry: Mapping[str, Any]) -> str:
    name = esc(entry["dataset"])
    if "error" in entry:
        return f"| {name} | ❗ error | — | — | — |"
    gates, absent = entry["gates"], entry["absent"]
    events, sessions, hours_row = (_totals(entry, key) for key in ("events", "sessions", "hours"))
    event_change = ", ".join(
        part for part in (signed(events["delta"]), percent_change(events["base"], events["head"])) if part
    )
    return (
        f"| {name} "
        f"| {tally(gates['base'], absent['base'])} → {tally(gates['head'], absent['head'])} "
        f"| {count(events['base'])} → {count(events['head'])} ({event_change}) "
        f"| {count(sessions['base'])} → {count(sessions['head'])} ({signed(sessions['delta'])}) "
        f"| {hours_change(hours_row)} |"
    )


def dataset_callouts(entry: Mapping[str, Any]) -> list[str]:
    name = esc(entry["dataset"])
    if "error" in entry:
        return [f"❗ {name}: health could not be computed: {esc(entry['error'], 400)}"]
    absent = entry["absent"]
    lines = []
    if absent["head"] and not absent["base"] and not retired(entry):  # a removal is worded with its gates
        lines.append(f"⚠️ {name}: the events manifest is removed at head.")
    elif absent["base"] and not absent["head"]:
        lines.append(f"🆕 {name}: new events manifest at head.")
    lines.extend(gate_callouts(entry))
    lines.extend(waiver_callouts(entry))
    lines.extend(weights_fallback_callouts(entry))
    lines.extend(storage_callouts(entry))
    malformed = int(entry["malformed_rows"]["head"])
    if malformed:
        lines.append(f"⚠️ {name}: {plural(malformed, 'malformed row')} at head left out of the counts (listed below).")
    if entry["leakage_added"]["count"]:
        lines.append(f"⚠️ {name}: new split leakage: {names_list(entry['leakage_added'])}.")
    licence = entry["licence"]
    base, head = licence["base"], licence["head"]
    if base is not None and head is not None and licence_changed(base, head):
        lines.append(f"⚠️ {name}: licence {licence_changes(base, head)}.")
    if entry["unknown_labels_added"]["count"]:
        lines.append(f"⚠️ {name}: labels the taxonomy does not know: {names_list(entry['unknown_labels_added'])}.")
    return lines


def waiver_callouts(entry: Mapping[str, Any]) -> list[str]:
    """Each waived failing source, "newly" when the base did not waive it; one whose gate flipped to
    pass by the waiver is worded once, by its gate (pr_gates.gate_callouts)."""
    name = esc(entry["dataset"])
    flipped = entry["gates"]["flipped"] if "gates" in entry else []
    worded = {waived["dataset"] for waived in (waived_by_flip(entry, gate) for gate in flipped) if waived}
    return [
        f"⚠️ {name}: {'newly ' if newly_waived(source) else ''}waived in {code(WAIVER_KEY)}: {source_failures(source)}."
        for source in entry.get("sources", ())
        if source["waived"] and source["failing_count"] and source["dataset"] not in worded
    ]


def weights_fallback_callouts(entry: Mapping[str, Any]) -> list[str]:
    """A side whose newest weights report names a scheme drumgate does not know was weighted under another
    one: its weights (and their movers) are not the committed ones. One line per report."""
    name = esc(entry["dataset"])
    base, head = entry["weights_fallback"]["base"], entry["weights_fallback"]["head"]
    shown = [("base and head", head)] if base and base == head else [
        (side, found) for side, found in (("base", base), ("head", head)) if found
    ]
    return [
        f"⚠️ {name}: the weights report {code(found['report'], 200)} at {side} names "
        f"{'no scheme' if found['scheme'] is None else 'scheme ' + code(found['scheme'])}, which drumgate does"
        f" not know: its weights here were computed under {code(found['used'])} instead."
        for side, found in shown
    ]


def status_move(item: Mapping[str, Any]) -> str:
    tier = f" ({esc(item['tier'])} tier)" if item["tier"] else ""
    before = esc(item["base"]) if item["base"] else "new"
    return f"{code(item['session'])}{tier} {before} → {esc(item['head'])}"


def storage_callouts(entry: Mapping[str, Any]) -> list[str]:
    """Sessions whose storage status changed (offline tier, missing or unreadable audio), with the item counts."""
    storage = entry["storage"]
    changed = storage["status_changed"]
    if not changed["count"]:
        return []
    name = esc(entry["dataset"])
    shown = ", ".join(status_move(item) for item in changed["items"][:NAMES_SHOWN])
    rest = int(changed["count"]) - len(changed["items"][:NAMES_SHOWN])
    more = f", … and {count(rest)} more" if rest > 0 else ""
    items = " · ".join(
        f"{esc(status)} {count(row['base'])} → {count(row['head'])}"
        for status, row in storage["items_by_status"].items()
        if row["delta"]
    )
    tally = f"; items by status: {items}" if items else ""
    return [f"⚠️ {name}: storage status changed for {plural(int(changed['count']), 'session')}: {shown}{more}{tally}."]



def _share_story(classes: Mapping[str, Any]) -> str:
    """Which classes gained or lost share; the largest loser and gainer side by side."""
    rows = [row for row in classes["rows"] if abs(row["share_delta_pp"]) >= SHARE_SHIFT_PP]
    if not rows:
        moved = max(classes["rows"], key=lambda row: abs(row["share_delta_pp"]), default=None)
        if moved is None or round(moved["share_delta_pp"], 2) == 0:
            return "class shares unchanged"
        return f"class shares steady (largest move {code(moved['name'])} {points(moved['share_delta_pp'])})"
    losers = sorted((r for r in rows if r["share_delta_pp"] < 0), key=lambda r: r["share_delta_pp"])
    gainers = sorted((r for r in rows if r["share_delta_pp"] > 0), key=lambda r: -r["share_delta_pp"])

    def told(row: Mapping[str, Any]) -> str:
        return f"{code(row['name'])} ({signed(row['delta'])}, {points(row['share_delta_pp'])})"

    if losers and gainers:
        return f"share moves from {told(losers[0])} to {told(gainers[0])}"
    return "share shifts: " + ", ".join(told(row) for row in (losers or gainers)[:2])


def _technique_story(techniques: Mapping[str, Any]) -> str | None:
    gone = [row for row in techniques["rows"] if row["base"] and not row["head"]]
    new = [row for row in techniques["rows"] if row["head"] and not row["base"]]
    parts = [f"technique {code(row['name'])} gone ({count(row['base'])} → 0)" for row in gone[:2]]
    parts += [f"technique {code(row['name'])} new ({count(row['head'])})" for row in new[:2]]
    return "; ".join(parts) or None


def digest_line(entry: Mapping[str, Any]) -> str | None:
    """One sentence a reviewer reads first: sessions in, out and between splits, where class share went,
    techniques."""
    if "error" in entry or entry["absent"]["base"] or entry["absent"]["head"]:
        return None
    added, removed = entry["sessions"]["added"]["count"], entry["sessions"]["removed"]["count"]
    split_moved = entry["sessions"]["split_changed"]["count"]
    parts = []
    if added or removed or split_moved:
        moves = [f"{plural(added, 'session')} added"] if added else []
        moves += [f"{plural(removed, 'session')} removed"] if removed else []
        moves += [f"{plural(split_moved, 'session')} moved to another split"] if split_moved else []
        parts.append(" and ".join(moves) if len(moves) < 3 else f"{moves[0]}, {moves[1]} and {moves[2]}")
    parts.append(_share_story(entry["classes"]))
    technique = _technique_story(entry["techniques"])
    if technique:
        parts.append(technique)
    return f"- **{esc(entry['dataset'])}**: " + "; ".join(parts) + "."
