"""`drumgate combine`: the production manifest that blends every dataset, with its own gate.

From each dataset's events manifest present (`data/manifests/<ds>_events.jsonl`, or its partitioned
folder; in config order) it keeps the share given by `[combined] mix` in configs/datasets.toml,
choosing events by a hash of their `event_id` (so the same events are kept on every run and a
manifest that grows keeps its earlier picks), applies the crash dual-label map, and writes:

- `data/manifests/prod_combined_events.json`: the combined manifest as a reference to its
  sources' rows, not a copy: each source's manifest and the sha256 of every file it was read from,
  its mix share, the crash dual-label map applied and each session's song key.
  `drumgate.events.read` on it yields the combined rows: they keep their own `dataset`;
  `session_id` becomes `<ds>:<session_id>` (unique across datasets) and `attributes.song_key`
  names the song. A source that changes makes it stale (`drumgate repro` reruns combine). An older
  `prod_combined_events.jsonl` that copied every row is removed;
- `reports/health/prod_combined_health_<YYYYMMDD>.json`: the health report under
  `[combined.gates]`, whose leakage gate also counts **songs found in two datasets in different
  splits** (the MUSDB18 / Cambridge overlap: 100 DSD songs are Cambridge sessions);
  `unassigned` counts as a split, so a song must be placed the same way everywhere. Its sessions
  are the mixed sources' sessions (so hours and missing audio are gated like the sources'), and
  one `source_gates[<ds>]` gate per mixed dataset fails while that dataset fails its own gates,
  unless `[combined] waive_source_gates` names it (the waiver is recorded and shown);
- `reports/sampling/prod_combined_weights.json` and a dated copy;
- `data/provenance/prod_combined_provenance.jsonl`: one row per combined session carrying its
  source dataset's licence constraints (from `data/licenses/<ds>.md`).

Exit 0 when the combined gate passes, 1 when it fails or a crash variant is unmapped, 2 for bad
input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import __version__, events, lineage
from drumgate.artifacts import combined_health_report, combined_reference, combined_weights_report
from drumgate.config import DatasetsConfig, load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, DrumgateError
from drumgate.io import combined_reference as reference_format
from drumgate.io import parts
from drumgate.io.combined_reference import keep_event
from drumgate.io.jsonio import iter_jsonl, write_json, write_jsonl
from drumgate.licences import read_licence_note
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import config_hashes, ingest_commit, report_date
from drumgate.progress import progress
from drumgate.reports.combined import (
    add_song_leaks,
    add_source_gates,
    combined_session_id,
    combined_session_rows,
    mixed_datasets,
    song_leaks,
    waived_sources,
)
from drumgate.reports.gates import failing_gates
from drumgate.reports.health import compute_health
from drumgate.reports.report_io import ErrorCollector, artifact_group, record_lineage
from drumgate.reports.weights import compute_weights
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import COMBINED, Workspace
from ingest.crash_map import UnmappedVariant, lock_artifact, map_row

__all__ = ["combine", "combined_rows", "keep_event"]
DEFAULT_WEIGHTS_SCHEME = "effective"


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


@dataclass
class CombineState:
    """What the pass over the sources learns: song splits per dataset, unmapped variants, the combined
    sessions, and what the reference records (song keys taken from sessions, crash-family labels)."""

    song_splits: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    song_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    crash_labels: set[str] = field(default_factory=set)


class CombineAborted(Exception):
    """Raised at the end of the row stream when a row was bad or unmapped: nothing is written."""


def plain_song_key(session_id: str) -> str:
    return re.sub(r"[^a-z0-9]", "", session_id.lower())


class SongKeys:
    """Song identity: an ingestor's `song_key`, else drumgate.reports.overlap's, else the plain id."""

    def __init__(self, ws: Workspace) -> None:
        self._cache: dict[tuple[str, str], str] = {}
        self._declared: dict[tuple[str, str], str] = {}
        self._overlap: Any = None
        self._overlap_config: Any = None
        try:
            from drumgate.reports import overlap
        except ImportError:
            return
        self._overlap = overlap
        if (ws.configs / "musdb.json").is_file():
            self._overlap_config = overlap.load_overlap_config(ws)
        else:
            self._overlap_config = overlap.OverlapConfig()

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
        if self._overlap is not None:
            return str(self._overlap.song_key(dataset, session_id, self._overlap_config))
        return plain_song_key(session_id)


def find_sources(ws: Workspace, config: DatasetsConfig) -> tuple[list[Source], list[str]]:
    mix = config.combined.get("mix", {})
    mixed = mixed_datasets(config, lambda name: _existing(ws.events_manifest(name)) is not None)
    sources, skipped = [], []
    for name, dataset in config.datasets.items():
        events = _existing(ws.events_manifest(name))
        if name not in mixed or events is None:
            why = "no mix share in [combined] mix" if float(mix.get(name, 0.0)) <= 0.0 else "no events manifest"
            skipped.append(f"{name} ({why})")
            continue
        sessions = _existing(ws.sessions_manifest(name))
        provenance = _existing(ws.provenance(name))
        sources.append(Source(name, float(mix[name]), events, sessions, provenance, ws.path(dataset.licence_note)))
    return sources, skipped


def _existing(path: Path) -> Path | None:
    """The manifest as a file, its `.gz` form, or its partitioned folder (read through jsonio)."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return parts.folder_of(path) if parts.is_partitioned(path) else None


