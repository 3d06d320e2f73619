"""What health and weights need from a manifest's parts, counted from stored rows (issue 15).

A partitioned E-GMD part stores each performance's hits once and lists the renders that play them
(drumgate.io.parts). Reading it as a trainer does yields one row per render-hit (13.66 M rows at
full size); every count health and weights take is a sum over those rows, so it is computed here
from the stored rows, each weighted by the renders that play it, in the order the rendered rows
would arrive (so float sums and first appearances match the row-by-row path exactly):

- `excerpt_pairs`: weights' events per (session, item, label, split) (drumgate.reports.weights);
- `tally_part`: the combined manifest's rows from one source part, as its reference rewrites them
  (drumgate.io.combined_reference.Rewrite): their health aggregates (drumgate.io.parts.aggregate),
  their excerpt counts, each song's splits, and how many rows were read and kept.

A part whose mix share is below 1 is expanded first: the selection hashes each render-hit's own
event id, so which rows a render keeps differs from render to render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.io.combined_reference import Rewrite, combined_session_id
from drumgate.io.parts import Aggregates, aggregate, rendered
from drumgate.reports.health_counts import count_events, validate_counts

Row = dict[str, Any]
ExcerptKey = tuple[Any, Any, Any, Any]  # session_id, item_id, label, split: what weights count
ExcerptPairs = list[tuple[ExcerptKey, int]]
SongSplits = dict[str, dict[str, set[str]]]
ErrorSink = Callable[[DrumgateError], None]


def excerpt_pairs(rows: Iterable[tuple[int, Row]], renders: Sequence[Row] | None, where: Path,
                  on_error: ErrorSink) -> ExcerptPairs:
    """(session, item, label, split) -> events of a part, one per render-hit, in the order the rendered
    rows arrive; a row without one of the four fields goes to `on_error` with its line."""
    per_item: dict[str, dict[ExcerptKey, int]] = {}  # a stored item's counts, for the renders that play it
    in_order: dict[ExcerptKey, int] = {}  # the same counts in row order, for a part without renders
    for line, row in rows:
        try:
            key = (row["session_id"], row["item_id"], row["label"], row["split"])
            hash(key)  # a list or object in a field: one finding, as `weights.count_excerpts` words it
        except KeyError as exc:
            on_error(DrumgateError(f"event row lacks field {exc.args[0]!r}", path=where, line=line))
            continue
        except TypeError as exc:
            on_error(DrumgateError(f"event row has a bad field ({exc})", path=where, line=line))
            continue
        counted = per_item.setdefault(str(row.get("item_id")), {})
        counted[key] = counted.get(key, 0) + 1
        in_order[key] = in_order.get(key, 0) + 1
    if renders is None:
        return list(in_order.items())
    pairs: ExcerptPairs = []
    for render in renders:
        for (session, _, label, split), n in per_item.get(render.get("events_item", ""), {}).items():
            pairs.append(((session, render["item_id"], label, split), n))
    return pairs


def add_pairs(counts: dict[ExcerptKey, int], pairs: Iterable[tuple[ExcerptKey, int]]) -> None:
    for key, n in pairs:
        counts[key] = counts.get(key, 0) + n


@dataclass
class PartTally:
    """The combined rows of one source part, counted: health aggregates, weights' excerpt counts,
    and each song's splits per dataset."""

    aggregates: Aggregates = field(default_factory=Aggregates)
    excerpts: ExcerptPairs = field(default_factory=list)
    song_splits: SongSplits = field(default_factory=dict)
    errors: list[DrumgateError] = field(default_factory=list)

    def add(self, other: PartTally) -> None:
        self.aggregates.add(other.aggregates)
        self.excerpts.extend(other.excerpts)
        merge_song_splits(self.song_splits, other.song_splits)
        self.errors.extend(other.errors)


def merge_song_splits(into: SongSplits, more: SongSplits) -> None:
    """Add `more`'s splits per song and dataset to `into` (new sets: `more` is left unshared)."""
    for song, per_dataset in more.items():
        mine = into.setdefault(song, {})
        for dataset, splits in per_dataset.items():
            mine.setdefault(dataset, set()).update(splits)


def tally_part(rewrite: Rewrite, rows: Sequence[Row], renders: Sequence[Row] | None, where: Path,
               indexed: Mapping[str, Any] | None = None) -> PartTally:
    """The combined rows `rewrite` makes of one part's stored rows (and the renders playing them),
    counted without building one row per render-hit when every row is kept.

    `indexed` is the part's aggregates as its index records them, given by a caller that has checked
    them (pr-report checks every entry that differs between base and head against its rows, as
    for health): when the rewrite keeps every row and changes no label, the combined rows' aggregates
    are those with each session renamed, so the rows are not counted again and not re-checked."""
    if renders is not None and rewrite.ratio < 1.0:
        rows, renders, indexed = list(rendered(rows, renders)), None, None
    plays: dict[str, list[str]] = {}
    for render in renders or ():
        plays.setdefault(str(render.get("events_item")), []).append(str(render.get("split")))
    tally = PartTally()
    kept: list[Row] = []
    for row in rows:
        splits = plays.get(str(row.get("item_id")), []) if renders is not None else [str(row.get("split"))]
        combined = rewrite.row(row)
        if combined is None:
            continue
        kept.append(combined)
        attributes = combined.get("attributes")
        song = attributes.get("song_key") if isinstance(attributes, Mapping) else None
        if isinstance(song, str) and song and splits:
            tally.song_splits.setdefault(song, {}).setdefault(str(combined.get("dataset")), set()).update(splits)
    # a part whose index left rows out is counted again, so its malformed rows are worded
    unchanged = indexed is not None and not indexed.get("malformed") and len(kept) == len(rows) and all(
        combined.get("label") == row.get("label") for combined, row in zip(kept, rows, strict=True))
    if unchanged and indexed is not None:
        tally.aggregates = renamed_sessions(Aggregates.from_json(indexed), rewrite.dataset)
    else:
        tally.errors = malformed_rows(kept, where)
        tally.aggregates = aggregate(kept, renders, {error.line or 0 for error in tally.errors})
    tally.excerpts = excerpt_pairs(enumerate(kept, 1), renders, where, tally.errors.append)
    return tally


def renamed_sessions(aggregates: Aggregates, dataset: str) -> Aggregates:
    """The aggregates with every session named as the combined manifest names it (`<ds>:<session>`)."""
    renamed = Aggregates(aggregates.events, aggregates.stored_events, aggregates.renders, aggregates.pairs,
                         aggregates.label_sources, aggregates.velocity_bins, malformed=aggregates.malformed)
    for (session, split, performance), n in aggregates.place_events.items():
        key = (combined_session_id(dataset, str(session)), split, performance)
        renamed.place_events[key] = n
        renamed.place_items[key] = aggregates.place_items[(session, split, performance)]
    return renamed


def malformed_rows(rows: Sequence[Row], where: Path) -> list[DrumgateError]:
    """Health's row checks (drumgate.reports.health_counts) on stored rows, each error naming the part
    and the row's position in it: the checks the row-by-row path made on every rendered row."""
    errors: list[DrumgateError] = []

    def sink(error: DrumgateError) -> None:
        errors.append(DrumgateError(error.message, path=where, line=error.line, hint=error.hint))

    validate_counts(count_events(enumerate(rows, 1), sink), sink)
    return errors
