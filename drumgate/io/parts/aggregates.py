"""Per-part health aggregates kept in the index, and health's event counts rebuilt from them.

Every count is of rendered rows (what a single file would hold), so health reads a fresh folder's
index instead of its rows. A row health refuses (`health_counts.count_events` leaves it out of every
table) is left out of every health count here too, and counted in `malformed`; `events` stays the
number of rows a reader yields.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.io.parts.layout import ErrorSink, Row
from drumgate.io.parts.reader import read_part, verify

VELOCITY_BIN_WIDTH = 16


VELOCITY_BINS = 8


def _velocity_bin(velocity: Any) -> int:
    if type(velocity) is not int:
        return VELOCITY_BINS  # the last slot counts missing velocities
    return min(max(velocity, 0) // VELOCITY_BIN_WIDTH, VELOCITY_BINS - 1)


def pair_key(label: Any, techniques: Any) -> str:
    names = techniques if isinstance(techniques, list) else []
    return f"{label}|{','.join(str(name) for name in names)}"


PlaceKey = tuple[str, str, Any]  # session, split, performance (health's place key without the item)


@dataclass


class Aggregates:
    """What health needs from a part, counted once per stored row and weighted by its renders."""

    events: int = 0
    stored_events: int = 0
    renders: int = 0
    pairs: Counter[str] = field(default_factory=Counter)
    label_sources: Counter[str] = field(default_factory=Counter)
    velocity_bins: list[int] = field(default_factory=lambda: [0] * (VELOCITY_BINS + 1))
    place_events: Counter[PlaceKey] = field(default_factory=Counter)
    place_items: Counter[PlaceKey] = field(default_factory=Counter)
    malformed: int = 0  # rendered rows health refuses, in `events` and in no other count

    def as_json(self) -> dict[str, Any]:
        data = {
            "events": self.events,
            "stored_events": self.stored_events,
            "renders": self.renders,
            "pairs": dict(sorted(self.pairs.items())),
            "label_sources": dict(sorted(self.label_sources.items())),
            "velocity_bins": self.velocity_bins,
            "places": [[*key, n, self.place_items[key]] for key, n in sorted(self.place_events.items(), key=repr)],
        }
        if self.malformed:  # only then: a sound part's entry keeps the bytes it had before the field
            data["malformed"] = self.malformed
        return data

    def add(self, other: Aggregates) -> None:
        self.events += other.events
        self.malformed += other.malformed
        self.stored_events += other.stored_events
        self.renders += other.renders
        self.pairs.update(other.pairs)
        self.label_sources.update(other.label_sources)
        self.velocity_bins = [a + b for a, b in zip(self.velocity_bins, other.velocity_bins, strict=True)]
        self.place_events.update(other.place_events)
        self.place_items.update(other.place_items)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Aggregates:
        agg = cls(data["events"], data["stored_events"], data["renders"], Counter(data["pairs"]),
                  Counter(data["label_sources"]), list(data["velocity_bins"]), malformed=data.get("malformed", 0))
        for session, split, performance, events, items in data["places"]:
            agg.place_events[(session, split, performance)] += events
            agg.place_items[(session, split, performance)] += items
        return agg


def _performance(row: Mapping[str, Any]) -> Any:
    attributes = row.get("attributes")
    return attributes.get("performance") if isinstance(attributes, dict) else None


def refused_rows(rows: Iterable[Row], on_error: ErrorSink | None = None) -> set[int]:
    """The positions (from 1) of the rows health refuses, each also given to `on_error` with its
    position as its line: `count_events` judges them, so a part leaves out exactly the rows a single
    file's count leaves out."""
    from drumgate.reports.health_counts import count_events

    refused: set[int] = set()

    def judged(error: DrumgateError) -> None:
        refused.add(error.line or 0)
        if on_error is not None:
            on_error(error)

    count_events(enumerate(rows, 1), judged)
    return refused


def aggregate(rows: Sequence[Row], renders: Sequence[Row] | None, refused: Collection[int] | None = None
              ) -> Aggregates:
    """Per-part health aggregates: every count is of rendered rows (what a single file would hold).

    `refused`: the positions (from 1) of the rows health refuses (`refused_rows`, worked out here when
    None); each is counted in `events` and `malformed` only, as `count_events` leaves it out of every
    table. Rows that are not events (sessions, provenance) are passed with `refused=()`."""
    if refused is None:
        refused = refused_rows(rows)
    plays: dict[str, list[tuple[str, str]]] | None = None
    if renders is not None:
        plays = {}
        for render in renders:
            plays.setdefault(render["events_item"], []).append((render["item_id"], render["split"]))
    agg = Aggregates(stored_events=len(rows), renders=len(renders or ()))
    per_item: Counter[tuple[str, str, str, Any]] = Counter()
    for position, row in enumerate(rows, 1):
        item = str(row.get("item_id"))
        n = len(plays.get(item, ())) if plays is not None else 1
        agg.events += n
        if position in refused:
            agg.malformed += n
            continue
        agg.pairs[pair_key(row.get("label"), row.get("techniques"))] += n
        agg.label_sources[str(row.get("label_source"))] += n
        agg.velocity_bins[_velocity_bin(row.get("velocity"))] += n
        per_item[(item, str(row.get("session_id")), str(row.get("split")), _performance(row))] += 1
    items: dict[PlaceKey, set[str]] = {}
    for (item, session, split, performance), count in per_item.items():
        playing = plays.get(item, ()) if plays is not None else ((item, split),)
        for render_item, render_split in playing:
            key = (session, render_split, performance)
            agg.place_events[key] += count
            items.setdefault(key, set()).add(render_item)
    for key, members in items.items():
        agg.place_items[key] = len(members)
    return agg