def combined_sessions(sources: Sequence[Source], songs: SongKeys, errors: ErrorCollector) -> list[dict[str, Any]]:
    rows = []
    for source in sources:
        if source.sessions is None:
            continue
        sink = ErrorCollector(source.sessions)
        source_rows = [row for _, row in iter_jsonl(source.sessions, on_error=sink)]
        for row in source_rows:
            songs.declare(source.dataset, str(row.get("session_id", "")), (row.get("attributes") or {}).get("song_key"))
        rows.extend(combined_session_rows(source.dataset, source_rows))
        errors.errors.extend(sink.errors)
    return rows


def combined_rows(
    sources: Sequence[Source], taxonomy: Taxonomy, songs: SongKeys, state: CombineState, errors: ErrorCollector
) -> Iterator[dict[str, Any]]:
    """The combined rows built from the sources and the configs, learning into `state` what the
    reference records. The reader of the reference (drumgate.io.combined_reference) rebuilds the
    same rows from the reference alone; the tests compare the two."""
    for source in sources:
        sink = ErrorCollector(source.events)
        for _, row in progress(iter_jsonl(source.events, on_error=sink), f"combine {source.dataset}", "event"):
            source.events_read += 1
            if not keep_event(source.dataset, str(row.get("event_id")), source.ratio):
                continue
            session_id = str(row.get("session_id"))
            attributes = dict(row.get("attributes") or {})
            song = songs.key(source.dataset, session_id, attributes)
            if attributes.get("song_key") != song:
                state.song_keys.setdefault(source.dataset, {})[session_id] = song
            attributes["song_key"] = song
            combined = {**row, "session_id": combined_session_id(source.dataset, session_id), "attributes": attributes}
            try:
                combined = map_row(combined, taxonomy)
            except UnmappedVariant as missing:
                per_file = state.unmapped.setdefault(missing.variant, {})
                per_file[str(source.events)] = per_file.get(str(source.events), 0) + 1
                continue
            own_variant = row.get("variant")
            if combined.get("variant") and not (isinstance(own_variant, str) and own_variant):
                state.crash_labels.add(str(row.get("label")))  # a crash-family label without a variant
            split = str(row.get("split"))
            state.song_splits.setdefault(song, {}).setdefault(source.dataset, set()).add(split)
            state.sessions[combined["session_id"]] = source.dataset
            source.events_kept += 1
            yield combined
        errors.errors.extend(sink.errors)
    if state.unmapped or errors.errors:
        raise CombineAborted


