"""`summary.json`: the facts of a pull request's health delta as data, written and read back.

`summary_document` turns the computed report into the document `pr_summary.schema.json` describes,
capped everywhere (names, rows, malformed lines, the deepdiff), with numbers as numbers: the only
thing the comment is rendered from. `read_summary` is the trusted half: it takes a summary made by
someone else's code and refuses, with one line, anything the schema does not allow or whose
numbers disagree with each other.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.github.pr_details import MOVERS_SHOWN
from drumgate.io.jsonio import read_json
from drumgate.workspace import DEFAULTS

if TYPE_CHECKING:  # the trusted render reads summaries without the modules that compute them
    from drumgate.github.pr_weights import SchemeFallback

SCHEMA_VERSION = 6
NAMES_KEPT = 50
ROWS_KEPT = 1000
MALFORMED_KEPT = 20
SPLIT_MOVES_KEPT = 50
GATES_KEPT = 500  # the schema's cap on a gate list
SUMMARY_SCHEMA = DEFAULTS / "configs" / "schemas" / "pr_summary.schema.json"
SUMMARY_MAX_BYTES = 4_000_000
DEEPDIFF_KEPT = 500_000
DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # the schema's propertyNames, matched whole
SUMMARY_FIX = "fix: regenerate it with drumgate pr-report --base REV --head REV --out DIR"


def _sample(names: Sequence[str]) -> dict[str, Any]:
    return {"count": len(names), "names": list(names[:NAMES_KEPT])}


def _distribution(distribution: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("name", "base", "head", "delta", "share_delta_pp")
    rows = [{key: row[key] for key in keys} for row in distribution["rows"][:ROWS_KEPT]]
    return {"rows": rows, "rows_total": len(distribution["rows"])}


def _gates(gates: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "base": gates["base"],
        "head": gates["head"],
        "failing": [dict(gate) for gate in gates["failing"]],
        "flipped": [dict(gate) for gate in gates["flipped"]],
        "removed": list(gates.get("removed", []))[:GATES_KEPT],
    }


def _weights(weights_diff: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not weights_diff:
        return None
    summary = weights_diff["summary"]
    movers = [{key: mover[key] for key in ("session", "base", "head")} for mover in summary["movers"]]
    return {"movers": movers[:MOVERS_SHOWN], "movers_total": summary["movers_total"]}


def _fallback(fallback: SchemeFallback | None) -> dict[str, str | None] | None:
    """A side's weights report whose scheme drumgate did not know (drumgate.github.pr_weights.SchemeFallback)."""
    return fallback.as_data() if fallback is not None else None


