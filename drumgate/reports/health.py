"""Health reports: a pipeline of named stages from an events manifest to a report with readiness gates.

    rows ──count_events──▶ EventCounts                        (malformed rows reported, left out whole)
    EventCounts ──validate_counts──▶ (bad keys reported, removed: counts made without rows)
    EventCounts ──summarise_labels──▶ LabelSummary            (drumgate.reports.health_labels)
    sessions rows ──read_session_facts──▶ SessionFacts         (drumgate.reports.health_sessions)
    EventCounts + SessionFacts ──summarise_places──▶ PlaceSummary (drumgate.reports.health_places)
    all of them ──▶ Observed ──evaluate_gates──▶ gate results  (drumgate.reports.gates)

`compute_health` runs the stages and assembles the report; the combined manifest's extras (song
leaks, source gates) are in `drumgate.reports.combined`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drumgate.reports.gates import HealthConfig, Observed, evaluate_gates, merge_gates, overall_status
from drumgate.reports.health_counts import (
    ErrorSink,
    EventCounts,
    EventRows,
    add_count,
    count_events,
    validate_counts,
)
from drumgate.reports.health_labels import summarise_labels
from drumgate.reports.health_places import sessions_with_events, summarise_places
from drumgate.reports.health_sessions import SessionFacts, read_session_facts, storage_summary

SCHEMA_VERSION = 1
VELOCITY_EDGES = tuple(range(0, 129, 16))


def velocity_histogram(velocities: Mapping[Any, int]) -> dict[str, Any]:
    bins = [0] * (len(VELOCITY_EDGES) - 1)
    width = VELOCITY_EDGES[1] - VELOCITY_EDGES[0]
    null = 0
    for velocity, n in velocities.items():
        if velocity is None:
            null += n
        else:
            bins[min(velocity // width, len(bins) - 1)] += n
    return {"edges": list(VELOCITY_EDGES), "counts": bins, "null": null}



def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def compute_health(
    config: HealthConfig,
    events_rows: EventRows | EventCounts,
    sessions_rows: Iterable[Mapping[str, Any]] | SessionFacts | None = None,
    *,
    vocabulary: str | None = None,
    extra_class_gates: Mapping[str, int] | None = None,
    extra_technique_gates: Mapping[str, int] | None = None,
    source: Mapping[str, str | None] | None = None,
    on_error: ErrorSink | None = None,
    source_hashes: Mapping[str, set[str]] | None = None,
) -> dict[str, Any]:
    """The health report of one events manifest (see configs/schemas/health.schema.json), judged by
    `config` (`gates.load_health_config` loads it from a workspace).

    `source_hashes` (from `read_source_hashes` over the dataset's provenance) adds the leakage of
    identical source files filed under different sessions in different splits.

    `events_rows` may also be the counts of a file already made by `health_scan.count_events_file`
    (the fast path the CLI uses). Without `on_error` the first malformed row raises a DrumgateError
    carrying its line (the caller adds the path); with it, malformed rows are reported and left out of the counts.
    """
    taxonomy, dataset = config.taxonomy, config.dataset
    gates = merge_gates(config.gates, taxonomy, extra_class_gates, extra_technique_gates)
    counts = events_rows if isinstance(events_rows, EventCounts) else count_events(events_rows, on_error)
    validate_counts(counts, on_error)
    labels = summarise_labels(counts, taxonomy, vocabulary)
    facts = sessions_rows if isinstance(sessions_rows, SessionFacts) else read_session_facts(sessions_rows)
    places = summarise_places(counts, facts, source_hashes)
    events = counts.events
    for label, n in facts.unmapped_notes.items():
        add_count(labels.unknown_labels, label, n)
        labels.unknown_label_events += n
    unmapped = sum(facts.unmapped_notes.values())
    shares = {split: _fraction(entry["events"], events) for split, entry in places.splits.items()}
    # a session counts (toward min_sessions, the totals, the hours) once it holds events: one listed
    # without any (a MUSDB track whose drum stem is gone) has nothing to train on
    with_events = sessions_with_events(places.sessions)
    hours = round(sum(seconds for sid, seconds in facts.seconds.items() if sid in with_events) / 3600.0, 4)
    seen = Observed(
        events=events,
        sessions=len(with_events),
        hours=hours,
        classes_inclusive=labels.classes_inclusive,
        techniques=labels.techniques,
        missing_audio_fraction=_fraction(facts.missing_audio_items, facts.items),
        # unmapped MIDI notes never became events: count them beside the events they would have been
        unknown_label_fraction=_fraction(labels.unknown_label_events, events + unmapped),
        split_shares=shares,
        leaks=len(places.leakage),
    )
    gate_results = evaluate_gates(gates, seen)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "health",
        "dataset": dataset,
        "vocabulary": vocabulary,
        "source": {"events": (source or {}).get("events"), "sessions": (source or {}).get("sessions")},
        "totals": {
            "events": events,
            "sessions": len(with_events),
            "items": facts.items if facts.present else places.items,
            "hours": hours,
            "missing_audio_items": facts.missing_audio_items,
            "unknown_label_events": labels.unknown_label_events,
        },
        "classes": dict(sorted(labels.classes.items())),
        "techniques": dict(sorted(labels.techniques.items())),
        "splits": places.splits,
        "label_sources": dict(sorted(labels.label_sources.items())),
        "sessions": places.sessions,
        "velocity_histogram": velocity_histogram(counts.velocities()),
        "unknowns": {
            "labels": dict(sorted(labels.unknown_labels.items())),
            "techniques": dict(sorted(labels.unknown_techniques.items())),
        },
        "storage": storage_summary(facts),
        "leakage": places.leakage,
        "gates": gate_results,
        "status": overall_status(gate_results),
    }
    if labels.vocabulary_classes is not None:
        report["vocabulary_classes"] = dict(sorted(labels.vocabulary_classes.items()))
    return report