def source_health(ws: Workspace, source: Source) -> dict[str, Any]:
    """The source's own health report under its own gates (what the combined gate requires to pass)."""
    sessions = [row for _, row in iter_jsonl(source.sessions)] if source.sessions else None
    where = {"events": ws.rel(source.events), "sessions": ws.rel(source.sessions) if source.sessions else None}
    return compute_health(ws, source.dataset, iter_jsonl(source.events), sessions, source=where)


def licence_constraints(sources: Sequence[Source]) -> dict[str, dict[str, str]]:
    return {source.dataset: read_licence_note(source.licence_note).constraints() for source in sources}


def source_provenance(source: Source) -> dict[str, dict[str, Any]]:
    if source.provenance is None:
        return {}
    return {str(row.get("session_id")): row for _, row in iter_jsonl(source.provenance)}


def provenance_rows(ws: Workspace, sources: Sequence[Source], state: CombineState) -> Iterator[dict[str, Any]]:
    licences = licence_constraints(sources)
    commit = ingest_commit()
    hashes = config_hashes(ws, ("datasets.toml", "crash_dual_label.json", "technique_taxonomy.json"))
    for source in sources:
        upstream = source_provenance(source)
        prefix = f"{source.dataset}:"
        for session in sorted(s for s in state.sessions if s.startswith(prefix)):
            original = upstream.get(session[len(prefix) :], {})
            yield {
                "session_id": session,
                "dataset": COMBINED,
                "source_dataset": source.dataset,
                "tier": original.get("tier", "combined"),
                "source_files": original.get("source_files", []),
                "ingest_commit": commit,
                "tool_version": __version__,
                "config_hashes": hashes,
                "licence": licences[source.dataset],
            }


def unmapped_lines(ws: Workspace, state: CombineState) -> list[str]:
    lines = []
    for variant, places in sorted(state.unmapped.items()):
        where = ", ".join(f"{ws.rel(path)} ({count:,})" for path, count in sorted(places.items()))
        lines.append(
            f"configs/crash_dual_label.json: crash variant {variant!r} is not mapped: {where} "
            "(add it under variants, then rerun drumgate combine)"
        )
    return lines


@dataclass
class CombineOutcome:
    """What `combine` did: bad rows and unmapped variants (`aborted`: nothing written), else the
    combined health report, the sources mixed and left out, and the files written."""

    errors: ErrorCollector
    aborted: bool = False
    unmapped: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    sources: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # the failing gates, then sources failing their own
    retired: list[Path] = field(default_factory=list)  # an older combined manifest that copied the rows

    @property
    def exit_code(self) -> int:
        """2 for bad rows, 1 for an unmapped variant or a failing gate, else 0."""
        if self.errors.errors:
            return EXIT_USAGE
        if self.report is None or failing_gates(self.report):
            return EXIT_FINDINGS
        return EXIT_OK


