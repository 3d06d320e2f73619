"""Health reports: one streaming pass over an events manifest, then readiness gates.

The pass keeps only counters keyed by small tuples, so memory grows with the number of distinct
(session, item) pairs and label combinations, never with the number of events. Each distinct key
is validated once, the first time it is seen, with the line it came from.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from drumgate.artifacts import ingest_fix
from drumgate.config import DatasetsConfig, load_datasets
from drumgate.errors import DrumgateError
from drumgate.io.jsonio import LFS_POINTER_PREFIX, is_gzip_path, iter_jsonl, rows_of_lines
from drumgate.reports.overlap import identity_key
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import COMBINED, Workspace

SCHEMA_VERSION = 1
VELOCITY_EDGES = tuple(range(0, 129, 16))
SPLITS = ("train", "validation", "test", "unassigned")
LABEL_SOURCES = ("midi", "annotation", "derived", "pseudo")
MISSING_AUDIO_STATUSES = frozenset({"missing_audio", "unreadable"})
SESSION_STATUSES = ("ok", "missing_audio", "unreadable", "tier_offline")
UNKNOWN_STATUS = "unknown"
# An E-GMD MIDI note with no entry in the note map is counted under this label (never dropped).
UNMAPPED_NOTE_LABEL = "midi_note_{note}"
NOTE_MAP_FILE = "configs/roland_note_map.json"
UNMAPPED_VOCABULARY_LABEL = "unmapped"
# Every empty file has this digest; two sessions each holding one do not share a recording.
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
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


def read_events(path: str | Path, on_error: ErrorSink | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """`jsonio.iter_jsonl` with the common case inlined (one orjson call per line, no strip):
    plain `.jsonl` only; anything unusual (gzip, a bad or blank line) takes the reference path."""
    source = Path(path)
    if is_gzip_path(source):
        yield from iter_jsonl(source, on_error)
        return
    try:
        handle = source.open("rb")
    except OSError:
        yield from iter_jsonl(source, on_error)
        return
    with handle:
        first = handle.readline()
        if not first or first.startswith(LFS_POINTER_PREFIX):
            yield from iter_jsonl(source, on_error)
            return
        numbered = enumerate(itertools.chain((first,), handle), start=1)
        yield from rows_of_lines(numbered, source, on_error)


def _row_error(exc: Exception, line_no: int) -> DrumgateError:
    if isinstance(exc, KeyError):
        return DrumgateError(f"event row lacks field {exc.args[0]!r}", line=line_no, hint="regenerate the manifest")
    return DrumgateError(f"event row has a field of the wrong type ({exc})", line=line_no)


ROW_FIELDS = itemgetter("label", "techniques", "label_source", "velocity", "session_id", "split", "item_id")


def count_events(rows: EventRows, on_error: ErrorSink | None = None) -> EventCounts:
    """The reference hot loop: two dict updates per row; validation later, once per distinct key.

    Both keys are built and hashed before any counter moves, so a row that fails leaves no partial
    counts. `drumgate.reports.health_scan` is the fused (and parallel) form for files; tests hold the two
    to the same report.
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
            error = _row_error(exc, line_no)
            if on_error is None:
                raise error from exc
            on_error(error)


def _malformed(message: str, line: int) -> DrumgateError:
    return DrumgateError(message, line=line, hint="fix or regenerate the events manifest")


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


# Aggregation of the counters into the report sections.


@dataclass
class LabelSummary:
    classes: dict[str, int]
    classes_inclusive: dict[str, int]
    techniques: dict[str, int]
    label_sources: dict[str, int]
    unknown_labels: dict[str, int]
    unknown_techniques: dict[str, int]
    vocabulary_classes: dict[str, int] | None
    unknown_label_events: int


def _add(table: dict[str, int], key: str, amount: int) -> None:
    table[key] = table.get(key, 0) + amount


@dataclass(frozen=True)
class Resolution:
    """What the taxonomy says about one (label, techniques) pair, worked out once per pair."""

    class_id: str | None
    ancestors: tuple[str, ...]
    techniques: tuple[str, ...]
    unknown_techniques: tuple[str, ...]
    vocabulary_label: str | None


