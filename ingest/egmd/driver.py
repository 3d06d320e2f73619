"""E-GMD's run: the contract's policies with the three things the shared driver does not take yet.

The licence note is checked first with the contract's one policy (`licence_for_ingest`: one line,
exit 2, nothing read or written), the date is the contract's (`--date`, else SOURCE_DATE_EPOCH,
else none), and the ingestor lists and ingests performances through its contract methods. What
stays E-GMD's own: a worker pool that writes event rows straight into the events file, the
partitioned layout (a folder of per-performance parts, `drumgate.io.parts`), and `--shard I/N`
(shard files and sidecars instead of lock entries, joined by `drumgate merge`).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate import __version__, lineage
from drumgate.artifacts import refuse_emptying
from drumgate.config import DatasetConfig, StorageRoot
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.fsutil import atomic_writers
from drumgate.io.hashing import sha256_bytes
from drumgate.io.jsonio import dumps_row
from drumgate.io.parts.layout import LAYOUTS, wants_parts
from drumgate.io.parts.layout import layout as layout  # the parser of E-GMD's own --layout (ingest/egmd/__init__.py)
from drumgate.lineage import grouplock, provenance
from drumgate.progress import progress
from drumgate.workers import worker_count
from drumgate.workspace import Workspace
from ingest import contract, contract_parts
from ingest.egmd.event_encoding import write_encoded
from ingest.egmd.metadata import MISSING_ROOT, root_fingerprint
from ingest.egmd.pool import Task, run_performances
from ingest.egmd.renders import DATASET, IngestSettings, PerformanceResult, decode_events
from ingest.egmd.sharding import Shard, parse_shard, shard_bounds, shard_path, write_sidecars
from ingest.egmd.summary import Tally
from ingest.ingest_report import IngestReport

if TYPE_CHECKING:
    from ingest.egmd import Egmd

KINDS = contract.ARTIFACT_KINDS  # events, sessions, provenance: the order of every write and record
DEFAULT_DURATION_TOLERANCE_S = 2.0
# Below this many renders the MIDI and technique loops run interpreted: about 46 ms a render against
# about 5 s of CPU to compile them on a fresh install (the demo's cold start); the results are equal.
COMPILE_FROM_RENDERS = 100
Targets = dict[str, Path]


@dataclass(frozen=True)
class EgmdSettings:
    """E-GMD's own options, typed (they arrive as `IngestOptions.settings`, keyed by these names)."""

    shard: str | None = None  # `I/N`, parsed by sharding.parse_shard
    jobs: int = 0  # 0: drumgate.workers.worker_count decides
    duration_tolerance: float = DEFAULT_DURATION_TOLERANCE_S
    reference_encoder: bool = False
    layout: str = "auto"  # one of LAYOUTS

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise DrumgateError(f"--layout {self.layout[:40]!r}: not one of {', '.join(LAYOUTS)}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EgmdSettings:
        return cls(**{f.name: settings[f.name] for f in fields(cls) if settings.get(f.name) is not None})


def ingest(
    cls: type[Egmd], ws: Workspace, options: contract.IngestOptions, config: DatasetConfig, licence: dict[str, str],
    date: str | None,
) -> IngestReport:
    """E-GMD's writes, after the contract's licence and date policy (`Egmd.drive`); plain values only."""
    settings = EgmdSettings.from_settings(options.settings)
    shard = parse_shard(settings.shard) if settings.shard else None
    # a shard run writes only its own shard files; merge takes the lock
    with grouplock.holding(ws, config.group) if shard is None else contextlib.nullcontext():
        return _ingest(cls, ws, options, config, licence, date, settings, shard)


def _ingest(
    cls: type[Egmd], ws: Workspace, options: contract.IngestOptions, config: DatasetConfig, licence: dict[str, str],
    date: str | None, settings: EgmdSettings, shard: Shard | None,
) -> IngestReport:
    roots = contract.storage_roots(cls, ws, config, options.root)
    final = contract.output_targets(ws, KINDS, options.outputs, DATASET)
    targets = cls.targets(ws, options.outputs, options.settings)
    # a shard writes only its own files and sidecars: merge writes the lock
    contract.check_before_writing(ws, config.group, targets.values(), lock=shard is None)
    report = IngestReport(DATASET)
    carried = contract.ItemRows()
    if not roots[0].online:
        carried = _carried_forward(ws, roots[0], settings, shard, report)
    ingestor = cls(contract.IngestContext(ws, config, tuple(root for root in roots if root.online), options.settings))
    items = ingestor.list_items()
    metadata = ingestor.metadata
    common: dict[str, Any] = {
        "ingest_commit": provenance.ingest_commit(),
        "tool_version": __version__,
        "config_hashes": provenance.config_hashes(ws, cls.config_files, config.group),
        "licence": licence,
        **({"ingest_date": date} if date else {}),
    }
    start, stop = shard_bounds(len(items), *shard) if shard else (0, len(items))
    owned = items[start:stop]
    tasks: list[Task] = [(item.item_id, list(item.facts["renders"])) for item in owned]
    renders = sum(len(renders) for _, renders in tasks)
    render_settings = replace(ingestor.render_settings, provenance_common=common,
                              compiled=renders >= COMPILE_FROM_RENDERS)
    report.items = len(tasks)
    tally = Tally(metadata.kind if metadata else "egmd")  # this run's share (a shard's), not the listing's
    if shard is None or shard[0] == 1:  # problems of no performance belong to the first shard
        report.findings.extend(ingestor.listing.findings)
        tally.exclusions.extend(ingestor.unattributed)
    for item in owned:
        report.findings.extend(exclusion.render() for exclusion in item.facts["excluded"])
        tally.exclusions.extend(item.facts["excluded"])
    tally.rows = sum(len(rows) for _, rows in tasks) + len(tally.exclusions)
    rendered = len(metadata.rows) if metadata else 0
    jobs = worker_count(settings.jobs or None, len(tasks))
    run = Run(tasks, render_settings, jobs, report, tally, options.allow_empty, ws,
              check_empty=shard is None or not rendered)
    committed = any(contract_parts.has_folder(path) for path in final.values())
    if wants_parts(settings.layout, rendered, config.options.get("partition_renders"), committed):
        targets = _write_partitioned(run, targets, final)
    else:
        _write_single(run, targets, final, carried)
        if shard is None:
            contract_parts.drop_folders(final.values())
    if targets != final or shard is None:  # the folders' indexes replace the single files in the lock, and back
        contract_parts.forget_other_form(ws, config.group, final.values(), written_parts=targets != final)
    argv = regenerate_argv(ws, options, settings, roots[0].path if options.root else None, final)
    inputs = [ws.configs / name for name in cls.config_files]
    if ws.path(config.licence_note).is_file():
        inputs.append(ws.path(config.licence_note))
    fingerprint = root_fingerprint(roots[0].path, metadata) if metadata else sha256_bytes(b"offline")
    external = {f"{DATASET}_root": fingerprint}
    if shard is None:
        for written in targets.values():
            lineage.record(ws, config.group, written, argv, inputs=inputs, external_inputs=external)
    else:
        write_sidecars(ws, config.group, shard, {targets[kind]: final[kind] for kind in KINDS}, argv, inputs, external)
    report.sections = tally.sections()
    report.figures = tally.figures()
    report.written = [ws.rel(targets[kind]) for kind in KINDS]
    return report


@dataclass
class Run:
    """What both layouts' writers share: the work, the pool size, the report and the empty-manifest policy."""

    tasks: list[Task]
    settings: IngestSettings
    jobs: int
    report: IngestReport
    tally: Tally
    allow_empty: bool
    ws: Workspace
    check_empty: bool  # a sharded run's total is known to merge, unless no row survived

    def refuse_emptying(self, rows_written: Mapping[Path, int]) -> None:
        if self.check_empty:
            refuse_emptying(rows_written, self.allow_empty, self.ws.rel, self.tally.empty_reason())


def _carried_forward(
    ws: Workspace, root: StorageRoot, settings: EgmdSettings, shard: Shard | None, report: IngestReport
) -> contract.ItemRows:
    """The committed sessions of an unmounted root, as the contract carries every offline tier forward.

    A shard or the partitioned layout has nothing to carry them into: there, as with nothing committed,
    the root is missing (exit 2)."""
    committed = contract.output_targets(ws, KINDS, {}, DATASET)
    partitioned = settings.layout == "parts" or contract_parts.has_folder(committed["sessions"])
    rows, note = (contract.ItemRows(), "") if shard or partitioned else contract.carried_forward(
        ws, DATASET, root, committed)
    if not rows.sessions:
        raise DrumgateError(MISSING_ROOT, path=root.path,
                            hint="pass --root DIR" + (f" or set {root.env}" if root.env else ""))
    report.notes.append(note)
    return rows


def shard_targets(ws: Workspace, typed: Mapping[str, str | None], shard: Shard | None) -> Targets:
    """Where a run writes: the artifacts (or the typed paths), or beside them the shard's own files."""
    final = contract.output_targets(ws, KINDS, typed, DATASET)
    return final if shard is None else {kind: shard_path(path, shard) for kind, path in final.items()}


def regenerate_argv(
    ws: Workspace, options: contract.IngestOptions, settings: EgmdSettings, root: Path | None, final: Targets
) -> list[str]:
    """The command that rewrites these artifacts; it always names the three outputs (merge joins shards to them)."""
    argv = ["ingest", "egmd"]
    if root is not None:
        argv += ["--root", ws.rel(root)]
    argv += ["--output", ws.rel(final["events"]), "--provenance", ws.rel(final["provenance"]),
             "--sessions", ws.rel(final["sessions"])]
    if settings.duration_tolerance != DEFAULT_DURATION_TOLERANCE_S:
        argv += ["--duration-tolerance", f"{settings.duration_tolerance:g}"]
    if options.date:
        argv += ["--date", options.date]
    if options.allow_empty:
        argv.append("--allow-empty")
    if settings.layout != "auto":
        argv += ["--layout", settings.layout]
    return argv


def _write_single(run: Run, targets: Targets, final: Targets, carried: contract.ItemRows) -> None:
    """The three manifests as single files, every one written or none (fsutil.atomic_writers);
    an offline root's committed rows follow, as the contract writes them."""
    with atomic_writers({kind: targets[kind] for kind in KINDS}) as out:
        out["events"].flush()
        results = run_performances(run.tasks, run.settings, run.jobs, events_fd=out["events"].fileno())
        for result in progress(results, DATASET, "performance", total=len(run.tasks)):
            write_encoded(out["events"], result.events)
            if result.session is not None:
                out["sessions"].write(dumps_row(result.session) + b"\n")
            for row in result.provenance_rows:
                out["provenance"].write(dumps_row(row) + b"\n")
            run.tally.add(run.report, result)
        for kind in KINDS:
            out[kind].writelines(dumps_row(row) + b"\n" for row in getattr(carried, kind))
        run.report.add(carried)
        run.refuse_emptying({path: getattr(run.report, kind) for kind, path in final.items()})


def performance_parts(result: PerformanceResult) -> tuple[parts.PartInput, parts.PartInput, parts.PartInput]:
    """One performance's three parts: its events once per distinct MIDI, its renders, session and provenance."""
    assert result.session is not None
    key = result.session["session_id"]
    stored: list[dict[str, Any]] = []
    renders: list[dict[str, Any]] = []
    representative: dict[str, str] = {}
    for (row, midi_key), chunk in zip(result.played, result.events, strict=True):
        if midi_key not in representative:
            representative[midi_key] = row.item_id
            stored.extend(decode_events([chunk]))
        renders.append({"item_id": row.item_id, "midi": row.midi_filename, "kit_name": row.kit_name,
                        "audio": row.audio_filename, "duration": row.duration, "split": row.split,
                        "events_item": representative[midi_key]})
    return (parts.PartInput(key, stored, renders), parts.PartInput(key, [result.session]),
            parts.PartInput(key, result.provenance_rows))


def _write_partitioned(run: Run, targets: Targets, final: Targets) -> Targets:
    """The three manifests as folders of per-performance parts; only changed parts are rewritten.

    A `--shard I/N` run (`targets` differ from `final`) writes its parts into `<folder>.shard-I-of-N/`
    and their index entries to the shard file (`<name>.shard-I-of-N.jsonl`); `drumgate merge` moves
    the parts in and writes the index, so the merged folder equals an unsharded run's."""
    sharded = targets != final
    folders = {kind: parts.folder_of(targets[kind]) for kind in KINDS}
    if sharded:  # a shard folder holds this run's parts only
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    writers = [parts.PartsWriter(folders[kind], kind, DATASET, "session_id") for kind in KINDS]
    results = run_performances(run.tasks, run.settings, run.jobs)
    for result in progress(results, DATASET, "performance", total=len(run.tasks)):
        run.tally.add(run.report, result)
        if result.session is not None:
            for writer, part in zip(writers, performance_parts(result), strict=True):
                writer.add(part)
    indexes = {kind: contract_parts.index_of(final[kind]) for kind in KINDS}
    run.refuse_emptying({path: getattr(run.report, kind) for kind, path in indexes.items()})
    if sharded:
        for writer, kind in zip(writers, KINDS, strict=True):
            writer.close_shard(targets[kind])
        return targets
    for writer in writers:
        writer.close()
    return indexes
