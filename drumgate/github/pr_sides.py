"""One side of a pull request: a dataset's health, weights and licence at one revision.

Each side reads the dataset's events and sessions manifests and its licence note straight from git
objects (`drumgate.github.git_tree`; `.jsonl.gz` too; a manifest absent at a revision counts as
empty) and computes health with that side's own configs. For the combined manifest it applies the
gates `combine` applies (song leaks across sources, one gate per mixed source), so the numbers equal
the committed combined report. Malformed rows are counted and the first few kept as text.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from drumgate.artifacts import combined_reference, licence_note, manifest
from drumgate.config import load_datasets
from drumgate.errors import DrumgateError
from drumgate.github.git_tree import GitTree, short_sha
from drumgate.github.pr_licences import combined_licence_constraints, licence_constraints, note_of
from drumgate.github.pr_parts import (
    combined_tallies,
    event_counts,
    folder_render_rows,
    folder_rows,
    index_rel,
)
from drumgate.io import parts
from drumgate.io.lines import (
    LFS_POINTER_PREFIX,
    NumberedLines,
    damaged_gzip_error,
    is_gzip_path,
    iter_capped_lines,
    lfs_pointer_error,
    rows_of_lines,
)
from drumgate.reports.part_counts import merge_song_splits
from drumgate.workspace import COMBINED, Workspace

if TYPE_CHECKING:  # pr_weights imports this module
    from drumgate.github.pr_weights import SchemeFallback

MAX_ROW_ERRORS = 20
Row = dict[str, Any]


@dataclass
class RowErrors:
    """Malformed rows of one manifest at one revision: counted, the first few kept as text."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add_anywhere(self, error: DrumgateError) -> None:
        self.add(error, "")

    def add(self, error: DrumgateError, where: str) -> None:
        if error.path is None:
            error.path = where
        self.count += 1
        if len(self.shown) < MAX_ROW_ERRORS:
            self.shown.append(str(error))


def iter_blob_rows(tree: GitTree, rev: str, rel: str, where: str, errors: RowErrors) -> Iterator[tuple[int, Row]]:
    """A manifest blob's rows through the one line reader (drumgate.io.lines): lines capped, a Git LFS
    pointer (stored plain, also under a `.gz` name) or a damaged gzip stream one error for the whole
    blob, malformed rows counted in `errors`."""
    with tree.stream(rev, rel) as stored:
        try:
            if stored.peek(len(LFS_POINTER_PREFIX)).startswith(LFS_POINTER_PREFIX):  # type: ignore[attr-defined]
                raise lfs_pointer_error(where)
            handle: IO[bytes] = gzip.GzipFile(fileobj=stored, mode="rb") if is_gzip_path(rel) else stored  # type: ignore[assignment]
            numbered = _refusing_lfs_pointer(iter_capped_lines(handle), where)
            yield from rows_of_lines(numbered, Path(where), lambda err: errors.add(err, where))
        except (EOFError, zlib.error, OSError) as exc:  # gzip.BadGzipFile is an OSError
            raise damaged_gzip_error(where, exc) from exc


def _refusing_lfs_pointer(numbered: NumberedLines, where: str) -> Iterator[tuple[int, bytes | None]]:
    """The lines, refused when the first is a Git LFS pointer's (a short first read can hide it from `peek`)."""
    for line_no, raw in numbered:
        if line_no == 1 and raw is not None and raw.startswith(LFS_POINTER_PREFIX):
            raise lfs_pointer_error(where)
        yield line_no, raw


def side_event_rows(tree: GitTree, rev: str, rel: str, where: str, errors: RowErrors) -> Iterator[tuple[int, Row]]:
    """A manifest blob's rows; for the combined manifest's reference, the rows it stands for, rebuilt
    from its sources at `rev` (drumgate.io.combined_reference; a partitioned source one row per render-hit)."""
    from drumgate.io import combined_reference

    if not rel.endswith(combined_reference.SUFFIX):
        yield from iter_blob_rows(tree, rev, rel, where, errors)
        return
    reference = side_reference(tree, rev, rel, where)
    folder = rel.rsplit("/", 1)[0]

    def source_rows(source: Mapping[str, Any]) -> Iterator[tuple[int, Row]]:
        source_rel = f"{folder}/{source['manifest']}"
        if not source_rel.endswith((".jsonl", ".jsonl.gz")):  # a partitioned folder
            return enumerate(folder_render_rows(tree, rev, source_rel, errors.add_anywhere), 1)
        return iter_blob_rows(tree, rev, source_rel, f"{short_sha(rev)}:{source_rel}", errors)

    yield from combined_reference.combined_rows(where, reference, source_rows)


