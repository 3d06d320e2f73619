"""Counting an events manifest: the first stage of the health pipeline.

One streaming pass keeps only counters keyed by small tuples (`EventCounts`), so memory grows with
the number of distinct (session, item) pairs and label combinations, never with the number of
events. Each distinct key is validated once, the first time it is seen, with the line it came from
(`validate_counts`). Rows come from the one JSONL reader (`jsonio.iter_jsonl`);
`drumgate.reports.health_scan` counts files (by DuckDB when exact, else with `count_events`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from drumgate.errors import REGENERATE_HINT, DrumgateError

SPLITS = ("train", "validation", "test", "unassigned")
LABEL_SOURCES = ("midi", "annotation", "derived", "pseudo")

EventRows = Iterable[tuple[int, Mapping[str, Any]]]
ErrorSink = Callable[[DrumgateError], None]
LabelKey = tuple[Any, Any, Any, Any]
PlaceKey = tuple[Any, Any, Any, Any]


@dataclass
class EventCounts:
    """What the streaming pass keeps: counters keyed by tuples, plus each key's first line.

    `labels` is keyed by (label, techniques, label_source, velocity): velocity has at most 129
    values, so folding it in keeps the table small and saves a dict update per row.
    """

    labels: dict[LabelKey, int] = field(default_factory=dict)
    places: dict[PlaceKey, int] = field(default_factory=dict)
    first_line: dict[Any, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(self.labels.values())

    def velocities(self) -> dict[Any, int]:
        table: dict[Any, int] = {}
        for (_, _, _, velocity), n in self.labels.items():
            table[velocity] = table.get(velocity, 0) + n
        return table


def row_error(exc: Exception, line_no: int) -> DrumgateError:
    if isinstance(exc, KeyError):
        return DrumgateError(f"event row lacks field {exc.args[0]!r}", line=line_no, hint=REGENERATE_HINT)
    return DrumgateError(f"event row has a field of the wrong type ({exc})", line=line_no, hint=REGENERATE_HINT)


ROW_FIELDS = itemgetter("label", "techniques", "label_source", "velocity", "session_id", "split", "item_id")


def count_events(rows: EventRows, on_error: ErrorSink | None = None) -> EventCounts:
    """The hot loop: two dict updates per row; validation later, once per distinct key.

    Both keys are built and hashed before any counter moves, so a row that fails leaves no partial
    counts. `drumgate.reports.health_scan` runs it whenever DuckDB cannot count a file exactly.
    """
    counts = EventCounts()
    labels, places, first_line = counts.labels, counts.places, counts.first_line
    labels_get, places_get, fields = labels.get, places.get, ROW_FIELDS
    iterator = iter(rows)
    line_no = 0
    while True:
        try:
            for line_no, row in iterator:
                label, techniques, label_source, velocity, session_id, split, item_id = fields(row)
                attributes = row.get("attributes")
                label_key = (
                    label,
                    tuple(techniques) if type(techniques) is list else techniques or (),
                    label_source,
                    velocity,
                )
                place_key = (session_id, split, item_id, attributes.get("performance") if attributes else None)
                label_seen = labels_get(label_key)
                place_seen = places_get(place_key)
                if label_seen is None:
                    labels[label_key] = 1
                    first_line[label_key] = line_no
                else:
                    labels[label_key] = label_seen + 1
                if place_seen is None:
                    places[place_key] = 1
                    first_line[place_key] = line_no
                else:
                    places[place_key] = place_seen + 1
            return counts
        except (KeyError, TypeError, AttributeError) as exc:
            error = row_error(exc, line_no)
            if on_error is None:
                raise error from exc
            on_error(error)


def _malformed(message: str, line: int) -> DrumgateError:
    return DrumgateError(message, line=line, hint=REGENERATE_HINT)


def _check_label_key(key: LabelKey, line: int) -> None:
    label, techniques, label_source, velocity = key
    if not isinstance(label, str):
        raise _malformed(f"label must be a string, got {label!r}", line)
    if not isinstance(techniques, tuple) or not all(isinstance(t, str) for t in techniques):
        raise _malformed(f"techniques must be a list of strings, got {techniques!r}", line)
    if label_source not in LABEL_SOURCES:
        raise _malformed(f"label_source {label_source!r} is not one of {', '.join(LABEL_SOURCES)}", line)
    if velocity is not None and (type(velocity) is not int or not 0 <= velocity <= 127):
        raise _malformed(f"velocity must be an integer 0-127 or null, got {velocity!r}", line)


def _check_place_key(key: PlaceKey, line: int) -> None:
    session_id, split, item_id, performance = key
    if not isinstance(session_id, str) or not session_id:
        raise _malformed(f"session_id must be a non-empty string, got {session_id!r}", line)
    if split not in SPLITS:
        raise _malformed(f"split {split!r} is not one of {', '.join(SPLITS)}", line)
    if not isinstance(item_id, str) or not item_id:
        raise _malformed(f"item_id must be a non-empty string, got {item_id!r}", line)
    if performance is not None and not isinstance(performance, (str, int)):
        raise _malformed(f"attributes.performance must be a string, got {performance!r}", line)


def validate_counts(counts: EventCounts, on_error: ErrorSink | None = None) -> None:
    """Check every distinct key once; bad keys are reported (or raised) and removed."""
    checks: list[tuple[dict[Any, int], Callable[[Any, int], None]]] = [
        (counts.labels, _check_label_key),
        (counts.places, _check_place_key),
    ]
    for table, check in checks:
        for key in sorted(table, key=counts.first_line.__getitem__):
            try:
                check(key, counts.first_line[key])
            except DrumgateError as err:
                if on_error is None:
                    raise
                on_error(err)
                del table[key]


def add_count(table: dict[str, int], key: str, amount: int) -> None:
    table[key] = table.get(key, 0) + amount
