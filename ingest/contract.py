"""The ingestor contract: what every dataset module declares, and the one driver that runs them all.

A dataset module (`ingest/<ds>.py`) holds a dataset card as its docstring (`CARD_SECTIONS`) and
one `Ingestor` subclass named by `INGESTOR`; the CLI's generic ingestor command runs it, wired by
one COMMANDS line. The subclass declares its datasets.toml id, the CLI spellings, the configs its
output depends on and its extra options, and implements two methods:

- `list_items()`: the units of work (tracks, performances, sessions) on the online storage roots,
  in a stable order;
- `ingest_item(item)`: one item's session rows, events and provenance rows (dataset facts and
  `source_files` only), plus its findings and warnings. A bad item is findings, never an exception.

Problems that belong to no item (an empty root, a misnamed archive) go to `self.listing` while
listing. A few declarations cover what differs between datasets without a driver of their own:
`missing_root`, `no_sessions` (tiers that may all be unplugged), `targets` (outputs that depend
on a flag), `lineage_inputs` (a workspace file beyond the configs) and `sections` (extra summary
lines, e.g. MUSDB's overlap list).

`ingest()` does the rest the same way for every dataset: the ingest date (`--date`, else
SOURCE_DATE_EPOCH, else none), the output targets, the licence-note policy (refuse before anything
is read or written), the artifact group's lock, a typed `--root` that must be a folder (only a
configured root may be offline), the lock file read and every output folder found writable before the
first write (`check_before_writing`), rows of offline tiers carried forward, one atomic
write of all targets (a failure in any leaves every previous file and no temporary file), the
refusal to replace a manifest holding rows with an empty one, the provenance common block, lineage
and the summary. Every ingestor also takes `--layout auto|file|parts` (SHARED_OPTIONS): single files,
or folders of per-session parts (ingest/contract_parts.py, issue 15). The driver takes plain values;
only the CLI parses the command line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, ClassVar

from drumgate import __version__, lineage
from drumgate.artifacts import refuse_emptying
from drumgate.config import DatasetConfig, StorageRoot, load_datasets, unmounted_roots
from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.io import parts
from drumgate.io.fsutil import atomic_writers, require_writable
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import dumps_row, iter_jsonl
from drumgate.licences import licence_for_ingest
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import config_hashes, ingest_commit, report_date
from drumgate.progress import progress
from drumgate.workspace import Workspace
from ingest import contract_parts
from ingest.ingest_report import IngestReport
from ingest.options import SHARED_OPTIONS, Option

# Headings every dataset card (the module docstring) holds, in this order.
CARD_SECTIONS = ("Dataset card", "- Origin:", "- Size:", "- Layout:", "- Licence:", "What this ingestor writes",
                 "Failure policy")
ARTIFACT_KINDS = ("events", "sessions", "provenance")
DEFAULT_OUTPUT_FLAGS = {"events": "--output", "sessions": "--sessions", "provenance": "--provenance"}




@dataclass(frozen=True)
class Item:
    """One unit of work on one storage root; `facts` carries what listing already learned."""

    item_id: str
    tier: str
    root: Path
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ItemRows:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # one `path[:line]: message (hint)` line each: exit 1
    warnings: list[str] = field(default_factory=list)  # facts worth a line that do not change the exit code


@dataclass(frozen=True)
class IngestContext:
    ws: Workspace
    config: DatasetConfig
    roots: tuple[StorageRoot, ...]  # the online roots, `--root` standing in for the first tier
    settings: Mapping[str, Any]


class Ingestor:
    """Subclass per dataset; the driver constructs it once per run, after the licence check."""

    dataset: ClassVar[str]  # the configs/datasets.toml id and the artifacts' `<ds>`
    command: ClassVar[str]  # `drumgate ingest <command>`
    aliases: ClassVar[tuple[str, ...]] = ()  # other spellings of the command
    config_files: ClassVar[tuple[str, ...]] = ()  # configs/ files the output depends on (hashed, locked)
    options: ClassVar[tuple[Option, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ARTIFACT_KINDS
    output_flags: ClassVar[Mapping[str, str]] = DEFAULT_OUTPUT_FLAGS
    item_unit: ClassVar[str] = "item"
    missing_root: ClassVar[str] = "dataset root not found (offline or not downloaded)"
    root_not_found: ClassVar[str] = "root not found"  # a typed `--root` that is not a folder (exit 2)
    # None: no root online and nothing to carry forward stops the run (exit 2). A message: every root
    # may be unplugged (storage tiers); a run with no session at all stops with it (exit 1) unless
    # --allow-empty, even when no earlier manifest holds rows.
    no_sessions: ClassVar[str | None] = None

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.listing = ItemRows()  # findings and warnings that belong to no item, filled by list_items

    @classmethod
    def targets(cls, ws: Workspace, typed: Mapping[str, str | None], settings: Mapping[str, Any]) -> dict[str, Path]:
        """The files this run writes: the workspace's artifacts, or the typed paths."""
        return output_targets(ws, cls.outputs, typed, cls.dataset)

    @classmethod
    def command_options(cls) -> tuple[Option, ...]:
        """The dataset's own options, then the SHARED_OPTIONS it does not declare itself."""
        own = {option.name for option in cls.options}
        return (*cls.options, *(option for option in SHARED_OPTIONS if option.name not in own))

    def list_items(self) -> Sequence[Item]:
        raise NotImplementedError

    def ingest_item(self, item: Item) -> ItemRows:
        raise NotImplementedError

    @classmethod
    def drive(
        cls, ws: Workspace, options: IngestOptions, config: DatasetConfig, licence: dict[str, str], date: str | None
    ) -> IngestReport | None:
        """None: the shared loop below writes the artifacts. A dataset whose writes it does not cover yet
        (E-GMD: `--shard`, the partitioned layout, workers writing event rows) writes them here, after the
        licence and date policy, through its own list_items/ingest_item, and returns the same report."""
        return None

    def lineage_inputs(self, kind: str) -> Sequence[Path]:
        """Workspace files the `kind` artifact was computed from beyond datasets.toml, the configs and the note."""
        return ()

    def figures(self) -> dict[str, int | float]:
        """The dataset's own counts beside the shared ones in the `--json` summary (none by default)."""
        return {}

    def sections(self) -> dict[str, list[str]]:
        """Named lists of lines the dataset adds to the summary (`name\tline`) and to `--json`, after all items."""
        return {}


