"""Diffs between two health (or two weights) reports: a deepdiff for machines, a summary for people.

`diff_reports` refuses reports of different `schema_version` or `kind`. The deepdiff runs on a
keyed view of each report (gates keyed by name, leakage by `kind:key`) so its paths name what
changed; lists whose order carries no meaning are compared ignoring order, histogram bins are
not. `render_diff_markdown` turns the summary into a PR-comment-sized Markdown document in which
every dataset-controlled string is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from deepdiff import DeepDiff

from drumgate.errors import DrumgateError
from drumgate.render.markdown import render_template
from drumgate.reports.health_places import sessions_with_events

DIFF_SCHEMA_VERSION = 1
DIFFABLE_KINDS = ("health", "weights")
ORDERED_PATHS = ("velocity_histogram",)
SHARE_DIGITS = 6
PP_DIGITS = 4
WEIGHT_MOVER_LIMIT = 20
MAX_MARKDOWN_CHARS = 60_000
DEEPDIFF_CHAR_CAPS = (40_000, 20_000, 8_000, 2_000)

Report = Mapping[str, Any]


# Validation.
def _describe(report: Any, side: str) -> tuple[Any, str]:
    if not isinstance(report, Mapping) or "schema_version" not in report or "kind" not in report:
        raise DrumgateError(
            f"the {side} report is not a drumgate report (no schema_version/kind)",
            hint="pass health or weights JSON written by drumgate",
        )
    return report["schema_version"], str(report["kind"])


def check_diffable(base: Any, head: Any) -> str:
    """The common kind of two reports, or a DrumgateError saying why they cannot be diffed."""
    base_version, base_kind = _describe(base, "base")
    head_version, head_kind = _describe(head, "head")
    if base_version != head_version:
        raise DrumgateError(
            f"cannot diff reports of different schema versions (base {base_version}, head {head_version})",
            hint="regenerate the older report with this drumgate version",
        )
    if base_kind != head_kind:
        raise DrumgateError(
            f"cannot diff a {base_kind} report against a {head_kind} report",
            hint="diff two health reports or two weights reports",
        )
    if head_kind not in DIFFABLE_KINDS:
        raise DrumgateError(f"cannot diff reports of kind {head_kind!r} (only {', '.join(DIFFABLE_KINDS)})")
    return head_kind


# Full deepdiff.
def _leak_key(item: Mapping[str, Any]) -> str:
    return f"{item.get('kind')}:{item.get('key')}"


def keyed_view(report: Report) -> dict[str, Any]:
    """The report with its lists of named things turned into dicts keyed by name."""
    view = dict(report)
    gates = report.get("gates")
    if isinstance(gates, list):
        view["gates"] = {str(g.get("name")): g for g in gates if isinstance(g, Mapping)}
    leakage = report.get("leakage")
    if isinstance(leakage, list):
        view["leakage"] = {_leak_key(item): item for item in leakage if isinstance(item, Mapping)}
    return view


def _ignore_order_at(level: Any) -> bool:
    """Lists are compared as multisets except where position carries meaning (histogram bins)."""
    path = level.path()
    return not any(part in path for part in ORDERED_PATHS)


def full_deepdiff(base: Report, head: Report) -> dict[str, Any]:
    """DeepDiff of the keyed views as plain JSON data with sorted keys."""
    diff = DeepDiff(
        keyed_view(base),
        keyed_view(head),
        ignore_order=False,
        ignore_order_func=_ignore_order_at,
        verbose_level=2,
        threshold_to_diff_deeper=0,
    )
    return orjson.loads(orjson.dumps(json.loads(diff.to_json()), option=orjson.OPT_SORT_KEYS))


def count_changes(deep: Mapping[str, Any]) -> int:
    return sum(len(entries) for entries in deep.values() if isinstance(entries, Mapping))


# Summary helpers.
def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _clean(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, SHARE_DIGITS)


def _share(count: float, total: float) -> float:
    return round(count / total, SHARE_DIGITS) if total > 0 else 0.0


def distribution_rows(base: Mapping[str, Any], head: Mapping[str, Any], base_total: float, head_total: float) -> dict:
    """Per-name count and share deltas (share of all events, in percentage points)."""
    rows = []
    for name in sorted(set(base) | set(head)):
        before, after = _number(base.get(name, 0)), _number(head.get(name, 0))
        base_share, head_share = _share(before, base_total), _share(after, head_total)
        rows.append(
            {
                "name": name,
                "base": _clean(before),
                "head": _clean(after),
                "delta": _clean(after - before),
                "base_share": base_share,
                "head_share": head_share,
                "share_delta_pp": round((head_share - base_share) * 100, PP_DIGITS),
            }
        )
    rows.sort(key=lambda r: (-abs(r["share_delta_pp"]), -abs(r["delta"]), r["name"]))
    new = sorted(r["name"] for r in rows if r["base"] == 0 and r["head"] != 0)
    vanished = sorted(r["name"] for r in rows if r["base"] != 0 and r["head"] == 0)
    return {"rows": rows, "new": new, "vanished": vanished}


def totals_rows(base: Mapping[str, Any], head: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for key in sorted(set(base) | set(head)):
        before, after = _number(base.get(key, 0)), _number(head.get(key, 0))
        out[key] = {"base": _clean(before), "head": _clean(after), "delta": _clean(round(after - before, SHARE_DIGITS))}
    return out


def _gates_by_name(report: Report) -> dict[str, Mapping[str, Any]]:
    return {str(g.get("name")): g for g in report.get("gates") or [] if isinstance(g, Mapping)}


def _gate_tally(gates: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    return {"passed": sum(1 for g in gates.values() if g.get("status") == "pass"), "total": len(gates)}


def gates_summary(base: Report, head: Report) -> dict[str, Any]:
    """Gate tallies, gates whose status flipped, and every gate failing at head."""
    before, after = _gates_by_name(base), _gates_by_name(head)
    flipped = []
    for name in sorted(set(before) & set(after)):
        if before[name].get("status") != after[name].get("status"):
            flipped.append(
                {
                    "name": name,
                    "base_status": before[name].get("status"),
                    "head_status": after[name].get("status"),
                    "base_observed": before[name].get("observed"),
                    "head_observed": after[name].get("observed"),
                    "threshold": after[name].get("threshold"),
                    "base_threshold": before[name].get("threshold"),
                }
            )
    failing = [
        {
            "name": name,
            "observed": gate.get("observed"),
            "threshold": gate.get("threshold"),
            "was": before[name].get("observed") if name in before else None,
            "was_status": before[name].get("status") if name in before else None,
            "was_threshold": before[name].get("threshold") if name in before else None,
        }
        for name, gate in sorted(after.items())
        if gate.get("status") == "fail"
    ]
    return {
        "base": _gate_tally(before),
        "head": _gate_tally(after),
        "flipped": flipped,
        "failing": failing,
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
    }


def _names_delta(before: Iterable[str], after: Iterable[str]) -> dict[str, list[str]]:
    old, new = set(before), set(after)
    return {"added": sorted(new - old), "removed": sorted(old - new)}


def sessions_summary(base: Report, head: Report) -> dict[str, Any]:
    before = base.get("sessions") or {}
    after = head.get("sessions") or {}
    moved = [
        {"session": sid, "base": before[sid].get("split"), "head": after[sid].get("split")}
        for sid in sorted(set(before) & set(after))
        if isinstance(before[sid], Mapping)
        and isinstance(after[sid], Mapping)
        and before[sid].get("split") != after[sid].get("split")
    ]
    # a session comes and goes with its events, as it does in the weights: one whose drum stem was
    # deleted stays in the inventory (its storage status says so) but has left the training data
    added_removed = _names_delta(sessions_with_events(before), sessions_with_events(after))
    return {**added_removed, "split_changed": moved, "base": len(before), "head": len(after)}


def _leak_keys(report: Report) -> list[str]:
    return [_leak_key(item) for item in report.get("leakage") or [] if isinstance(item, Mapping)]


def _split_events(report: Report) -> dict[str, float]:
    return {name: _number((body or {}).get("events", 0)) for name, body in (report.get("splits") or {}).items()}


def health_summary(base: Report, head: Report) -> dict[str, Any]:
    base_events = _number((base.get("totals") or {}).get("events", 0))
    head_events = _number((head.get("totals") or {}).get("events", 0))
    unknowns_base, unknowns_head = base.get("unknowns") or {}, head.get("unknowns") or {}
    summary: dict[str, Any] = {
        "status": {"base": base.get("status"), "head": head.get("status")},
        "totals": totals_rows(base.get("totals") or {}, head.get("totals") or {}),
        "gates": gates_summary(base, head),
        "classes": distribution_rows(base.get("classes") or {}, head.get("classes") or {}, base_events, head_events),
        "techniques": distribution_rows(
            base.get("techniques") or {}, head.get("techniques") or {}, base_events, head_events
        ),
        "splits": distribution_rows(_split_events(base), _split_events(head), base_events, head_events),
        "label_sources": distribution_rows(
            base.get("label_sources") or {}, head.get("label_sources") or {}, base_events, head_events
        ),
        "sessions": sessions_summary(base, head),
        "unknowns": {
            kind: _names_delta((unknowns_base.get(kind) or {}), (unknowns_head.get(kind) or {}))
            for kind in ("labels", "techniques")
        },
        "leakage": _names_delta(_leak_keys(base), _leak_keys(head)),
    }
    if base.get("vocabulary_classes") or head.get("vocabulary_classes"):
        summary["vocabulary_classes"] = distribution_rows(
            base.get("vocabulary_classes") or {}, head.get("vocabulary_classes") or {}, base_events, head_events
        )
    return summary


def weights_summary(base: Report, head: Report) -> dict[str, Any]:
    before = base.get("weights") or {}
    after = head.get("weights") or {}
    movers = [
        {
            "session": sid,
            "base": _clean(_number(before.get(sid, 0))),
            "head": _clean(_number(after.get(sid, 0))),
            "delta": round(_number(after.get(sid, 0)) - _number(before.get(sid, 0)), 12),
        }
        for sid in sorted(set(before) | set(after))
    ]
    movers = [m for m in movers if m["delta"] != 0]
    movers.sort(key=lambda m: (-abs(m["delta"]), m["session"]))
    mass_before, mass_after = base.get("class_mass") or {}, head.get("class_mass") or {}
    return {
        "scheme": {"base": base.get("scheme"), "head": head.get("scheme")},
        "parameters_changed": base.get("parameters") != head.get("parameters"),
        "parameters": {"base": base.get("parameters"), "head": head.get("parameters")},
        "sessions": {**_names_delta(before, after), "base": len(before), "head": len(after)},
        "movers": movers[:WEIGHT_MOVER_LIMIT],
        "movers_total": len(movers),
        "class_mass": totals_rows(mass_before, mass_after),
    }


def diff_reports(base: dict, head: dict) -> dict:
    """Summary plus full deepdiff of two reports of the same kind and schema version."""
    kind = check_diffable(base, head)
    summary = health_summary(base, head) if kind == "health" else weights_summary(base, head)
    deep = full_deepdiff(base, head)
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "kind": "diff",
        "report_kind": kind,
        "dataset": {"base": base.get("dataset"), "head": head.get("dataset")},
        "summary": summary,
        "changes": count_changes(deep),
        "deepdiff": deep,
    }


def render_diff_markdown(diff: dict, title: str) -> str:
    """A reviewer-readable Markdown page (under GitHub's comment limit) for one diff."""
    deep_json = orjson.dumps(diff.get("deepdiff", {}), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
    template = "diff_health.md.j2" if diff.get("report_kind") == "health" else "diff_weights.md.j2"
    text = ""
    for cap in DEEPDIFF_CHAR_CAPS:
        text = render_template(template, diff=diff, title=title, deepdiff_json=deep_json, deepdiff_cap=cap)
        if len(text) <= MAX_MARKDOWN_CHARS:
            break
    return text
