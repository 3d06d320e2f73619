"""Readiness gates: the configured thresholds, the command line's extra minimums, and the verdicts.

A gate result is `{"name", "status", "observed", "threshold"}`; `drumgate.render.gate_wording`
words it for the reports and the pull-request comment.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.config import DatasetsConfig, line_of, load_datasets
from drumgate.errors import DrumgateError
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import COMBINED, Workspace

GATE_ORDER = (
    "min_sessions",
    "min_events",
    "min_hours",
    "min_class_events",
    "min_technique_events",
    "max_missing_audio_fraction",
    "max_unknown_label_fraction",
    "split_bounds",
    "leakage",
)
# One gate per mixed dataset of the combined manifest: `source_gates[<dataset>]`.
SOURCE_GATE = "source_gates"


@dataclass(frozen=True)
class Observed:
    events: int
    sessions: int
    hours: float
    classes_inclusive: Mapping[str, int]
    techniques: Mapping[str, int]
    missing_audio_fraction: float
    unknown_label_fraction: float
    split_shares: Mapping[str, float]
    leaks: int


@dataclass(frozen=True)
class HealthConfig:
    """What a dataset's health report is judged by: its taxonomy and its configured gates
    (configs/datasets.toml; the combined manifest's from its `[combined]` table)."""

    dataset: str
    taxonomy: Taxonomy
    gates: Mapping[str, Any]


def load_health_config(ws: Workspace, dataset: str) -> HealthConfig:
    """The workspace's configs for `dataset`'s health (an unknown dataset is a DrumgateError, and so is
    a gate naming a class or technique the taxonomy does not have, worded at its line)."""
    config = load_datasets(ws)
    gates = config.combined.get("gates", {}) if dataset == COMBINED else config.get(dataset).gates
    taxonomy = load_taxonomy(ws)
    table = gate_table(dataset)
    _check_gate_names(config.path, table, gates, taxonomy)
    return HealthConfig(dataset, taxonomy, dict(gates))


GATE_NAME_FIX = "fix: change it at that line to one of the known names"


def gate_name_problems(table: str, gates: Mapping[str, Any], taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(name, what is wrong) for each class or technique a `[table]` of gates names that the taxonomy lacks."""
    problems: list[tuple[str, str]] = []
    for key, resolve, kind, known in (
        ("min_class_events", taxonomy.resolve_class, "class", taxonomy.classes),
        ("min_technique_events", taxonomy.resolve_technique, "technique", taxonomy.techniques),
    ):
        problems.extend((name, f"{table}.{key}: {name!r} is not a {kind} of configs/technique_taxonomy.json"
                               f" (known: {', '.join(sorted(known))})")
                        for name in gates.get(key, {}) if resolve(name) is None)
    return problems


def gate_tables(config: DatasetsConfig) -> list[tuple[str, Mapping[str, Any]]]:
    """(table, gates) of every dataset and of the combined manifest, as configs/datasets.toml names them."""
    tables = [(f"datasets.{name}.gates", entry.gates) for name, entry in config.datasets.items()]
    return [*tables, ("combined.gates", config.combined.get("gates", {}))]


def _check_gate_names(path: Path, table: str, gates: Mapping[str, Any], taxonomy: Taxonomy) -> None:
    problems = gate_name_problems(table, gates, taxonomy)
    if problems:
        name, message = problems[0]
        raise DrumgateError(message, path=path, line=line_of(path, table, name), hint=GATE_NAME_FIX)


# The command-line flag that adds to each gate merge_gates merges.
GATE_FLAGS = {"min_class_events": "--require-class", "min_technique_events": "--require-technique"}


def known_name_fix(flag: str, typed: str, known: Iterable[str], suffix: str = "") -> str:
    """`fix: pass FLAG NAME<suffix>` with the known name closest to the one typed (else the first)."""
    names = sorted(known)
    if not names:
        return f"fix: leave {flag} out (configs/technique_taxonomy.json names none)"
    import difflib  # only a refused name pays for it: every health run imports this module

    close = difflib.get_close_matches(typed, names, n=1)
    pick = shlex.quote((close[0] if close else names[0]) + suffix)
    return f"fix: pass {flag} {pick}" + ("" if close else " or another of the known names")


def merge_gates(
    configured: Mapping[str, Any],
    taxonomy: Taxonomy,
    extra_class_gates: Mapping[str, int] | None,
    extra_technique_gates: Mapping[str, int] | None,
) -> dict[str, Any]:
    """Config gates with the command-line class/technique minimums on top (aliases resolved). An extra
    gate only adds or raises a minimum: a lower one would turn a failing configured gate into a pass."""
    gates = dict(configured)
    for key, extra, resolve, kind, known in (
        ("min_class_events", extra_class_gates, taxonomy.resolve_class, "class", taxonomy.classes),
        ("min_technique_events", extra_technique_gates, taxonomy.resolve_technique, "technique", taxonomy.techniques),
    ):
        merged: dict[str, int] = {}
        configured_items = [(name, minimum, False) for name, minimum in gates.get(key, {}).items()]
        for name, minimum, typed in [*configured_items, *((name, n, True) for name, n in (extra or {}).items())]:
            resolved = resolve(name)
            if resolved is None and typed:
                raise DrumgateError(
                    f"{GATE_FLAGS[key]} {name!r}: not a {kind} of configs/technique_taxonomy.json"
                    f" (known: {', '.join(sorted(known))})",
                    hint=known_name_fix(GATE_FLAGS[key], name, known, f"={minimum}"),
                )
            if resolved is None:
                raise DrumgateError(
                    f"gate {key}[{name}] names an unknown {kind}",
                    hint=f"fix: change it in configs/datasets.toml to one of configs/technique_taxonomy.json's {kind}"
                         " ids",
                )
            merged[resolved] = max(int(minimum), merged.get(resolved, 0)) if typed else int(minimum)
        if merged:
            gates[key] = dict(sorted(merged.items()))
    return gates


def gate_result(name: str, passed: bool, observed: float, threshold: Any) -> dict[str, Any]:
    return {"name": name, "status": "pass" if passed else "fail", "observed": observed, "threshold": threshold}


def evaluate_gates(gates: Mapping[str, Any], seen: Observed) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for key in GATE_ORDER:
        if key not in gates:
            continue
        threshold = gates[key]
        if key == "min_sessions":
            results.append(gate_result(key, seen.sessions >= threshold, seen.sessions, threshold))
        elif key == "min_events":
            results.append(gate_result(key, seen.events >= threshold, seen.events, threshold))
        elif key == "min_hours":
            results.append(gate_result(key, seen.hours >= threshold, seen.hours, threshold))
        elif key in ("min_class_events", "min_technique_events"):
            table = seen.classes_inclusive if key == "min_class_events" else seen.techniques
            for name, minimum in sorted(threshold.items()):
                observed = table.get(name, 0)
                results.append(gate_result(f"{key}[{name}]", observed >= minimum, observed, minimum))
        elif key == "max_missing_audio_fraction":
            observed = seen.missing_audio_fraction
            results.append(gate_result(key, observed <= threshold, observed, threshold))
        elif key == "max_unknown_label_fraction":
            observed = seen.unknown_label_fraction
            results.append(gate_result(key, observed <= threshold, observed, threshold))
        elif key == "split_bounds":
            for split, (low, high) in sorted(threshold.items()):
                share = seen.split_shares.get(split, 0.0)
                results.append(gate_result(f"split_bounds[{split}]", low <= share <= high, share, [low, high]))
        elif key == "leakage" and threshold:
            results.append(gate_result(key, seen.leaks == 0, seen.leaks, 0))
    return results


def overall_status(gates: Iterable[Mapping[str, Any]]) -> str:
    """`fail` when any gate fails, else `pass`."""
    return "fail" if any(g["status"] == "fail" for g in gates) else "pass"


def failing_gates(report: Mapping[str, Any]) -> list[str]:
    """One line per failing gate: `name: observed X vs threshold Y`."""
    return [
        f"{gate['name']}: observed {gate['observed']} vs threshold {gate['threshold']}"
        for gate in report["gates"]
        if gate["status"] == "fail"
    ]


def gate_table(dataset: str) -> str:
    """The configs/datasets.toml table holding `dataset`'s gates."""
    return "combined.gates" if dataset == COMBINED else f"datasets.{dataset}.gates"


SESSIONS_NAMED = 3


def _unusable_sessions(report: Mapping[str, Any]) -> str:
    """`; sessions not read: A (unreadable), B (missing_audio) and 2 more`, from the report's sessions
    table (which sessions the missing-audio fraction counts), escaped: session ids come from the data."""
    from drumgate.render.textsafe import log_text
    from drumgate.reports.health_sessions import MISSING_AUDIO_STATUSES

    named = [f"{log_text(session)} ({row['status']})" for session, row in sorted(report.get("sessions", {}).items())
             if row.get("status") in MISSING_AUDIO_STATUSES]
    if not named:
        return ""
    more = f" and {len(named) - SESSIONS_NAMED} more" if len(named) > SESSIONS_NAMED else ""
    return f"; sessions not read: {', '.join(named[:SESSIONS_NAMED])}{more}"


def located_failing_gates(report: Mapping[str, Any], health: HealthConfig, config: Path, shown_config: str,
                          report_path: str, explained: Iterable[str] = ()) -> list[str]:
    """`failing_gates` led by where each threshold was set: `configs/datasets.toml:LINE: [table]` for a
    gate of the dataset's configured table, the written report for one a command-line flag set (named
    at the end). Gates keyed in `explained` are left to the caller's own line."""
    table = gate_table(report["dataset"])
    resolvers = {"min_class_events": health.taxonomy.resolve_class,
                 "min_technique_events": health.taxonomy.resolve_technique}
    lines = []
    for gate, line in zip((g for g in report["gates"] if g["status"] == "fail"), failing_gates(report), strict=True):
        key, _, name = gate["name"].partition("[")
        name = name[:-1]
        if key in explained:
            continue
        if key == "max_missing_audio_fraction":
            line += _unusable_sessions(report)
        value, spelled = health.gates.get(key), name
        if name and isinstance(value, Mapping):
            resolve = resolvers.get(key, lambda typed: typed)
            spelled = next((typed for typed in reversed(list(value)) if resolve(typed) == name), name)  # last wins
            value = value.get(spelled)
        if value is not None and (value == gate["threshold"] or isinstance(value, bool)):
            dotted = line_of(config, table, f"{key}.{spelled}") if name else None  # min_class_events.kick = 50
            number, found_in = dotted or line_of(config, table, key), table
            if number is None and name:  # a sub-table: [<table>.min_class_events] kick = 50
                number, found_in = line_of(config, f"{table}.{key}", spelled), f"{table}.{key}"
            where = f"{shown_config}:{number}" if number else shown_config
            lines.append(f"{where}: [{found_in if number else table}] gate {line} (report: {report_path})")
        else:
            flag = GATE_FLAGS.get(key)
            lines.append(f"{report_path}: gate {line}" + (f" (set by {flag})" if flag else ""))
    return lines