def card_problems(doc: str | None) -> list[str]:
    """What a dataset card lacks: each CARD_SECTIONS heading, in order."""
    text = doc or ""
    problems, position = [], 0
    for heading in CARD_SECTIONS:
        found = text.find(heading, position)
        if found < 0:
            problems.append(f"dataset card has no {heading!r} after the previous section")
            continue
        position = found + len(heading)
    return problems


def source_file(root: Path, relative: str) -> dict[str, Any]:
    """A provenance `source_files` entry: root-relative path, sha256 and bytes (None: absent or unreadable)."""
    path = root / relative
    with contextlib.suppress(OSError):  # a file or folder it may not read
        if path.is_file():
            return {"path": relative, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    return {"path": relative, "sha256": None, "bytes": None}


# ---------------------------------------------------------------- the driver (plain values only)


@dataclass(frozen=True)
class IngestOptions:
    root: str | None = None  # a path as typed: relative to the current folder
    outputs: Mapping[str, str | None] = field(default_factory=dict)  # kind -> path as typed, None: default
    date: str | None = None
    allow_empty: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    layout: str = "auto"  # LAYOUT_OPTION: auto, file or parts


def resolve_date(explicit: str | None) -> str | None:
    """The ingest date recorded in provenance: `--date`, else SOURCE_DATE_EPOCH, else none (no wall clock)."""
    if explicit is None and "SOURCE_DATE_EPOCH" not in os.environ:
        return None
    return report_date(explicit).isoformat()


def storage_roots(
    cls: type[Ingestor], ws: Workspace, config: DatasetConfig, root: str | None
) -> tuple[StorageRoot, ...]:
    """The configured roots by tier, a typed `--root` standing in for the first one.

    Only a configured root may be offline: a typed one that is not a folder is a typo (or a file),
    and taking it for an unplugged drive would rewrite every session as `tier_offline`."""
    if root is None:
        return config.roots
    typed = ws.user_path(root)
    if not typed.is_dir():
        what = cls.root_not_found if not typed.exists() else f"{cls.root_not_found}: a file, not a folder"
        configured = config.roots[0].path
        raise DrumgateError(what, path=root, hint=f"fix: drumgate ingest {cls.command} to read the configured root "
                                                  f"{shlex.quote(ws.rel(configured))}")
    return (replace(config.roots[0], path=typed), *config.roots[1:])


def check_before_writing(ws: Workspace, group: str, targets: Iterable[Path], lock: bool = True) -> None:
    """What would stop a run after its first write, found before it: the group's lock unreadable (its
    entries are written last, after the manifests) or a folder that cannot take the manifests, their
    parts or the lock. A full disk can still show only while writing."""
    lineage.read_lock(ws, group, drop_outside=True)
    paths = [path for target in targets for path in (target, parts.folder_of(target))]
    require_writable([*paths, ws.lock_file(group)] if lock else paths)


def output_targets(
    ws: Workspace, kinds: Iterable[str], typed: Mapping[str, str | None], dataset: str
) -> dict[str, Path]:
    defaults = {"events": ws.events_manifest, "sessions": ws.sessions_manifest, "provenance": ws.provenance}
    return {kind: ws.user_path(typed[kind]) if typed.get(kind) else defaults[kind](dataset) for kind in kinds}


def regenerate_argv(
    cls: type[Ingestor], ws: Workspace, options: IngestOptions, targets: Mapping[str, Path]
) -> list[str]:
    argv = ["ingest", cls.command]
    if options.root:
        argv += ["--root", ws.rel(ws.user_path(options.root))]
    for kind, path in targets.items():
        if options.outputs.get(kind):
            argv += [cls.output_flags[kind], ws.rel(path)]
    shared = {option.name: getattr(options, option.name) for option in SHARED_OPTIONS}
    for option in cls.command_options():
        value = options.settings.get(option.name, option.default) if option in cls.options else shared[option.name]
        if not option.recorded or value == option.default:
            continue
        argv += [option.flag] if option.parse is None else [option.flag, str(value)]
    if options.date:
        argv += ["--date", options.date]
    if options.allow_empty:
        argv.append("--allow-empty")
    return argv


def carried_forward(
    ws: Workspace, dataset: str, root: StorageRoot, targets: Mapping[str, Path]
) -> tuple[ItemRows, str]:
    """An offline tier's rows from the committed artifacts, marked `tier_offline`: never dropped."""
    sessions_path = targets.get("sessions", ws.sessions_manifest(dataset))
    if not parts.resolve(sessions_path).exists():
        return ItemRows(), root.offline_note("no committed sessions manifest to carry its sessions forward from", 0)
    rows = ItemRows()
    marker = f"tier {root.tier} offline: carried forward from {ws.rel(sessions_path)}"
    for _, row in iter_jsonl(sessions_path):
        if row.get("tier") != root.tier:
            continue
        files = [{**entry, "status": "tier_offline"} for entry in row.get("files", [])]
        kept = [w for w in row.get("warnings", []) if not str(w).startswith(f"tier {root.tier} offline")]
        rows.sessions.append({**row, "status": "tier_offline", "files": files, "warnings": [*kept, marker]})
    offline = {row["session_id"] for row in rows.sessions}
    for kind in ("events", "provenance"):
        path = targets.get(kind)
        if path is not None and parts.resolve(path).exists() and offline:
            getattr(rows, kind).extend(row for _, row in iter_jsonl(path) if row.get("session_id") in offline)
    carried = len(rows.sessions)
    return rows, root.offline_note(f"{carried} sessions carried forward from {ws.rel(sessions_path)}", carried)


def _write_rows(handles: Mapping[str, IO[bytes]], rows: ItemRows, common: Mapping[str, Any]) -> None:
    for kind, handle in handles.items():
        for row in getattr(rows, kind):
            out = {**row, **common} if kind == "provenance" else row
            handle.write(dumps_row(out) + b"\n")


def ingest(cls: type[Ingestor], ws: Workspace, options: IngestOptions) -> IngestReport:
    """Run one dataset's ingestor end to end; every ingestor gets the same dates, targets, policy and writes."""
    config = load_datasets(ws).get(cls.dataset)
    date = resolve_date(options.date)
    rerun = f"drumgate ingest {cls.command}"
    licence = licence_for_ingest(ws.path(config.licence_note), config.licence_note, rerun)
    report = cls.drive(ws, options, config, licence, date)
    if report is not None:
        return report
    with grouplock.holding(ws, config.group):  # held from before the inputs are read until the lock entries
        return _ingest_holding_lock(cls, ws, options, config, licence, date)


def _ingest_holding_lock(
    cls: type[Ingestor], ws: Workspace, options: IngestOptions, config: DatasetConfig, licence: dict[str, str],
    date: str | None,
) -> IngestReport:
    roots = storage_roots(cls, ws, config, options.root)
    settings = {option.name: options.settings.get(option.name, option.default) for option in cls.options}
    targets = cls.targets(ws, options.outputs, settings)
    check_before_writing(ws, config.group, targets.values())
    committed = output_targets(ws, cls.outputs, {}, cls.dataset)  # what offline tiers are carried forward from
    report = IngestReport(cls.dataset)
    carried: list[ItemRows] = []
    offline: list[StorageRoot] = []
    unmounted = [] if options.allow_empty else unmounted_roots(roots)  # --allow-empty: emptiness is meant
    for root in roots:
        if not root.online or root in unmounted:
            rows, note = carried_forward(ws, cls.dataset, root, committed)
            if root.online and not rows.sessions:
                continue  # an empty tier that held nothing committed: read as it is
            carried.append(rows)
            report.notes.append(note)
            offline.append(root)
    online = tuple(root for root in roots if root not in offline)
    if not online and not any(rows.sessions for rows in carried) and cls.no_sessions is None:
        env = roots[0].env
        raise DrumgateError(cls.missing_root, path=roots[0].path,
                            hint="pass --root DIR" + (f" or set {env}" if env else ""))
    ingestor = cls(IngestContext(ws, config, online, settings))
    common: dict[str, Any] = {
        "dataset": cls.dataset, "ingest_commit": ingest_commit(), "tool_version": __version__,
        "config_hashes": config_hashes(ws, cls.config_files, config.group), "licence": licence,
        **({"ingest_date": date} if date else {}),
    }
    items = ingestor.list_items()
    report.items = len(items)
    report.add(ingestor.listing)
    provenance_seen: list[dict[str, Any]] = []

    def all_rows() -> Iterator[tuple[ItemRows, Mapping[str, Any]]]:
        """Each item's rows (provenance completed by `common`), then the carried tiers' rows as they were."""
        for item in progress(items, cls.dataset, cls.item_unit):
            rows = ingestor.ingest_item(item)
            yield rows, common
            report.add(rows)
            provenance_seen.extend(rows.provenance)
        for rows in carried:
            yield rows, {}
            report.add(rows)

    sessions = len(items) + sum(len(rows.sessions) for rows in carried)
    written_parts = contract_parts.partitioned(options.layout, config.options, sessions, targets.values())
    if written_parts:
        written = _write_parts(cls, ws, options, config, report, targets, all_rows())
    else:
        with atomic_writers(targets) as handles:
            for rows, extra in all_rows():
                _write_rows(handles, rows, extra)
            _refuse_empty(cls, ws, options, config, report, targets)
        contract_parts.drop_folders(targets.values())
        written = dict(targets)
    contract_parts.forget_other_form(ws, config.group, targets.values(), written_parts)
    report.sections = ingestor.sections()
    report.figures = ingestor.figures()
    argv = regenerate_argv(cls, ws, options, targets)
    configs = [ws.configs / name for name in dict.fromkeys(("datasets.toml", *cls.config_files))]
    inputs = [*configs, ws.path(config.licence_note)]
    external = lineage.external_fingerprint(provenance_seen, [root.tier for root in offline])
    for kind, path in written.items():
        lineage.record(ws, config.group, path, argv, inputs=[*inputs, *ingestor.lineage_inputs(kind)],
                       external_inputs=external)
    report.written = [ws.rel(path) for path in written.values()]
    return report


def _write_parts(
    cls: type[Ingestor], ws: Workspace, options: IngestOptions, config: DatasetConfig, report: IngestReport,
    targets: Mapping[str, Path], all_rows: Iterable[tuple[ItemRows, Mapping[str, Any]]],
) -> dict[str, Path]:
    """The targets as folders of per-session parts; kind -> the index.json the lock records."""
    grouped = contract_parts.SessionParts(targets)
    for rows, extra in all_rows:
        for kind in targets:
            found = getattr(rows, kind)
            grouped.add(kind, [{**row, **extra} for row in found] if kind == "provenance" else found)
    # the single file a folder replaces holds rows as much as an index: neither is emptied without --allow-empty
    _refuse_empty(cls, ws, options, config, report, targets)
    indexes = {kind: contract_parts.index_of(path) for kind, path in targets.items()}
    _refuse_empty(cls, ws, options, config, report, indexes)
    return grouped.write(targets, cls.dataset)


def _refuse_empty(
    cls: type[Ingestor], ws: Workspace, options: IngestOptions, config: DatasetConfig, report: IngestReport,
    targets: Mapping[str, Path],
) -> None:
    """Before the writers commit: never empty a manifest holding rows; for tiered datasets, never write nothing."""
    counts = {path: {"events": report.events, "sessions": report.sessions, "provenance": report.provenance}[kind]
              for kind, path in targets.items()}
    why = f"{report.items} items found, {report.events} events, {len(report.findings)} findings"
    refuse_emptying(counts, options.allow_empty, ws.rel, why)
    if cls.no_sessions is not None and not report.sessions and not options.allow_empty:
        raise DrumgateError(cls.no_sessions, path=ws.rel(config.roots[0].path),
                            hint="mount or fill the roots, or pass --allow-empty", exit_code=EXIT_FINDINGS)
