"""`drumgate crash-map`: apply `configs/crash_dual_label.json` to event manifests.

A crash-family event (its label is in the taxonomy's crash family, or it carries a `variant`)
gets `label` = the variant's primary class and `labels` = [primary, secondary]; its `variant` is
kept (the label itself when the row had none). A variant the map does not know fails the run
(exit 1) with every unknown variant, the files it occurs in and how often; nothing is written
then. A file is rewritten (atomically, rows in their order) only when a row changes; `--check`
only reports. A partitioned manifest folder (`drumgate/io/parts/`) is mapped part by part: only the
parts whose rows change are rewritten, through the parts writer, which rewrites the index with them.
Malformed rows are reported as `path:line:` (exit 2) and their file is left as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.config import load_datasets
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.jsonio import iter_jsonl, write_jsonl
from drumgate.lineage import grouplock
from drumgate.progress import progress
from drumgate.reports.report_io import ErrorCollector, artifact_group, inside
from drumgate.taxonomy import Taxonomy
from drumgate.workspace import COMBINED, Workspace

CRASH_CONFIGS = ("configs/crash_dual_label.json", "configs/technique_taxonomy.json")
EVENTS_NAME = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*)_events\.jsonl(\.gz)?$")


class NotAVariant(ValueError):
    """A `variant` that is not a string: the schema refuses it, and the crash map would overwrite it."""


class UnmappedVariant(Exception):
    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.variant = variant


def crash_variant(row: Mapping[str, Any], taxonomy: Taxonomy) -> str | None:
    """The row's crash variant, or None when it is not a crash-family event; NotAVariant when the row
    holds a `variant` that is not a string (its label would otherwise be written over it)."""
    variant = row.get("variant")
    if "variant" in row and not isinstance(variant, str):
        raise NotAVariant(f"variant {variant!r} is not a string")
    if variant:
        return variant
    label = row.get("label")
    if not isinstance(label, str):
        return None
    resolved = taxonomy.resolve_class(label)
    if resolved is None or not taxonomy.is_crash_family(resolved):
        return None
    return label


def map_row(row: dict[str, Any], taxonomy: Taxonomy) -> dict[str, Any]:
    """The row with its crash dual label applied (the same object when nothing changes)."""
    variant = crash_variant(row, taxonomy)
    if variant is None:
        return row
    mapped = taxonomy.crash_labels(variant)
    if mapped is None:
        raise UnmappedVariant(variant)
    labels = [mapped.primary, mapped.secondary]
    if row.get("label") == mapped.primary and row.get("labels") == labels and row.get("variant") == variant:
        return row
    return {**row, "label": mapped.primary, "labels": labels, "variant": variant}


@dataclass
class FileScan:
    path: Path
    rows: int = 0
    crash_rows: int = 0
    changed: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    errors: ErrorCollector | None = None
    changed_parts: set[str] = field(default_factory=set)

    def count(self, row: dict[str, Any], taxonomy: Taxonomy, where: tuple[Path, int], weight: int = 1) -> bool:
        """Count one row (`weight` times: the renders that play it), read at `where` (file, line); True
        when the crash map changes it. A row whose variant is unmapped still counts as crash-family."""
        self.rows += weight
        try:
            is_crash = crash_variant(row, taxonomy) is not None
        except NotAVariant as bad:
            if self.errors is not None:
                self.errors(DrumgateError(str(bad), path=where[0], line=where[1]))
            return False
        self.crash_rows += weight if is_crash else 0
        try:
            mapped = map_row(row, taxonomy)
        except UnmappedVariant as missing:
            self.unmapped[missing.variant] = self.unmapped.get(missing.variant, 0) + weight
            return False
        if mapped is not row:
            self.changed += weight
            return True
        return False


def scan_file(path: Path, taxonomy: Taxonomy, ws: Workspace | None = None) -> FileScan:
    """One pass: how many rows would change, which variants are unmapped, which lines are bad."""
    scan = FileScan(path, errors=ErrorCollector(path, ws))
    if path.is_dir():
        return scan_folder(scan, taxonomy)
    for line, row in progress(iter_jsonl(path, on_error=scan.errors), f"crash-map {path.name}", "event"):
        scan.count(row, taxonomy, (path, line))
    return scan


def scan_folder(scan: FileScan, taxonomy: Taxonomy) -> FileScan:
    """The folder's stored rows, each counted once per render that plays it (the single file's counts)."""
    for entry, rows, renders in progress(parts.stored_parts(scan.path, scan.errors), f"crash-map {scan.path.name}",
                                         "part"):
        part = scan.path / entry["file"]
        for line, (row, weight) in enumerate(parts.weighted_rows(rows, renders), start=1):
            if scan.count(row, taxonomy, (part, line), weight):
                scan.changed_parts.add(entry["file"])
    return scan


def write_mapped_folder(folder: Path, taxonomy: Taxonomy, changed_parts: set[str]) -> parts.WriteResult:
    """Rewrite the parts whose rows change (the others keep their bytes) and the index with them."""
    index = parts.read_index(folder)
    writer = parts.PartsWriter(folder, index["manifest"], index["dataset"], index["key"])
    for entry, rows, renders in parts.stored_parts(folder):
        if entry["file"] in changed_parts:
            rows = [map_row(row, taxonomy) for row in rows]
        writer.add(parts.PartInput(entry["key"], rows, renders))
    return writer.close()


def mapped_rows(path: Path, taxonomy: Taxonomy) -> Iterator[dict[str, Any]]:
    for _, row in iter_jsonl(path):
        yield map_row(row, taxonomy)


def default_manifests(ws: Workspace) -> list[Path]:
    names = [*load_datasets(ws).datasets, COMBINED]
    found = []
    for name in names:
        plain = ws.events_manifest(name)
        for candidate in (plain, plain.with_name(plain.name + ".gz")):
            if candidate.is_file():
                found.append(candidate)
        if parts.is_partitioned(plain):
            found.append(parts.folder_of(plain))
    return found


def dataset_of(path: Path) -> str | None:
    match = EVENTS_NAME.match(path.name) or (EVENTS_NAME.match(f"{path.name}.jsonl") if path.is_dir() else None)
    return match.group("dataset") if match else None


def unmapped_report(scans: Sequence[FileScan], ws: Workspace) -> list[str]:
    by_variant: dict[str, list[tuple[str, int]]] = {}
    for scan in scans:
        for variant, count in scan.unmapped.items():
            by_variant.setdefault(variant, []).append((ws.rel(scan.path), count))
    lines = []
    for variant, places in sorted(by_variant.items()):
        where = ", ".join(f"{path} ({count:,})" for path, count in sorted(places))
        lines.append(
            f"configs/crash_dual_label.json: crash variant {variant!r} is not mapped: {where} "
            "(add it under variants with its primary and secondary labels)"
        )
    return lines


def rerecord_lineage(ws: Workspace, path: Path, argv: list[str]) -> None:
    """Keep the manifest's recorded inputs (refusing stale ones) and add the crash-map configs."""
    group = group_of(ws, path)
    if group is None:
        return
    artifact = parts.lock_path(path)
    previous = lineage.read_lock(ws, group)["artifacts"].get(ws.rel(artifact), {})
    problems = [p for p in lineage.check(ws, group) if p.artifact == ws.rel(artifact) and "input" in p.message]
    if problems:
        raise DrumgateError(
            f"{problems[0].message}; regenerate it first", path=path, hint=f"run {problems[0].command}"
        )
    inputs = [ws.path(name) for name in previous.get("inputs", {})]
    inputs += [ws.path(name) for name in CRASH_CONFIGS if ws.path(name) not in inputs]
    lineage.record(ws, group, artifact, argv, inputs=inputs, external_inputs=previous.get("external_inputs"))