def combine(ws: Workspace, date: str | None, weights_scheme: str = DEFAULT_WEIGHTS_SCHEME) -> CombineOutcome:
    """Write the combined manifest, its health report, weights and provenance, recording their lineage."""
    config = load_datasets(ws)
    waived = waived_sources(config)
    day = report_date(date)
    stamp = day.strftime("%Y%m%d")
    grouplock.hold_every_group(ws)
    sources, skipped = find_sources(ws, config)
    if not sources:
        raise DrumgateError(
            "nothing to combine: no dataset has both an events manifest and a [combined] mix share",
            path=config.path,
            hint="run the ingestors first",
        )
    licence_constraints(sources)
    taxonomy = load_taxonomy(ws)
    songs = SongKeys(ws)
    state = CombineState()
    errors = ErrorCollector(ws.root)
    sessions = combined_sessions(sources, songs, errors)
    try:
        for _ in combined_rows(sources, taxonomy, songs, state, errors):
            pass  # the pass learns what the reference records; the rows are read back through it
    except CombineAborted:
        return CombineOutcome(errors, aborted=True, unmapped=unmapped_lines(ws, state))
    if errors.errors:
        return CombineOutcome(errors)
    argv = ["combine", "--date", day.isoformat(), "--weights-scheme", weights_scheme]
    events_path = ws.path(combined_reference())
    write_json(events_path, build_reference(ws, sources, taxonomy, state))
    retired = retire_copied_manifest(ws)
    source_inputs = [lock_artifact(s.events) for s in sources] + [s.sessions for s in sources if s.sessions]
    record_lineage(ws, COMBINED, events_path, argv, [*source_inputs, *_song_key_configs(ws)])
    where = {"events": ws.rel(events_path), "sessions": None}

    report = compute_health(ws, COMBINED, events.iter_rows(events_path), sessions, source=where)
    add_song_leaks(report, song_leaks(state.song_splits))
    add_source_gates(report, {s.dataset: source_health(ws, s) for s in sources}, waived)
    report["licences"] = licence_constraints(sources)
    report["mix"] = {
        s.dataset: {"ratio": s.ratio, "events_read": s.events_read, "events_kept": s.events_kept} for s in sources
    }
    health_path = ws.root / combined_health_report(stamp)
    write_json(health_path, report)
    record_lineage(ws, COMBINED, health_path, argv, [events_path, *source_inputs])

    weights = compute_weights(ws, COMBINED, events.iter_rows(events_path), sessions, scheme=weights_scheme,
                              source=where)
    weights_path = ws.root / combined_weights_report()
    for path in (weights_path, ws.weights_report(COMBINED, stamp)):
        write_json(path, weights)
        record_lineage(ws, COMBINED, path, argv, [events_path, *source_inputs])

    provenance_path = ws.provenance(COMBINED)
    write_jsonl(provenance_path, provenance_rows(ws, sources, state))
    notes = [s.licence_note for s in sources] + [s.provenance for s in sources if s.provenance]
    record_lineage(ws, COMBINED, provenance_path, argv, [events_path, *notes])

    written = [events_path, health_path, weights_path, provenance_path]
    failing = failing_gates(report) + unwaived_source_lines(ws.rel(config.path), report)
    return CombineOutcome(errors, report=report, sources=list(sources), skipped=list(skipped), written=written,
                          failing=failing, retired=retired)


def build_reference(ws: Workspace, sources: Sequence[Source], taxonomy: Taxonomy, state: CombineState
                    ) -> dict[str, Any]:
    """The reference document for what the pass over the sources learned (drumgate.io.combined_reference)."""
    folder = ws.path(combined_reference()).parent
    entries = [
        reference_format.source_entry(s.dataset, s.ratio, s.events, folder, (s.events_read, s.events_kept),
                                      state.song_keys.get(s.dataset, {}))
        for s in sources
    ]
    variants = {name: {"primary": m.primary, "secondary": m.secondary} for name, m in taxonomy.crash_map.items()}
    return reference_format.build(COMBINED, entries, variants, sorted(state.crash_labels))


def retire_copied_manifest(ws: Workspace) -> list[Path]:
    """Remove a combined manifest that copied every source row (before the reference) and its lock entry."""
    copied = ws.events_manifest(COMBINED)
    gone = [path for path in (copied, copied.with_name(copied.name + ".gz")) if path.is_file()]
    for path in gone:
        path.unlink()
    if gone:
        lineage.forget(ws, artifact_group(ws, COMBINED), gone)
    return gone


def _song_key_configs(ws: Workspace) -> list[Path]:
    """The config song keys are derived from (drumgate.reports.overlap), when the workspace has it."""
    overlap = ws.configs / "musdb.json"
    return [overlap] if overlap.is_file() else []


def unwaived_source_lines(config_path: str, report: Mapping[str, Any]) -> list[str]:
    """One line per mixed dataset that fails its own gates and is not waived."""
    return [
        f"{config_path}: {COMBINED} mixes {name}, which fails its own gates "
        f"({', '.join(found['failing'])}) (fix: make {name} pass, or accept it: "
        f'waive_source_gates = ["{name}"] under [combined])'
        for name, found in report["sources"].items()
        if found["failing"] and not found["waived"]
    ]