def side_reference(tree: GitTree, rev: str, rel: str, where: str) -> dict[str, Any]:
    """The combined manifest's reference at `rev`, checked against its schema and digest."""
    from drumgate.io import combined_reference
    from drumgate.io.jsonio import loads_reference

    try:
        document = loads_reference(tree.read_text(rev, rel))
    except ValueError as exc:
        raise DrumgateError(f"invalid JSON: {exc}", path=where, hint=combined_reference.FIX) from exc
    return combined_reference.checked(document, where)


def combined_side_counts(tree: GitTree, rev: str, rel: str, errors: RowErrors) -> Any:
    """`CombinedCounts` of the rows the reference at `rev` stands for: a file source's rows read one by
    one, a partitioned source's counted from its stored rows (drumgate.reports.combined.combined_counts),
    kept on the tree so health and weights share one count."""
    from drumgate.reports.combined import combined_counts

    if ("combined", rev, rel) not in tree.memo:
        where = f"{short_sha(rev)}:{rel}"
        folder = rel.rsplit("/", 1)[0]

        def file_rows(source: Mapping[str, Any]) -> Iterator[tuple[int, Row]]:
            source_rel = f"{folder}/{source['manifest']}"
            if not tree.existing(rev, [source_rel]):  # git's own words would name a blob, not the cause
                raise DrumgateError(f"mixes {source_rel}, which is not in this revision (its dataset's events"
                                    " were removed, and the combined manifest was not made again)", path=where,
                                    hint=f"fix: drumgate repro {COMBINED}, then commit its artifacts")
            return iter_blob_rows(tree, rev, source_rel, f"{short_sha(rev)}:{source_rel}", errors)

        def folder_tallies(source: Mapping[str, Any], rewrite: Any) -> Iterator[Any]:
            return combined_tallies(tree, rev, f"{folder}/{source['manifest']}", rewrite, errors.add_anywhere)

        reference = side_reference(tree, rev, rel, where)
        tree.memo[("combined", rev, rel)] = combined_counts(
            Path(where), reference, file_rows, folder_tallies, lambda err: errors.add(err, where))
    return tree.memo[("combined", rev, rel)]


def manifest_candidates(dataset: str, kind: str) -> list[str]:
    base = manifest(dataset, kind)
    return [base, f"{base}.gz"]


@dataclass
class SideInputs:
    """A side's manifests; a partitioned one (drumgate.io.parts) is named by its folder."""

    events: str | None
    sessions: str | None
    licence: str | None
    events_parts: bool = False
    sessions_parts: bool = False
    provenance: str | None = None  # read for its source files' hashes (leakage), as `drumgate health` does
    provenance_parts: bool = False


def _found(candidates: Sequence[str], present: set[str]) -> tuple[str | None, bool]:
    """The first present candidate; a folder's index stands for the folder (partitioned: True)."""
    for rel in candidates:
        if rel in present:
            partitioned = rel.endswith(f"/{parts.INDEX_NAME}")
            return (rel.rsplit("/", 1)[0] if partitioned else rel), partitioned
    return None, False


def locate(tree: GitTree, rev: str, dataset: str, licence: str | None = None) -> SideInputs:
    """The dataset's manifests at `rev`, and its licence note (`licence`: the path the side's config
    names, else the conventional one)."""
    events = [*manifest_candidates(dataset, "events"), combined_reference(dataset)]  # the combined one's reference
    sessions = manifest_candidates(dataset, "sessions")
    events.append(index_rel(events[0]))
    sessions.append(index_rel(sessions[0]))
    provenance = manifest_candidates(dataset, "provenance")  # `.jsonl.gz` too, as `combine` finds it (parts.stored)
    provenance.append(index_rel(provenance[0]))
    licence = licence or licence_note(dataset)
    present = tree.existing(rev, [*events, *sessions, *provenance, licence])
    events_rel, events_parts = _found(events, present)
    sessions_rel, sessions_parts = _found(sessions, present)
    provenance_rel, provenance_parts = _found(provenance, present)
    return SideInputs(events_rel, sessions_rel, licence if licence in present else None, events_parts, sessions_parts,
                      provenance_rel, provenance_parts)


