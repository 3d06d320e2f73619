"""Counting an events manifest: the first stage of the health pipeline.

One streaming pass keeps only counters keyed by small tuples (`EventCounts`), so memory grows with
the number of distinct (session, item) pairs and label combinations, never with the number of
events. Each distinct key is checked once, the first time it is seen; a row with a bad key is reported
at its line and left out of both tables (`count_events`). Counts made without rows are checked key by
key (`validate_counts`). Rows come from the one JSONL reader (`jsonio.iter_jsonl`);
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
# The exact types of the two numeric key fields: a float or boolean equals an integer (90.0 == 90,
# true == 1), so a row holding one would be counted under the integer's key if its type went unchecked.
VELOCITY_TYPES = frozenset({int, type(None)})
PERFORMANCE_TYPES = frozenset({str, int, type(None)})


def count_events(rows: EventRows, on_error: ErrorSink | None = None) -> EventCounts:
    """The hot loop: two dict lookups and updates per row; each distinct key is checked once, the
    first time it is seen.

    A row is counted in both tables or in neither: one with a key `validate_counts` would refuse is
    reported at its own line (to `on_error`, or raised) and left out of every table, so the counts
    are those of the rows that remain. Both keys are built and hashed before any counter moves.
    `drumgate.reports.health_scan` runs it whenever DuckDB cannot count a file exactly.
    """
    counts = EventCounts()
    labels, places, first_line = counts.labels, counts.places, counts.first_line
    labels_get, places_get, fields = labels.get, places.get, ROW_FIELDS
    refused: tuple[dict[Any, str], dict[Any, str]] = ({}, {})  # each table's refused keys, with what is wrong
    iterator = iter(rows)
    line_no = 0
    while True:
        try:
            for line_no, row in iterator:
                label, techniques, label_source, velocity, session_id, split, item_id = fields(row)
                attributes = row.get("attributes")
                performance = attributes.get("performance") if attributes else None
                label_key = (
                    label,
                    tuple(techniques) if type(techniques) is list else () if techniques is None else techniques,
                    label_source,
                    velocity,
                )
                place_key = (session_id, split, item_id, performance)
                label_seen = labels_get(label_key)
                place_seen = places_get(place_key)
                # the types spelled out: `type(x) in VELOCITY_TYPES` costs 40 ns more per row
                if (
                    label_seen is not None
                    and place_seen is not None
                    and (type(velocity) is int or velocity is None)
                    and (performance is None or type(performance) is str or type(performance) is int)
                ):
                    labels[label_key] = label_seen + 1
                    places[place_key] = place_seen + 1
                    continue
                problem = _row_problem(label_key, label_seen is None, place_key, place_seen is None, refused)
                if problem is not None:
                    if on_error is None:
                        raise _malformed(problem, line_no)
                    on_error(_malformed(problem, line_no))
                    continue
                labels[label_key] = (label_seen or 0) + 1
                places[place_key] = (place_seen or 0) + 1
                if label_seen is None:
                    first_line[label_key] = line_no
                if place_seen is None:
                    first_line[place_key] = line_no
            return counts
        except (KeyError, TypeError, AttributeError) as exc:
            error = row_error(exc, line_no)
            if on_error is None:
                raise error from exc
            on_error(error)


def _row_problem(
    label_key: LabelKey,
    label_new: bool,
    place_key: PlaceKey,
    place_new: bool,
    refused: tuple[dict[Any, str], dict[Any, str]],
) -> str | None:
    """What is wrong with a row the hot loop could not count under two keys already counted, or None.

    A key's verdict is remembered only when its velocity and performance have their exact types: a
    refused key holding 90.0 would otherwise be found again by a valid row's 90, and a row holding
    90.0 finds the counted key of 90, so its own key is checked even when not new."""
    exact = type(label_key[3]) in VELOCITY_TYPES and type(place_key[3]) in PERFORMANCE_TYPES
    checks = (
        (label_key, label_new, _label_key_problem, refused[0]),
        (place_key, place_new, _place_key_problem, refused[1]),
    )
    for key, new, problem_of, known in checks:
        if not exact:
            problem = problem_of(key)
        elif new:
            problem = known.get(key)
            if problem is None:
                problem = problem_of(key)
                if problem is not None:
                    known[key] = problem
        else:
            continue
        if problem is not None:
            return problem
    return None


def _malformed(message: str, line: int) -> DrumgateError:
    return DrumgateError(message, line=line, hint=REGENERATE_HINT)


def velocity_problem(velocity: Any) -> str | None:
    """What is wrong with a velocity, or None: the one rule, which the events schema hook applies too
    (`drumgate.schemas`), since JSON Schema takes 90.0 for the integer 90."""
    if velocity is not None and (type(velocity) is not int or not 0 <= velocity <= 127):
        return f"velocity must be an integer 0-127 or null, got {velocity!r}"
    return None


def _performance_problem(performance: Any) -> str | None:
    if type(performance) not in PERFORMANCE_TYPES:
        return f"attributes.performance must be a string, got {performance!r}"
    return None


def _label_key_problem(key: LabelKey) -> str | None:
    label, techniques, label_source, velocity = key
    if not isinstance(label, str):
        return f"label must be a string, got {label!r}"
    if not isinstance(techniques, tuple) or not all(isinstance(t, str) for t in techniques):
        return f"techniques must be a list of strings, got {techniques!r}"
    if label_source not in LABEL_SOURCES:
        return f"label_source {label_source!r} is not one of {', '.join(LABEL_SOURCES)}"
    return velocity_problem(velocity)


def _place_key_problem(key: PlaceKey) -> str | None:
    session_id, split, item_id, performance = key
    if not isinstance(session_id, str) or not session_id:
        return f"session_id must be a non-empty string, got {session_id!r}"
    if split not in SPLITS:
        return f"split {split!r} is not one of {', '.join(SPLITS)}"
    if not isinstance(item_id, str) or not item_id:
        return f"item_id must be a non-empty string, got {item_id!r}"
    return _performance_problem(performance)


def validate_counts(counts: EventCounts, on_error: ErrorSink | None = None) -> None:
    """Check every distinct key of counts made without rows (DuckDB's, a partitioned folder's index
    aggregates): a bad key is reported (or raised) at its first line and removed from its table.
    Counts from `count_events` pass unchanged, since it left out every row with a bad key."""
    checks: list[tuple[dict[Any, int], Callable[[Any], str | None]]] = [
        (counts.labels, _label_key_problem),
        (counts.places, _place_key_problem),
    ]
    for table, problem_of in checks:
        for key in sorted(table, key=counts.first_line.__getitem__):
            problem = problem_of(key)
            if problem is None:
                continue
            error = _malformed(problem, counts.first_line[key])
            if on_error is None:
                raise error
            on_error(error)
            del table[key]


def add_count(table: dict[str, int], key: str, amount: int) -> None:
    table[key] = table.get(key, 0) + amount