def _deepdiff_json(dataset: str, deepdiff: Any) -> str:
    text = orjson.dumps(deepdiff, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    if len(text) <= DEEPDIFF_KEPT:
        return text
    note = {"deepdiff_too_large": {"characters": len(text), "whole_diff": f"reports/{dataset}_diff.json"}}
    return orjson.dumps(note).decode("utf-8")


STORAGE_TABLES = (
    ("sessions_by_status", "sessions", "by_status"),
    ("items_by_status", "items", "by_status"),
    ("sessions_by_tier", "sessions", "by_tier"),
    ("items_by_tier", "items", "by_tier"),
)


def _storage_rows(base: Mapping[str, int], head: Mapping[str, int]) -> dict[str, dict[str, int]]:
    return {
        key: {"base": base.get(key, 0), "head": head.get(key, 0), "delta": head.get(key, 0) - base.get(key, 0)}
        for key in sorted({*base, *head})
    }


def _status_changes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sessions whose status moved (a new session counts when it arrives in any status but `ok`);
    moves off `ok` first, so the kept items hold every one the verdict names whenever they hold a
    move back to `ok` (drumgate.github.pr_gates)."""
    changes = []
    for session, entry in sorted(head["sessions"].items()):
        now = entry.get("status")
        was = base["sessions"].get(session, {}).get("status")
        if now is not None and now != was and (was is not None or now != "ok"):
            changes.append({"session": session, "tier": entry.get("tier"), "base": was, "head": now})
    return sorted(changes, key=lambda change: change["head"] == "ok")


def storage_data(base: Mapping[str, Any], head: Mapping[str, Any]) -> dict[str, Any]:
    """Sessions and items by status and tier at both sides, and the sessions whose status changed."""
    empty = {"sessions": {"by_status": {}, "by_tier": {}}, "items": {"by_status": {}, "by_tier": {}}}
    before, after = base.get("storage") or empty, head.get("storage") or empty
    data: dict[str, Any] = {
        name: _storage_rows(before[kind][table], after[kind][table]) for name, kind, table in STORAGE_TABLES
    }
    changes = _status_changes(base, head)
    # the kept items cannot tell how many of the moves past them are off `ok`, and the verdict counts those
    off_ok = sum(1 for change in changes if change["head"] != "ok")
    data["status_changed"] = {"count": len(changes), "off_ok": off_ok, "items": changes[:SPLIT_MOVES_KEPT]}
    return data


def sources_data(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The combined manifest's sources at head: each one's own failing gates, whether they are waived,
    and whether the base waived that source too (a waiver the pull request adds or removes is worded)."""
    waived_at_base = {name for name, found in (base.get("sources") or {}).items() if found.get("waived")}
    return [
        {"dataset": name, "failing": found["failing"][:NAMES_KEPT], "failing_count": len(found["failing"]),
         "waived": found["waived"], "base_waived": name in waived_at_base}
        for name, found in sorted((head.get("sources") or {}).items())
    ]


def dataset_data(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One dataset's entry of summary.json: everything the comment shows, as numbers and plain strings."""
    if "error" in entry:
        return {"error": entry["error"]}
    base, head, diff = entry["base"], entry["head"], entry["diff"]
    summary = diff["summary"]
    moved = summary["sessions"]["split_changed"]
    return {
        "absent": {"base": base.absent, "head": head.absent},
        "totals": summary["totals"],
        "gates": _gates(summary["gates"]),
        "classes": _distribution(summary["classes"]),
        "techniques": _distribution(summary["techniques"]),
        "sessions": {
            "added": _sample(summary["sessions"]["added"]),
            "removed": _sample(summary["sessions"]["removed"]),
            "split_changed": {"count": len(moved), "items": moved[:SPLIT_MOVES_KEPT]},
        },
        "leakage_added": _sample(summary["leakage"]["added"]),
        "unknown_labels_added": _sample(summary["unknowns"]["labels"]["added"]),
        "malformed_rows": {
            "base": base.row_errors.count,
            "head": head.row_errors.count,
            "head_shown": head.row_errors.shown[:MALFORMED_KEPT],
        },
        "licence": {"base": base.licence, "head": head.licence, "head_error": head.licence_error},
        "storage": storage_data(base.health, head.health),
        "sources": sources_data(base.health, head.health),
        "weights": _weights(entry["weights_diff"]),
        "weights_fallback": {"base": _fallback(base.weights_fallback), "head": _fallback(head.weights_fallback)},
        "changes": diff["changes"],
        "deepdiff_json": _deepdiff_json(entry["dataset"], diff["deepdiff"]),
    }


def summary_document(report: dict[str, Any]) -> dict[str, Any]:
    datasets = {entry["dataset"]: dataset_data(entry) for entry in report["entries"]}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "pr_report",
        "base": report["base"],
        "head": report["head"],
        "merge_base": report["merge_base"],
        "changed": bool(datasets),
        "configs_changed": report["configs_changed"],
        "changed_paths": len(report["changed_paths"]),
        "datasets": datasets,
    }


# Reading a summary made by untrusted code -------------------------------------------------------
def _status_moves_problem(changed: Mapping[str, Any]) -> str | None:
    """The storage moves agree with the ones kept, which hold the moves off `ok` first (`storage_data`)."""
    items, moves, off_ok = changed["items"], changed["count"], changed["off_ok"]
    back_to_ok = [item["head"] == "ok" for item in items]
    kept_off = back_to_ok.count(False)
    if len(items) > moves:
        return "more moves kept than counted"
    if len(items) < SPLIT_MOVES_KEPT and len(items) != moves:
        return f"{len(items)} moves kept, under the cap of {SPLIT_MOVES_KEPT}, but {moves} counted"
    if back_to_ok != sorted(back_to_ok):
        return "a move back to ok is kept before a move off it"
    if off_ok > moves:
        return f"{off_ok} moves off ok counted but {moves} moves in all"
    if off_ok < kept_off:
        return f"{off_ok} moves off ok counted but {kept_off} kept"
    if kept_off < SPLIT_MOVES_KEPT and off_ok != kept_off:
        # a list not full, or one holding a move back to `ok`, holds every move off `ok`
        return f"{off_ok} moves off ok counted but every one is kept and there are {kept_off}"
    return None


def _consistency_problem(summary: Mapping[str, Any]) -> str | None:
    """What the schema cannot say: the verdict's numbers agree with each other."""
    if summary["changed"] != bool(summary["datasets"]):
        return "changed disagrees with the datasets listed"
    for name, data in summary["datasets"].items():
        if not DATASET_NAME.fullmatch(name):  # the schema's `$` lets a name end in a newline
            return f"datasets: {_clipped(repr(name))} is not a dataset name"
        if "error" in data:
            continue
        try:
            orjson.dumps(orjson.loads(data["deepdiff_json"]))
        except (orjson.JSONDecodeError, TypeError):  # TypeError: nested deeper than orjson writes
            return f"datasets.{name}.deepdiff_json: not JSON drumgate can show"
        for side in ("base", "head"):
            tally = data["gates"][side]
            if tally["passed"] > tally["total"]:
                return f"datasets.{name}.gates.{side}: more gates passed than exist"
        head = data["gates"]["head"]
        failing, tally_failing = len(data["gates"]["failing"]), head["total"] - head["passed"]
        if failing != tally_failing:
            return f"datasets.{name}.gates: {failing} failing gates listed but the head tally has {tally_failing}"
        if len(data["malformed_rows"]["head_shown"]) > data["malformed_rows"]["head"]:
            return f"datasets.{name}.malformed_rows: more rows shown than counted"
        for source in data["sources"]:
            if len(source["failing"]) > source["failing_count"]:
                return f"datasets.{name}.sources: more failing gates named than counted"
        moves = _status_moves_problem(data["storage"]["status_changed"])
        if moves:
            return f"datasets.{name}.storage.status_changed: {moves}"
    return None


def read_summary(path: Path) -> dict[str, Any]:
    """A summary.json from an artifact, refused with one line unless it is exactly what the schema allows."""
    from drumgate.schemas import RowValidator

    try:
        facts = path.lstat()
    except OSError as exc:
        raise DrumgateError(f"cannot read the summary: {exc.strerror}", path=path) from None
    if not stat.S_ISREG(facts.st_mode):
        raise DrumgateError("the summary is not a regular file (a link or a folder is refused)", path=path)
    size = facts.st_size
    if size > SUMMARY_MAX_BYTES:
        raise DrumgateError(f"summary is {size:,} bytes, over the {SUMMARY_MAX_BYTES:,}-byte cap", path=path)
    summary = read_json(path)
    validator = RowValidator("pr_summary", read_json(SUMMARY_SCHEMA), compile_fast=False)
    issues = validator.reference_issues(summary)
    if issues:
        # jsonschema quotes the offending value; a forged one may be megabytes long.
        first = f"{issues[0].json_path}: {_clipped(issues[0].message)}"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise DrumgateError(f"not a pr-report summary: {first}{more}", path=path, hint=SUMMARY_FIX)
    problem = _consistency_problem(summary)
    if problem:
        raise DrumgateError(f"inconsistent pr-report summary: {problem}", path=path, hint=SUMMARY_FIX)
    return summary


def _clipped(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else f"{message[: limit // 2]} … {message[-limit // 2 :]}"