def resolve_pair(taxonomy: Taxonomy, vocabulary: str | None, label: str, raw: tuple[str, ...]) -> Resolution:
    resolved = [(name, taxonomy.resolve_technique(name)) for name in raw]
    techniques = tuple(tid for _, tid in resolved if tid is not None)
    unknown = tuple(name for name, tid in resolved if tid is None)
    class_id = taxonomy.resolve_class(label)
    if class_id is None:
        return Resolution(None, (), techniques, unknown, None)
    target = None
    if vocabulary:
        target = taxonomy.to_vocabulary(vocabulary, class_id, tuple(sorted(set(techniques))))
        target = target or UNMAPPED_VOCABULARY_LABEL
    return Resolution(class_id, tuple(taxonomy.ancestors(class_id)), techniques, unknown, target)


def summarise_labels(counts: EventCounts, taxonomy: Taxonomy, vocabulary: str | None) -> LabelSummary:
    if vocabulary:
        taxonomy.vocabulary(vocabulary)
    sources: dict[str, int] = {}
    pairs: dict[tuple[str, tuple[str, ...]], int] = {}
    for (label, raw_techniques, source, _), n in counts.labels.items():
        _add(sources, source, n)
        pairs[(label, raw_techniques)] = pairs.get((label, raw_techniques), 0) + n
    summary = LabelSummary({}, {}, {}, sources, {}, {}, {} if vocabulary else None, 0)
    for (label, raw_techniques), n in pairs.items():
        _add_resolution(summary, label, resolve_pair(taxonomy, vocabulary, label, raw_techniques), n)
    return summary


def _add_resolution(summary: LabelSummary, label: str, found: Resolution, n: int) -> None:
    for name in found.unknown_techniques:
        _add(summary.unknown_techniques, name, n)
    for tid in found.techniques:
        _add(summary.techniques, tid, n)
    if found.class_id is None:
        summary.unknown_label_events += n
        _add(summary.unknown_labels, label, n)
        return
    _add(summary.classes, found.class_id, n)
    for ancestor in found.ancestors:
        _add(summary.classes_inclusive, ancestor, n)
    if summary.vocabulary_classes is not None and found.vocabulary_label is not None:
        _add(summary.vocabulary_classes, found.vocabulary_label, n)


@dataclass
class SessionFacts:
    """What the sessions inventory adds: split, seconds, audio hashes, missing files, storage status."""

    splits: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    audio_hashes: dict[str, set[str]] = field(default_factory=dict)
    items: int = 0
    missing_audio_items: int = 0
    present: bool = False
    statuses: dict[str, str] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)
    storage_of: dict[str, dict[str, str]] = field(default_factory=dict)
    items_by_status: dict[str, int] = field(default_factory=dict)
    items_by_tier: dict[str, int] = field(default_factory=dict)
    unmapped_notes: dict[str, int] = field(default_factory=dict)


def _session_seconds(row: Mapping[str, Any]) -> float:
    seconds = row.get("seconds")
    if isinstance(seconds, (int, float)):
        return float(seconds)
    longest = 0.0
    for item in row.get("files") or ():
        fmt = item.get("format") if isinstance(item, Mapping) else None
        if isinstance(fmt, Mapping) and isinstance(fmt.get("seconds"), (int, float)):
            longest = max(longest, float(fmt["seconds"]))
    return longest


