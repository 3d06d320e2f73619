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
  `unassigned` counts as a split, so a song must be placed the same way everywhere, and the **same
  source audio bytes in two splits** (each mixed source's provenance sha256, as `drumgate health`
  reads them; within one dataset or across two). Its sessions
  are the mixed sources' sessions (so hours and missing audio are gated like the sources'), and
  one `source_gates[<ds>]` gate per mixed dataset fails while that dataset fails its own gates (as
  `drumgate health` judges them, its provenance's hashes included),
  unless `[combined] waive_source_gates` names it (the waiver is recorded and shown);
- `reports/sampling/prod_combined_weights.json` and a dated copy;
- `data/provenance/prod_combined_provenance.jsonl`: one row per combined session carrying its
  source dataset's licence constraints (from `data/licenses/<ds>.md`).

Exit 0 when the combined gate passes, 1 when it fails or a crash variant is unmapped, 2 for bad
input.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import __version__, lineage
from drumgate.artifacts import combined_health_report, combined_reference, combined_weights_report, events_command
from drumgate.config import load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, DrumgateError
from drumgate.io import combined_reference as reference_format
from drumgate.io import parts
from drumgate.io.combined_reference import Rewrite, keep_event
from drumgate.io.fsutil import require_writable
from drumgate.io.jsonio import iter_jsonl, write_json, write_jsonl
from drumgate.licences import read_licence_note
from drumgate.lineage import grouplock
from drumgate.lineage.found_inputs import held_out_sessions
from drumgate.lineage.provenance import config_hashes, ingest_commit, report_date
from drumgate.progress import progress
from drumgate.reports.combined import (
    NO_EVENTS,
    CombinedCounts,
    SourceHashes,
    add_song_leaks,
    add_source_gates,
    add_unchecked_held_out,
    combined_counts,
    combined_source_hashes,
    mixed_datasets,
    song_leaks,
    source_health,
    unchecked_held_out,
    waived_sources,
)
from drumgate.reports.gates import failing_gates, load_health_config, located_failing_gates
from drumgate.reports.health import compute_health
from drumgate.reports.health_sessions import read_source_hashes
from drumgate.reports.part_counts import PartTally, merge_song_splits, tally_part
from drumgate.reports.report_io import ErrorCollector, artifact_group, record_lineage
from drumgate.reports.weights import compute_weights
from drumgate.reports.weights_files import DEFAULT_SCHEME
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workers import paused_gc
from drumgate.workspace import COMBINED, Workspace
from ingest.combine_sources import (
    CombineAborted,
    CombineState,
    SongKeys,
    Source,
    combined_rows,
    combined_sessions,
    find_sources,
    held_out_songs,
    learn_sources,
)

__all__ = ["CombineState", "SongKeys", "combine", "combined_rows", "combined_sessions", "find_sources", "keep_event"]
DEFAULT_WEIGHTS_SCHEME = DEFAULT_SCHEME  # what `weights` writes when not told otherwise


def own_health(ws: Workspace, source: Source, source_hashes: SourceHashes | None) -> dict[str, Any]:
    """The source's own health under its own gates (what the combined gate requires to pass)."""
    sessions = source.session_rows
    if sessions is None and source.sessions:
        sessions = [row for _, row in iter_jsonl(source.sessions)]
    where = {"events": ws.rel(source.events), "sessions": ws.rel(source.sessions) if source.sessions else None}
    # a partitioned source's counts come from its index (every part's sha256 checked), as `drumgate health`'s do
    rows = parts.counts_from_index(source.events) if source.events.is_dir() else iter_jsonl(source.events)
    return source_health(load_health_config(ws, source.dataset), rows, sessions, source_hashes, source=where)


def provenance_hashes(ws: Workspace, source: Source, errors: ErrorCollector) -> dict[str, set[str]] | None:
    """The source's provenance hashes, read as `drumgate health` reads its dataset's (None without one)."""
    if source.provenance is None:
        return None
    sink = ErrorCollector(source.provenance, ws)
    found = read_source_hashes(iter_jsonl(source.provenance, on_error=sink), ws.rel(source.provenance))
    errors.errors.extend(sink.errors)
    return found


def licence_constraints(sources: Sequence[Source]) -> dict[str, dict[str, str]]:
    return {source.dataset: read_licence_note(source.licence_note).constraints() for source in sources}


def source_provenance(source: Source) -> dict[str, dict[str, Any]]:
    if source.provenance is None:
        return {}
    return {str(row.get("session_id")): row for _, row in iter_jsonl(source.provenance)}


def provenance_rows(ws: Workspace, sources: Sequence[Source], state: CombineState) -> Iterator[dict[str, Any]]:
    licences = licence_constraints(sources)
    commit = ingest_commit()
    hashes = config_hashes(ws, ("datasets.toml", "crash_dual_label.json", "technique_taxonomy.json"),
                           artifact_group(ws, COMBINED))
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
        """2 for bad rows, 1 for an unmapped variant, a failing gate or a mixed dataset not there, else 0."""
        if self.errors.errors:
            return EXIT_USAGE
        if self.report is None or failing_gates(self.report) or self.failing:
            return EXIT_FINDINGS
        return EXIT_OK


def combine(ws: Workspace, date: str | None, weights_scheme: str = DEFAULT_WEIGHTS_SCHEME) -> CombineOutcome:
    """Write the combined manifest, its health report, weights and provenance, recording their lineage."""
    with paused_gc():
        return _combine(ws, date, weights_scheme)


def _combine(ws: Workspace, date: str | None, weights_scheme: str) -> CombineOutcome:
    config = load_datasets(ws)
    waived = waived_sources(config)
    day = report_date(date)
    stamp = day.strftime("%Y%m%d")
    grouplock.hold_every_group(ws)
    sources, skipped, unmade = find_sources(ws, config)
    if not sources:
        waiting = mixed_datasets(config, lambda _name: True)  # a share, but no events yet
        hint = (f"fix: {shlex.join(['drumgate', *events_command(waiting[0])])}" if waiting else
                "fix: give a dataset a share above 0 under [combined] mix in configs/datasets.toml"
                + (", or drumgate repro to retire what combine wrote" if _combined_recorded(ws) else ""))
        raise DrumgateError(
            "nothing to combine: no dataset has both an events manifest and a [combined] mix share",
            path=config.path,
            hint=hint,
        )
    licence_constraints(sources)
    taxonomy = load_taxonomy(ws)
    songs = SongKeys(ws)
    state = CombineState()
    errors = ErrorCollector(ws.root, ws)
    sessions = combined_sessions(sources, songs, errors)
    held_out_inputs = held_out_sessions(ws)
    held_out = held_out_songs(held_out_inputs, errors)
    try:
        learn_sources(sources, taxonomy, songs, state, errors)
    except CombineAborted:
        return CombineOutcome(errors, aborted=True, unmapped=unmapped_lines(ws, state))
    source_hashes = {s.dataset: provenance_hashes(ws, s, errors) for s in sources}
    if errors.errors:
        return CombineOutcome(errors)
    argv = ["combine", "--date", day.isoformat(), "--weights-scheme", weights_scheme]
    events_path = ws.path(combined_reference())
    require_writable([events_path, ws.root / combined_health_report(stamp), ws.root / combined_weights_report(),
                      ws.weights_report(COMBINED, stamp), ws.provenance(COMBINED),
                      ws.lock_file(artifact_group(ws, COMBINED))])
    reference = build_reference(ws, sources, taxonomy, state)
    write_json(events_path, reference)
    retired = retire_copied_manifest(ws)
    # every artifact lists the provenance and held-out sessions it reads: the lock check asks combine's finder for them
    source_inputs = ([parts.lock_path(s.events) for s in sources] + [s.sessions for s in sources if s.sessions]
                     + [parts.lock_path(s.provenance) for s in sources if s.provenance]
                     + [parts.lock_path(path) for _, path in held_out_inputs])
    record_lineage(ws, COMBINED, events_path, argv, [*source_inputs, *_song_key_configs(ws)])
    where = {"events": ws.rel(events_path), "sessions": None}

    counts = count_combined(events_path, reference, errors)
    if errors.errors:
        return CombineOutcome(errors)
    health = load_health_config(ws, COMBINED)
    report = compute_health(health, counts.events, sessions, source=where,
                            source_hashes=combined_source_hashes(source_hashes))
    merge_song_splits(counts.song_splits, held_out)
    add_song_leaks(report, song_leaks(counts.song_splits))
    add_source_gates(report, {s.dataset: own_health(ws, s, source_hashes[s.dataset]) for s in sources}, waived,
                     unmade)
    # a dataset the mix gives a share but that has no events yet is left to its own line, which says to ingest it
    add_unchecked_held_out(report, (unchecked_held_out(name, ws.rel(path), (row for _, row in iter_jsonl(path)))
                                    for name, path in held_out_inputs if name not in unmade))
    report["licences"] = licence_constraints(sources)
    report["mix"] = {
        s.dataset: {"ratio": s.ratio, "events_read": s.events_read, "events_kept": s.events_kept} for s in sources
    }
    health_path = ws.root / combined_health_report(stamp)
    write_json(health_path, report)
    record_lineage(ws, COMBINED, health_path, argv, [events_path, *source_inputs])

    weights = compute_weights(taxonomy, COMBINED, counts.excerpts, sessions, scheme=weights_scheme, source=where)
    weights_path = ws.root / combined_weights_report()
    weights_copies = [weights_path, ws.weights_report(COMBINED, stamp)]
    for path in weights_copies:
        write_json(path, weights)
    record_lineage(ws, COMBINED, weights_copies, argv, [events_path, *source_inputs])

    provenance_path = ws.provenance(COMBINED)
    write_jsonl(provenance_path, provenance_rows(ws, sources, state))
    record_lineage(ws, COMBINED, provenance_path, argv,
                   [events_path, *(s.licence_note for s in sources), *source_inputs])

    written = [events_path, health_path, weights_path, provenance_path]
    # a mixed dataset's failing gates are worded by unwaived_source_lines, with their fix
    located = located_failing_gates(report, health, config.path, ws.rel(config.path), ws.rel(health_path),
                                    explained={"source_gates"})
    failing = located + unwaived_source_lines(ws.rel(config.path), report) + [
        f"{ws.rel(config.path)}: [combined] mix gives {name} a share, but {name} has no events manifest:"
        f" {COMBINED} is made without it (fix: {unmade_fix(name)})" for name in unmade]
    return CombineOutcome(errors, report=report, sources=list(sources), skipped=list(skipped), written=written,
                          failing=failing, retired=retired)


def _combined_recorded(ws: Workspace) -> bool:
    """Whether the lock records a combined manifest, which `drumgate repro` retires when nothing is mixed."""
    return combined_reference() in lineage.read_lock(ws, artifact_group(ws, COMBINED))["artifacts"]


def unmade_fix(name: str) -> str:
    """Ingest the dataset, when drumgate has an ingest for it; else take it out of the mix."""
    from drumgate.workspace import packaged_datasets

    out = f"take {name} out of [combined] mix"
    if name in packaged_datasets():
        return f"drumgate ingest {name}, or {out}"
    return f"{out} (drumgate has no ingest for it)"


def count_combined(path: Path, reference: Mapping[str, Any], errors: ErrorCollector) -> CombinedCounts:
    """The combined rows the reference stands for, counted from the sources on disk: a partitioned
    source part by part from its stored rows (drumgate.reports.part_counts), a file row by row."""
    folder = path.parent

    def file_rows(source: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        return iter_jsonl(folder / source["manifest"], on_error=errors)

    def folder_tallies(source: Mapping[str, Any], rewrite: Rewrite) -> Iterable[PartTally]:
        manifest = folder / source["manifest"]
        for entry, rows, renders in progress(parts.stored_parts(manifest, errors), f"count {rewrite.dataset}",
                                             "part"):
            yield tally_part(rewrite, rows, renders, manifest / entry["file"])

    return combined_counts(path, reference_format.checked(reference, path), file_rows, folder_tallies, errors)


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
        if found["failing"] and not found["waived"] and found["failing"] != [NO_EVENTS]  # worded with its own fix
    ]