def group_of(ws: Workspace, path: Path) -> str | None:
    """The artifact group whose lock records this manifest; None outside the workspace or any group."""
    dataset = dataset_of(path)
    if dataset is None or not inside(ws, path):
        return None
    try:
        return artifact_group(ws, dataset)
    except DrumgateError:
        return None


def manifests_to_map(ws: Workspace, typed: Sequence[Path] | None) -> list[Path]:
    """The typed manifests (relative to the current folder; a partitioned one by either name), else all present."""
    return [parts.resolve(ws.user_path(p)) for p in typed] if typed else default_manifests(ws)


def scan_manifests(ws: Workspace, paths: Sequence[Path], taxonomy: Taxonomy, will_write: bool) -> list[FileScan]:
    """Every manifest scanned; a run that will write holds their artifact groups' locks from here on."""
    if will_write:
        grouplock.hold(ws, {group for path in paths if (group := group_of(ws, path))})
    return [scan_file(path, taxonomy, ws) for path in paths]


def problem_lines(scans: Sequence[FileScan]) -> list[str]:
    """One `path:line:` line per malformed row of every scanned manifest."""
    return [line for scan in scans if scan.errors for line in scan.errors.lines()]


def apply_crash_map(ws: Workspace, scans: Sequence[FileScan], taxonomy: Taxonomy) -> None:
    """Rewrite each manifest a row of which changes (a folder: only its changed parts) and re-record its lineage."""
    for scan in scans:
        if scan.changed_parts:
            write_mapped_folder(scan.path, taxonomy, scan.changed_parts)
            rerecord_lineage(ws, scan.path, ["crash-map", "--events", ws.rel(scan.path)])
        elif scan.changed:
            write_jsonl(scan.path, mapped_rows(scan.path, taxonomy))
            rerecord_lineage(ws, scan.path, ["crash-map", "--events", ws.rel(scan.path)])