def _status_of(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def _add_unmapped_notes(facts: SessionFacts, row: Mapping[str, Any]) -> None:
    notes = row.get("unmapped_notes")
    if not isinstance(notes, Mapping):
        return
    for note, n in notes.items():
        if type(n) is int and n > 0:
            _add(facts.unmapped_notes, UNMAPPED_NOTE_LABEL.format(note=note), n)


def read_session_facts(rows: Iterable[Mapping[str, Any]] | None) -> SessionFacts:
    facts = SessionFacts()
    if rows is None:
        return facts
    facts.present = True
    for row in rows:
        session_id = row.get("session_id")
        if not isinstance(session_id, str):
            raise DrumgateError(f"sessions row without a session_id: {str(row)[:80]}")
        if isinstance(row.get("split"), str):
            facts.splits[session_id] = row["split"]
        facts.seconds[session_id] = facts.seconds.get(session_id, 0.0) + _session_seconds(row)
        status = _status_of(row.get("status"), UNKNOWN_STATUS)
        tier = _status_of(row.get("tier"), UNKNOWN_STATUS)
        facts.statuses[session_id], facts.tiers[session_id] = status, tier
        facts.storage_of[session_id] = {key: row[key] for key in ("status", "tier") if isinstance(row.get(key), str)}
        files = [f for f in row.get("files") or () if isinstance(f, Mapping)]
        item_statuses = [_status_of(f.get("status"), status) for f in files]
        if not files and status in MISSING_AUDIO_STATUSES:
            item_statuses = [status]  # a session without files is one item when its audio is missing
        facts.items += len(item_statuses)
        facts.missing_audio_items += sum(1 for s in item_statuses if s in MISSING_AUDIO_STATUSES)
        for item_status in item_statuses:
            _add(facts.items_by_status, item_status, 1)
            _add(facts.items_by_tier, tier, 1)
        _add_unmapped_notes(facts, row)
        for item in files:
            digest = item.get("sha256")
            if isinstance(digest, str) and digest and digest != EMPTY_SHA256:
                facts.audio_hashes.setdefault(digest, set()).add(session_id)
    return facts


def storage_summary(facts: SessionFacts) -> dict[str, Any]:
    """Sessions and items counted by status (`ok`, `missing_audio`, `unreadable`, `tier_offline`) and tier."""
    sessions_by_status: dict[str, int] = {}
    sessions_by_tier: dict[str, int] = {}
    for session_id, status in facts.statuses.items():
        _add(sessions_by_status, status, 1)
        _add(sessions_by_tier, facts.tiers[session_id], 1)

    return {
        "sessions": {"by_status": _sorted(sessions_by_status), "by_tier": _sorted(sessions_by_tier)},
        "items": {"by_status": _sorted(facts.items_by_status), "by_tier": _sorted(facts.items_by_tier)},
    }


def _sorted(table: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(table.items()))


def read_source_hashes(rows: Iterable[tuple[int, Mapping[str, Any]]], origin: str | Path) -> dict[str, set[str]]:
    """sha256 of each non-empty source file -> the sessions whose provenance rows list it.

    `rows` are (line, row) pairs of a provenance file (`origin` names it in findings).
    """
    owners: dict[str, set[str]] = {}
    for line, row in rows:
        session_id = row.get("session_id") if isinstance(row, Mapping) else None
        files = row.get("source_files") if isinstance(row, Mapping) else None
        if not isinstance(session_id, str) or not isinstance(files, list):
            raise DrumgateError(
                "provenance row without a session_id or source_files list", path=origin, line=line,
                hint=ingest_fix(origin),
            )
        for item in files:
            digest = item.get("sha256") if isinstance(item, Mapping) else None
            if isinstance(digest, str) and digest and digest != EMPTY_SHA256:
                owners.setdefault(digest.lower(), set()).add(session_id)
    return owners


@dataclass
class PlaceSummary:
    sessions: dict[str, dict[str, Any]]
    splits: dict[str, dict[str, int]]
    items: int
    leakage: list[dict[str, Any]]


def _dominant_split(per_split: Mapping[str, int]) -> str:
    return min(per_split, key=lambda split: (-per_split[split], split))


def _leaks(kind: str, table: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "key": key, "splits": sorted(splits)} for key, splits in sorted(table.items()) if len(splits) > 1
    ]