def merged_aggregates(entries: Sequence[Mapping[str, Any]]) -> Aggregates:
    """The aggregates of index entries added up (the whole folder's, for all its entries)."""
    total = Aggregates()
    for entry in entries:
        total.add(Aggregates.from_json(entry["aggregates"]))
    return total


def counts_from_index(folder: Path, on_error: ErrorSink | None = None) -> Any:
    """`health.EventCounts` merged from a fresh index: every part's sha256 is checked first, so no
    row needs reading (`counts_of_entries`), but those of a part whose aggregates left rows out
    (`malformed`): each such row goes to `on_error` (or the first is raised) as `part:line`, worded as
    a single file's count words it."""
    entries = verify(folder, hash_parts=True)["parts"]
    for entry in entries:
        if entry["aggregates"].get("malformed"):
            _report_refused(folder, entry, on_error)
    return counts_of_entries(entries)


def _report_refused(folder: Path, entry: Mapping[str, Any], on_error: ErrorSink | None) -> None:
    from drumgate.reports.health_counts import count_events

    located = at_part(folder / entry["file"], on_error)
    count_events(read_part(folder, entry["file"], entry["sha256"], located), located)


def at_part(path: Path, on_error: ErrorSink | None) -> ErrorSink:
    """A sink that names `path` (the part) on each error it gets without one, then gives it to
    `on_error`, or raises it when there is none."""

    def located(error: DrumgateError) -> None:
        error.path = error.path or path
        if on_error is None:
            raise error
        on_error(error)

    return located


def counts_of_entries(entries: Sequence[Mapping[str, Any]]) -> Any:
    """`health.EventCounts` with the marginals health reports (pairs, sources, velocity bins, places),
    merged from index entries (a folder's, or a revision's read from git by pr-report).

    Health uses only marginals of the joint (label, techniques, source, velocity) table, so the
    table is rebuilt by filling the three marginals in order (any table with those marginals gives
    the same report); each velocity bin stands for its lowest velocity. Place keys get one
    synthetic item name per distinct item (health counts them, never reads them)."""
    return counts_of_aggregates(merged_aggregates(entries))


def counts_of_aggregates(total: Aggregates) -> Any:
    """`health.EventCounts` whose marginals are those of `total` (see `counts_of_entries`)."""
    from drumgate.reports.health_counts import EventCounts

    counts = EventCounts()
    pairs = [(key.split("|", 1), n) for key, n in sorted(total.pairs.items()) if n]
    sources = [(key, n) for key, n in sorted(total.label_sources.items()) if n]
    velocities = [(None if slot == VELOCITY_BINS else slot * VELOCITY_BIN_WIDTH, n)
                  for slot, n in enumerate(total.velocity_bins) if n]
    line = 0
    for (pair, source, velocity), n in _fill_marginals(pairs, sources, velocities):
        label, techniques = pair
        key = (label, tuple(techniques.split(",")) if techniques else (), source, velocity)
        counts.labels[key] = counts.labels.get(key, 0) + n
        line += 1
        counts.first_line.setdefault(key, line)
    for (session, split, performance), events in sorted(total.place_events.items(), key=repr):
        items = max(total.place_items[(session, split, performance)], 1)
        share, extra = divmod(events, items)
        for slot in range(items):
            key = (session, split, f"{session}#item{slot}", performance)
            counts.places[key] = share + (1 if slot < extra else 0)
            line += 1
            counts.first_line[key] = line
    return counts


def _fill_marginals(*margins: list[tuple[Any, int]]) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Cells of a table whose marginals are `margins` (all with the same total), filled in order."""
    queues = [list(margin) for margin in margins]
    positions = [0] * len(queues)
    left = [queue[0][1] if queue else 0 for queue in queues]
    while all(position < len(queue) for position, queue in zip(positions, queues, strict=True)):
        take = min(left)
        if take:
            yield tuple(queue[position][0] for queue, position in zip(queues, positions, strict=True)), take
        for slot, queue in enumerate(queues):
            left[slot] -= take
            if left[slot] == 0:
                positions[slot] += 1
                if positions[slot] < len(queue):
                    left[slot] = queue[positions[slot]][1]
