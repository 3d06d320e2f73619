"""The sources `drumgate combine` mixes, and the pass over them that learns what its reference records.

`find_sources` names each mixed dataset's manifests (a file, its `.gz`, or its partitioned folder);
`combined_sessions` renames their sessions; `learn_sources` reads their rows once to learn the song
keys, crash-family labels, unmapped variants, sessions and counts the reference
(drumgate.io.combined_reference) records. `combined_rows` is the row-by-row builder the reference's
reader must agree with (the tests compare the two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.config import DatasetsConfig
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.combined_reference import keep_event
from drumgate.io.jsonio import iter_jsonl
from drumgate.progress import progress
from drumgate.reports import overlap
from drumgate.reports.combined import (
    combined_session_id,
    combined_session_rows,
    held_out_song_splits,
    mixed_datasets,
)
from drumgate.reports.part_counts import SongSplits, merge_song_splits
from drumgate.reports.report_io import ErrorCollector
from drumgate.taxonomy import Taxonomy
from drumgate.workspace import Workspace
from ingest.crash_map import NotAVariant, UnmappedVariant, map_row


@dataclass
class Source:
    dataset: str
    ratio: float
    events: Path
    sessions: Path | None
    provenance: Path | None
    licence_note: Path
    events_read: int = 0
    events_kept: int = 0
    # the sessions' rows as `combined_sessions` read them, kept for the source's own health
    session_rows: list[dict[str, Any]] | None = None


@dataclass
class CombineState:
    """What the pass over the sources learns: unmapped variants, the combined sessions, and what the
    reference records (song keys taken from sessions, crash-family labels)."""

    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    song_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    crash_labels: set[str] = field(default_factory=set)


class CombineAborted(Exception):
    """Raised at the end of the row stream when a row was bad or unmapped: nothing is written."""


class SongKeys:
    """Song identity: an ingestor's `song_key`, else drumgate.reports.overlap's."""

    def __init__(self, ws: Workspace) -> None:
        self._cache: dict[tuple[str, str], str] = {}
        self._declared: dict[tuple[str, str], str] = {}
        configured = (ws.configs / "musdb.json").is_file()
        self._overlap_config = overlap.load_overlap_config(ws) if configured else overlap.OverlapConfig()

    def declare(self, dataset: str, session_id: str, key: Any) -> None:
        if isinstance(key, str) and key:
            self._declared[(dataset, session_id)] = key

    def key(self, dataset: str, session_id: str, row_attributes: Mapping[str, Any] | None = None) -> str:
        declared = (row_attributes or {}).get("song_key")
        if isinstance(declared, str) and declared:
            return declared
        place = (dataset, session_id)
        if place not in self._cache:
            self._cache[place] = self._declared.get(place) or self._derive(dataset, session_id)
        return self._cache[place]

    def _derive(self, dataset: str, session_id: str) -> str:
        return str(overlap.song_key(dataset, session_id, self._overlap_config))


def find_sources(ws: Workspace, config: DatasetsConfig) -> tuple[list[Source], list[str], list[str]]:
    """The mixed datasets' sources, the datasets left out (`name (why)`), and of those the ones the mix
    gives a share but that have no events manifest (not ingested yet, or removed)."""
    mix = config.combined.get("mix", {})
    mixed = mixed_datasets(config, lambda name: parts.stored(ws.events_manifest(name)) is not None)
    sources, skipped, unmade = [], [], []
    for name, dataset in config.datasets.items():
        events = parts.stored(ws.events_manifest(name))
        if name not in mixed or events is None:
            shared = float(mix.get(name, 0.0)) > 0.0
            skipped.append(f"{name} ({'no events manifest' if shared else 'no mix share in [combined] mix'})")
            unmade += [name] if shared else []
            continue
        sessions = parts.stored(ws.sessions_manifest(name))
        provenance = parts.stored(ws.provenance(name))
        sources.append(Source(name, float(mix[name]), events, sessions, provenance, ws.path(dataset.licence_note)))
    return sources, skipped, unmade


def held_out_songs(held_out: Sequence[tuple[str, Path]], errors: ErrorCollector) -> SongSplits:
    """The songs the datasets combine does not mix hold out for evaluation (`found_inputs.held_out_sessions`
    names their sessions manifests; drumgate.reports.combined.held_out_song_splits reads them)."""
    found: SongSplits = {}
    for name, sessions in held_out:
        sink = ErrorCollector(sessions, errors.ws)
        merge_song_splits(found, held_out_song_splits(name, (row for _, row in iter_jsonl(sessions, on_error=sink))))
        errors.errors.extend(sink.errors)
    return found


def combined_sessions(sources: Sequence[Source], songs: SongKeys, errors: ErrorCollector) -> list[dict[str, Any]]:
    rows = []
    for source in sources:
        if source.sessions is None:
            continue
        sink = ErrorCollector(source.sessions, errors.ws)
        source_rows = source.session_rows = [row for _, row in iter_jsonl(source.sessions, on_error=sink)]
        for row in source_rows:
            songs.declare(source.dataset, str(row.get("session_id", "")), (row.get("attributes") or {}).get("song_key"))
        rows.extend(combined_session_rows(source.dataset, source_rows))
        errors.errors.extend(sink.errors)
    return rows


def combined_rows(
    sources: Sequence[Source], taxonomy: Taxonomy, songs: SongKeys, state: CombineState, errors: ErrorCollector
) -> Iterator[dict[str, Any]]:
    """The combined rows built from the sources and the configs, one per render-hit, learning into
    `state` what the reference records. The reader of the reference (drumgate.io.combined_reference)
    rebuilds the same rows from the reference alone; the tests compare the two."""
    for source in sources:
        yield from _source_rows(source, taxonomy, songs, state, errors)
    if state.unmapped or errors.errors:
        raise CombineAborted


def learn_sources(
    sources: Sequence[Source], taxonomy: Taxonomy, songs: SongKeys, state: CombineState, errors: ErrorCollector
) -> None:
    """The pass that learns what the reference records (song keys, crash-family labels, unmapped
    variants, sessions, rows read and kept). A partitioned source whose every row is kept is read as
    stored, each row once and weighted by the renders that play it (7.5 MB of parts at E-GMD's full
    size instead of 13.66 M render-hits); any other source row by row. Raises CombineAborted after
    the pass when a row was bad or a variant unmapped."""
    for source in sources:
        if source.events.is_dir() and source.ratio >= 1.0:
            _learn_stored(source, taxonomy, songs, state, errors)
        else:
            for _ in _source_rows(source, taxonomy, songs, state, errors):
                pass
    if state.unmapped or errors.errors:
        raise CombineAborted


def _learn_stored(source: Source, taxonomy: Taxonomy, songs: SongKeys, state: CombineState,
                  errors: ErrorCollector) -> None:
    sink = ErrorCollector(source.events, errors.ws)
    for entry, rows, renders in progress(parts.stored_parts(source.events, sink), f"combine {source.dataset}",
                                         "part"):
        for line, (row, weight) in enumerate(parts.weighted_rows(rows, renders), start=1):
            if weight:
                bad_row = _at(sink, source.events / entry["file"], line)
                _combine_row(source, row, weight, taxonomy, songs, state, bad_row)
    errors.errors.extend(sink.errors)


def _source_rows(source: Source, taxonomy: Taxonomy, songs: SongKeys, state: CombineState, errors: ErrorCollector
                 ) -> Iterator[dict[str, Any]]:
    sink = ErrorCollector(source.events, errors.ws)
    for line, row in progress(iter_jsonl(source.events, on_error=sink), f"combine {source.dataset}", "event"):
        combined = _combine_row(source, row, 1, taxonomy, songs, state, _at(sink, source.events, line))
        if combined is not None:
            yield combined
    errors.errors.extend(sink.errors)


def _at(sink: ErrorCollector, path: Path, line: int) -> Callable[[str], None]:
    """Words a bad row at `path:line` into `sink`."""
    return lambda message: sink(DrumgateError(message, path=path, line=line))


def _combine_row(source: Source, row: dict[str, Any], weight: int, taxonomy: Taxonomy, songs: SongKeys,
                 state: CombineState, bad_row: Callable[[str], None]) -> dict[str, Any] | None:
    """One source row as the combined manifest holds it (None: not selected, its variant unmapped or not
    a string, which goes to `bad_row`), standing for `weight` rows (the renders that play a stored row)."""
    source.events_read += weight
    if not keep_event(source.dataset, str(row.get("event_id")), source.ratio):
        return None
    session_id = str(row.get("session_id"))
    attributes = dict(row.get("attributes") or {})
    song = songs.key(source.dataset, session_id, attributes)
    if attributes.get("song_key") != song:
        state.song_keys.setdefault(source.dataset, {})[session_id] = song
    attributes["song_key"] = song
    combined = {**row, "session_id": combined_session_id(source.dataset, session_id), "attributes": attributes}
    try:
        combined = map_row(combined, taxonomy)
    except NotAVariant as bad:
        bad_row(str(bad))
        return None
    except UnmappedVariant as missing:
        per_file = state.unmapped.setdefault(missing.variant, {})
        per_file[str(source.events)] = per_file.get(str(source.events), 0) + weight
        return None
    own_variant = row.get("variant")
    if combined.get("variant") and not (isinstance(own_variant, str) and own_variant):
        state.crash_labels.add(str(row.get("label")))  # a crash-family label without a variant
    state.sessions[combined["session_id"]] = source.dataset
    source.events_kept += weight
    return combined