@dataclass
class SideResult:
    rev: str
    inputs: SideInputs
    health: dict[str, Any]
    row_errors: RowErrors
    licence: dict[str, str] | None
    licence_error: str | None
    weights: dict[str, Any] | None
    weights_fallback: SchemeFallback | None = None  # the committed weights report's scheme drumgate did not know

    @property
    def absent(self) -> bool:
        return self.inputs.events is None


def _session_rows(tree: GitTree, rev: str, inputs: SideInputs, errors: RowErrors) -> Iterator[Row] | None:
    rel = inputs.sessions
    if rel is None:
        return None
    if inputs.sessions_parts:
        return folder_rows(tree, rev, rel, errors.add_anywhere)
    return (row for _, row in iter_blob_rows(tree, rev, rel, f"{short_sha(rev)}:{rel}", errors))


def _source_hashes(tree: GitTree, rev: str, inputs: SideInputs, errors: RowErrors) -> dict[str, set[str]] | None:
    """The provenance's source-file hashes at `rev` (`read_source_hashes`, as `drumgate health` reads
    them): two sessions holding the same audio across splits are a leak. None without a provenance."""
    from drumgate.reports.health_sessions import read_source_hashes

    rel = inputs.provenance
    if rel is None:
        return None
    where = f"{short_sha(rev)}:{rel}"
    rows = (enumerate(folder_rows(tree, rev, rel, errors.add_anywhere), start=1) if inputs.provenance_parts
            else iter_blob_rows(tree, rev, rel, where, errors))
    try:
        return read_source_hashes(rows, where)
    except DrumgateError as err:
        errors.add(err, where)
        return None


def side_events(
    tree: GitTree, rev: str, inputs: SideInputs, peer: str | None, errors: RowErrors
) -> Iterator[tuple[int, Row]] | Any:
    """A side's events as health takes them: rows, or for a partitioned folder the counts merged
    from its index at `rev` (only the parts that differ from the `peer` revision's are read)."""
    if inputs.events is None:
        return iter(())
    if inputs.events_parts:
        return event_counts(tree, rev, inputs.events, peer, errors.add_anywhere)
    where = f"{short_sha(rev)}:{inputs.events}"
    return side_event_rows(tree, rev, inputs.events, where, errors)


def mixed_sources(tree: GitTree, side_ws: Workspace, rev: str) -> dict[str, SideInputs]:
    """The datasets `combine` mixes at `rev`, by the rule it applies (drumgate.reports.combined.mixed_datasets)."""
    from drumgate.reports.combined import mixed_datasets

    found = {name: locate(tree, rev, name, note_of(side_ws, name)) for name in load_datasets(side_ws).datasets}
    mixed = mixed_datasets(load_datasets(side_ws), lambda name: found[name].events is not None)
    return {name: found[name] for name in mixed}


def _held_out_songs(tree: GitTree, side_ws: Workspace, rev: str, sources: Mapping[str, SideInputs],
                    errors: RowErrors) -> dict[str, dict[str, set[str]]]:
    """The songs the datasets combine does not mix hold out at `rev`, as `combine` reads them
    (drumgate.reports.combined.held_out_song_splits)."""
    from drumgate.reports.combined import held_out_song_splits

    found: dict[str, dict[str, set[str]]] = {}
    for name in load_datasets(side_ws).datasets:
        rows = None if name in sources else _session_rows(tree, rev, locate(tree, rev, name), errors)
        if rows is not None:
            merge_song_splits(found, held_out_song_splits(name, rows))
    return found


def _combined_session_rows(
    tree: GitTree, rev: str, sources: Mapping[str, SideInputs], errors: RowErrors
) -> Iterator[Row]:
    """The combined manifest's sessions: every mixed source's sessions as `combine` names them."""
    from drumgate.reports.combined import combined_session_rows

    for name, inputs in sources.items():
        rows = _session_rows(tree, rev, inputs, errors)
        if rows is not None:
            yield from combined_session_rows(name, rows)


def side_sessions(
    tree: GitTree, rev: str, inputs: SideInputs, sources: Mapping[str, SideInputs] | None, errors: RowErrors
) -> Iterator[Row] | None:
    if sources is not None:
        return _combined_session_rows(tree, rev, sources, errors)
    return _session_rows(tree, rev, inputs, errors)