def _name_leaks(kind: str, table: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    """Leaks of names compared by `identity_key`: spellings of one name (NFC/NFD, case) are one name.

    The leak is keyed by its first spelling; when there are several, `sources` lists them all.
    """
    spellings: dict[str, list[str]] = {}
    for name in sorted(table):
        spellings.setdefault(identity_key(name), []).append(name)
    leaks = []
    for names in spellings.values():
        splits = sorted(set().union(*(table[name] for name in names)))
        if len(splits) > 1:
            leak: dict[str, Any] = {"kind": kind, "key": names[0], "splits": splits}
            if len(names) > 1:
                leak["sources"] = names
            leaks.append(leak)
    return sorted(leaks, key=itemgetter("key"))


def _hash_splits(owners: Mapping[str, set[str]], splits_of: Callable[[str], set[str]]) -> dict[str, set[str]]:
    return {digest: {split for sid in sessions for split in splits_of(sid)} for digest, sessions in owners.items()}


def summarise_places(
    counts: EventCounts, facts: SessionFacts, source_hashes: Mapping[str, set[str]] | None = None
) -> PlaceSummary:
    """Sessions, split shares and leakage: a session or performance name (compared by `identity_key`)
    or a file's content (sessions-manifest `audio_hash`, provenance `content_hash`) in two splits."""
    per_session: dict[str, dict[str, int]] = {}
    performance_splits: dict[str, set[str]] = {}
    items: set[tuple[str, str]] = set()
    for (session_id, split, item_id, performance), n in counts.places.items():
        splits = per_session.setdefault(session_id, {})
        splits[split] = splits.get(split, 0) + n
        items.add((session_id, item_id))
        performance_key = str(performance) if performance is not None else session_id
        performance_splits.setdefault(performance_key, set()).add(split)
    for session_id in facts.seconds:
        split = facts.splits.get(session_id)
        if split is not None:
            per_session.setdefault(session_id, {}).setdefault(split, 0)
        elif session_id not in per_session:
            per_session[session_id] = {"unassigned": 0}
    sessions: dict[str, dict[str, Any]] = {}
    split_table: dict[str, dict[str, int]] = {}
    session_splits: dict[str, set[str]] = {}
    for session_id, splits in sorted(per_session.items()):
        events = sum(splits.values())
        sessions[session_id] = {"events": events, "split": _dominant_split(splits)}
        sessions[session_id].update(facts.storage_of.get(session_id, {}))
        session_splits[session_id] = set(splits)
        for split, n in splits.items():
            entry = split_table.setdefault(split, {"events": 0, "sessions": 0})
            entry["events"] += n
            entry["sessions"] += 1
    hash_splits = _hash_splits(
        facts.audio_hashes, lambda sid: session_splits.get(sid, {facts.splits.get(sid, "unassigned")})
    )
    session_leaks = _name_leaks("session", session_splits)
    already = {(leak["key"], tuple(leak["splits"])) for leak in session_leaks}
    performance_leaks = [
        leak
        for leak in _name_leaks("performance", performance_splits)
        if (leak["key"], tuple(leak["splits"])) not in already
    ]
    leakage = session_leaks + performance_leaks
    leakage += _leaks("audio_hash", hash_splits)
    if source_hashes:
        # Only sessions this manifest knows: provenance may list sessions the events left out.
        content_splits = _hash_splits(
            {digest: owners for digest, owners in source_hashes.items() if digest not in facts.audio_hashes},
            lambda sid: session_splits.get(sid, set()),
        )
        for leak in _leaks("content_hash", content_splits):
            leak["sources"] = sorted(source_hashes[leak["key"]])
            leakage.append(leak)
    return PlaceSummary(sessions, dict(sorted(split_table.items())), len(items), leakage)


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


# Gates.


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


def configured_gates(ws: Workspace, dataset: str) -> dict[str, Any]:
    config = load_datasets(ws)
    if dataset == COMBINED:
        return dict(config.combined.get("gates", {}))
    return dict(config.get(dataset).gates)


def merge_gates(
    configured: Mapping[str, Any],
    taxonomy: Taxonomy,
    extra_class_gates: Mapping[str, int] | None,
    extra_technique_gates: Mapping[str, int] | None,
) -> dict[str, Any]:
    """Config gates with the command-line class/technique minimums on top (aliases resolved)."""
    gates = dict(configured)
    for key, extra, resolve, kind in (
        ("min_class_events", extra_class_gates, taxonomy.resolve_class, "class"),
        ("min_technique_events", extra_technique_gates, taxonomy.resolve_technique, "technique"),
    ):
        merged: dict[str, int] = {}
        for name, minimum in {**gates.get(key, {}), **(extra or {})}.items():
            resolved = resolve(name)
            if resolved is None:
                raise DrumgateError(
                    f"gate {key}[{name}] names an unknown {kind}", hint="see configs/technique_taxonomy.json"
                )
            merged[resolved] = int(minimum)
        if merged:
            gates[key] = dict(sorted(merged.items()))
    return gates


def _gate(name: str, passed: bool, observed: float, threshold: Any) -> dict[str, Any]:
    return {"name": name, "status": "pass" if passed else "fail", "observed": observed, "threshold": threshold}


def evaluate_gates(gates: Mapping[str, Any], seen: Observed) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for key in GATE_ORDER:
        if key not in gates:
            continue
        threshold = gates[key]
        if key == "min_sessions":
            results.append(_gate(key, seen.sessions >= threshold, seen.sessions, threshold))
        elif key == "min_events":
            results.append(_gate(key, seen.events >= threshold, seen.events, threshold))
        elif key == "min_hours":
            results.append(_gate(key, seen.hours >= threshold, seen.hours, threshold))
        elif key in ("min_class_events", "min_technique_events"):
            table = seen.classes_inclusive if key == "min_class_events" else seen.techniques
            for name, minimum in sorted(threshold.items()):
                observed = table.get(name, 0)
                results.append(_gate(f"{key}[{name}]", observed >= minimum, observed, minimum))
        elif key == "max_missing_audio_fraction":
            observed = seen.missing_audio_fraction
            results.append(_gate(key, observed <= threshold, observed, threshold))
        elif key == "max_unknown_label_fraction":
            observed = seen.unknown_label_fraction
            results.append(_gate(key, observed <= threshold, observed, threshold))
        elif key == "split_bounds":
            for split, (low, high) in sorted(threshold.items()):
                share = seen.split_shares.get(split, 0.0)
                results.append(_gate(f"split_bounds[{split}]", low <= share <= high, share, [low, high]))
        elif key == "leakage" and threshold:
            results.append(_gate(key, seen.leaks == 0, seen.leaks, 0))
    return results


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def compute_health(
    ws: Workspace,
    dataset: str,
    events_rows: EventRows | EventCounts,
    sessions_rows: Iterable[Mapping[str, Any]] | None = None,
    *,
    vocabulary: str | None = None,
    extra_class_gates: Mapping[str, int] | None = None,
    extra_technique_gates: Mapping[str, int] | None = None,
    source: Mapping[str, str | None] | None = None,
    on_error: ErrorSink | None = None,
    source_hashes: Mapping[str, set[str]] | None = None,
) -> dict[str, Any]:
    """The health report of one events manifest (see configs/schemas/health.schema.json).

    `source_hashes` (from `read_source_hashes` over the dataset's provenance) adds the leakage of
    identical source files filed under different sessions in different splits.

    `events_rows` may also be the counts of a file already made by `health_scan.count_events_file`
    (the fast path the CLI uses). Without `on_error` the first malformed row raises a DrumgateError
    carrying its line (the caller adds the path); with it, malformed rows are reported and left out of the counts.
    """
    taxonomy = load_taxonomy(ws)
    gates = merge_gates(configured_gates(ws, dataset), taxonomy, extra_class_gates, extra_technique_gates)
    counts = events_rows if isinstance(events_rows, EventCounts) else count_events(events_rows, on_error)
    validate_counts(counts, on_error)
    labels = summarise_labels(counts, taxonomy, vocabulary)
    facts = read_session_facts(sessions_rows)
    places = summarise_places(counts, facts, source_hashes)
    events = counts.events
    for label, n in facts.unmapped_notes.items():
        _add(labels.unknown_labels, label, n)
        labels.unknown_label_events += n
    unmapped = sum(facts.unmapped_notes.values())
    shares = {split: _fraction(entry["events"], events) for split, entry in places.splits.items()}
    hours = round(sum(facts.seconds.values()) / 3600.0, 4)
    seen = Observed(
        events=events,
        sessions=len(places.sessions),
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
            "sessions": len(places.sessions),
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
        "status": "fail" if any(g["status"] == "fail" for g in gate_results) else "pass",
    }
    if labels.vocabulary_classes is not None:
        report["vocabulary_classes"] = dict(sorted(labels.vocabulary_classes.items()))
    return report


def failing_gates(report: Mapping[str, Any]) -> list[str]:
    """One line per failing gate: `name: observed X vs threshold Y`."""
    return [
        f"{gate['name']}: observed {gate['observed']} vs threshold {gate['threshold']}"
        for gate in report["gates"]
        if gate["status"] == "fail"
    ]


# The combined manifest: which datasets it mixes, its sessions, and its sources' own gates.

SOURCE_GATE = "source_gates"
SONG_LEAK_KIND = "song"
SongSplits = dict[str, dict[str, set[str]]]


def record_song_splits(rows: EventRows, song_splits: SongSplits) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Pass combined event rows through, noting each song's splits per source dataset."""
    for line_no, row in rows:
        attributes = row.get("attributes")
        song = attributes.get("song_key") if isinstance(attributes, Mapping) else None
        if isinstance(song, str) and song:
            song_splits.setdefault(song, {}).setdefault(str(row.get("dataset")), set()).add(str(row.get("split")))
        yield line_no, row


def song_leaks(song_splits: Mapping[str, Mapping[str, set[str]]]) -> list[dict[str, Any]]:
    """Songs present in two or more datasets whose splits disagree."""
    leaks = []
    for song, per_dataset in sorted(song_splits.items()):
        splits = set().union(*per_dataset.values())
        if len(per_dataset) > 1 and len(splits) > 1:
            leaks.append(
                {
                    "kind": SONG_LEAK_KIND,
                    "key": song,
                    "splits": sorted(splits),
                    "sources": sorted(f"{ds}:{split}" for ds, found in per_dataset.items() for split in found),
                }
            )
    return leaks


def add_song_leaks(report: dict[str, Any], leaks: list[dict[str, Any]]) -> None:
    """Fold cross-dataset song leaks into the report's leakage list, leakage gate and status."""
    report["leakage"] = report["leakage"] + leaks
    for gate in report["gates"]:
        if gate["name"] == "leakage":
            gate["observed"] = len(report["leakage"])
            gate["status"] = "pass" if gate["observed"] == 0 else "fail"
    report["status"] = "fail" if any(g["status"] == "fail" for g in report["gates"]) else "pass"




def mixed_datasets(config: DatasetsConfig, has_events: Callable[[str], bool]) -> list[str]:
    """Datasets `combine` mixes: a `[combined] mix` share above 0 and an events manifest (config order)."""
    mix = config.combined.get("mix", {})
    return [name for name in config.datasets if float(mix.get(name, 0.0)) > 0.0 and has_events(name)]


def waived_sources(config: DatasetsConfig) -> list[str]:
    """Sources whose failing gates `[combined] waive_source_gates` lets the combined gate accept."""
    names = sorted(str(name) for name in config.combined.get("waive_source_gates", []))
    for name in names:
        if name not in config.datasets:
            raise DrumgateError(
                f"[combined] waive_source_gates names {name!r}, which is not a dataset", path=config.path,
                hint=f"fix: use one of {', '.join(config.datasets)}",
            )
    return names


def combined_session_id(dataset: str, session_id: str) -> str:
    return f"{dataset}:{session_id}"


def combined_session_rows(dataset: str, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """A source's sessions rows as the combined manifest names them (`<ds>:<session_id>`)."""
    for row in rows:
        yield {**row, "session_id": combined_session_id(dataset, str(row.get("session_id", "")))}


def add_source_gates(
    report: dict[str, Any], source_reports: Mapping[str, Mapping[str, Any]], waived: Iterable[str]
) -> None:
    """One `source_gates[<ds>]` gate per mixed dataset: it fails while that dataset fails its own gates,
    unless `[combined] waive_source_gates` names it (the gate then passes with `waived: true`, shown in
    every report). `report["sources"]` records each source's failing gates."""
    waived_names = set(waived)
    sources: dict[str, Any] = {}
    for dataset, source in sorted(source_reports.items()):
        failing = [gate["name"] for gate in source["gates"] if gate["status"] == "fail"]
        waiver = bool(failing) and dataset in waived_names
        gate = _gate(f"{SOURCE_GATE}[{dataset}]", not failing or waiver, len(failing), 0)
        if waiver:
            gate["waived"] = True
        report["gates"].append(gate)
        sources[dataset] = {"status": source["status"], "failing": failing, "waived": dataset in waived_names}
    report["sources"] = sources
    report["status"] = "fail" if any(g["status"] == "fail" for g in report["gates"]) else "pass"