def _source_reports(
    tree: GitTree, side_ws: Workspace, rev: str, sources: Mapping[str, SideInputs], peer: str | None,
    hashes: Mapping[str, dict[str, set[str]] | None],
) -> dict[str, dict[str, Any]]:
    """Each mixed source's own health at `rev` (with its provenance's `hashes`, as `combine` judges it):
    what the combined manifest's source gates judge."""
    from drumgate.reports.combined import source_health
    from drumgate.reports.gates import load_health_config

    reports = {}
    for name, inputs in sources.items():
        ignored = RowErrors()
        reports[name] = source_health(load_health_config(side_ws, name), side_events(tree, rev, inputs, peer, ignored),
                                      _session_rows(tree, rev, inputs, ignored), hashes[name],
                                      on_error=ignored.add_anywhere)
    return reports


def compute_side(
    tree: GitTree,
    side_ws: Workspace,
    rev: str,
    dataset: str,
    peer: str | None = None,
    gates_ws: Workspace | None = None,
    retired: bool = False,
) -> SideResult:
    """One side's health, licence and weights; `peer` is the other side's revision, against which a
    partitioned folder's changed parts are found (drumgate.github.pr_parts). `gates_ws` is the
    workspace whose configs give the dataset's gates when not `side_ws`'s own (a side that does not
    configure the dataset, added or removed by the pull request). A `retired` side (its config no
    longer names the dataset) that holds no events for it judges no gates: the dataset was taken out,
    not emptied, and its base gates read as no longer judged instead of regressed."""
    from drumgate.reports.combined import (
        add_song_leaks,
        add_source_gates,
        combined_source_hashes,
        mixed_datasets,
        record_song_splits,
        song_leaks,
        waived_sources,
    )
    from drumgate.reports.gates import load_health_config
    from drumgate.reports.health import compute_health

    inputs = locate(tree, rev, dataset, note_of(side_ws, dataset))
    errors = RowErrors()
    events_where = f"{short_sha(rev)}:{inputs.events}"
    sources = mixed_sources(tree, side_ws, rev) if dataset == COMBINED and inputs.events else None
    song_splits: dict[str, dict[str, set[str]]] = {}
    if sources is not None and inputs.events and inputs.events.endswith(".json"):
        combined = combined_side_counts(tree, rev, inputs.events, errors)
        event_rows, song_splits = combined.events, combined.song_splits
    else:
        event_rows = side_events(tree, rev, inputs, peer, errors)
        if sources is not None:  # a combined manifest from before the reference: its rows as copied
            event_rows = record_song_splits(event_rows, song_splits)
    judged = load_health_config(gates_ws or side_ws, dataset)
    # the combined content leaks are its sources' audio, as `combine` counts them: not its own provenance's
    hashes = {name: _source_hashes(tree, rev, found, errors) for name, found in (sources or {}).items()}
    own_hashes = combined_source_hashes(hashes) if sources is not None else _source_hashes(tree, rev, inputs, errors)
    health = compute_health(
        replace(judged, gates={}) if retired and inputs.events is None else judged,
        event_rows,
        side_sessions(tree, rev, inputs, sources, errors),
        source={"events": inputs.events, "sessions": inputs.sessions},
        on_error=lambda err: errors.add(err, events_where),
        source_hashes=own_hashes,
    )
    if sources is not None:
        # The same gates `combine` applies, so the numbers equal the committed combined report.
        merge_song_splits(song_splits, _held_out_songs(tree, side_ws, rev, sources, errors))
        add_song_leaks(health, song_leaks(song_splits))
        source_reports = _source_reports(tree, side_ws, rev, sources, peer, hashes)
        config = load_datasets(side_ws)
        add_source_gates(health, source_reports, waived_sources(config),
                         [name for name in mixed_datasets(config, lambda _name: True) if name not in sources])
    if dataset == COMBINED:
        licence, licence_error = combined_licence_constraints(tree, side_ws, rev, list(sources or ()))
    else:
        licence, licence_error = licence_constraints(tree, rev, inputs.licence)
    from drumgate.github.pr_weights import compute_side_weights  # it reads this module's rows

    weights, fallback = compute_side_weights(tree, side_ws, rev, dataset, inputs, sources)
    return SideResult(rev, inputs, health, errors, licence, licence_error, weights, fallback)
