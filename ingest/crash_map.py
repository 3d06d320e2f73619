"""`drumgate crash-map`: apply `configs/crash_dual_label.json` to event manifests.

A crash-family event (its label is in the taxonomy's crash family, or it carries a `variant`)
gets `label` = the variant's primary class and `labels` = [primary, secondary]; its `variant` is
kept (the label itself when the row had none). A variant the map does not know fails the run
(exit 1) with every unknown variant, the files it occurs in and how often; nothing is written
then. A file is rewritten (atomically, rows in their order) only when a row changes; `--check`
only reports. Malformed rows are reported as `path:line:` (exit 2) and their file is left as is.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import cli, grouplock, lineage
from drumgate.config import load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, DrumgateError
from drumgate.jsonio import iter_jsonl, write_jsonl
from drumgate.progress import progress
from drumgate.report_io import ErrorCollector, artifact_group, inside
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import COMBINED, Workspace

CRASH_CONFIGS = ("configs/crash_dual_label.json", "configs/technique_taxonomy.json")
EVENTS_NAME = re.compile(r"^(?P<dataset>[a-z][a-z0-9_]*)_events\.jsonl(\.gz)?$")


class UnmappedVariant(Exception):
    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.variant = variant


def crash_variant(row: Mapping[str, Any], taxonomy: Taxonomy) -> str | None:
    """The row's crash variant, or None when it is not a crash-family event."""
    variant = row.get("variant")
    if isinstance(variant, str) and variant:
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


def scan_file(path: Path, taxonomy: Taxonomy) -> FileScan:
    """One pass: how many rows would change, which variants are unmapped, which lines are bad."""
    scan = FileScan(path, errors=ErrorCollector(path))
    for _, row in progress(iter_jsonl(path, on_error=scan.errors), f"crash-map {path.name}", "event"):
        scan.rows += 1
        try:
            mapped = map_row(row, taxonomy)
        except UnmappedVariant as missing:
            scan.unmapped[missing.variant] = scan.unmapped.get(missing.variant, 0) + 1
            continue
        if crash_variant(row, taxonomy) is not None:
            scan.crash_rows += 1
        if mapped is not row:
            scan.changed += 1
    return scan


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
    return found


def dataset_of(path: Path) -> str | None:
    match = EVENTS_NAME.match(path.name)
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
    previous = lineage.read_lock(ws, group)["artifacts"].get(ws.rel(path), {})
    problems = [p for p in lineage.check(ws, group) if p.artifact == ws.rel(path) and "input" in p.message]
    if problems:
        raise DrumgateError(
            f"{problems[0].message}; regenerate it first", path=path, hint=f"run {problems[0].command}"
        )
    inputs = [ws.path(name) for name in previous.get("inputs", {})]
    inputs += [ws.path(name) for name in CRASH_CONFIGS if ws.path(name) not in inputs]
    lineage.record(ws, group, path, argv, inputs=inputs, external_inputs=previous.get("external_inputs"))


def group_of(ws: Workspace, path: Path) -> str | None:
    """The artifact group whose lock records this manifest; None outside the workspace or any group."""
    dataset = dataset_of(path)
    if dataset is None or not inside(ws, path):
        return None
    try:
        return artifact_group(ws, dataset)
    except DrumgateError:
        return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="event manifests (default: every data/manifests/<ds>_events.jsonl[.gz] present)",
    )
    parser.add_argument("--check", action="store_true", help="report what would change; write nothing")
    cli.add_json_option(parser, "each manifest's crash-family and relabelled counts, and every problem")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    taxonomy = load_taxonomy(ws)
    paths = [ws.user_path(p) for p in args.events] if args.events else default_manifests(ws)
    if not paths:
        print("crash-map: no event manifests found under data/manifests/")
        cli.emit_json(args, {"check": args.check, "manifests": [], "problems": [], "unmapped": []})
        return EXIT_OK
    if not args.check:
        grouplock.hold(ws, {group for path in paths if (group := group_of(ws, path))})
    scans = [scan_file(path, taxonomy) for path in paths]
    bad_lines = [line for scan in scans if scan.errors for line in scan.errors.lines()]
    for line in bad_lines:
        print(line, file=sys.stderr)
    unmapped = unmapped_report(scans, ws)
    for line in unmapped:
        print(line, file=sys.stderr)
    for scan in scans:
        verb = "would relabel" if args.check else "relabelled"
        print(f"{ws.rel(scan.path)}: {scan.crash_rows:,} crash-family events, {verb} {scan.changed:,}")
    cli.emit_json(args, {
        "check": args.check, "problems": bad_lines, "unmapped": unmapped,
        "manifests": [{"path": ws.rel(scan.path), "crash_family_events": scan.crash_rows, "relabelled": scan.changed}
                      for scan in scans],
    })
    if bad_lines:
        return EXIT_USAGE
    if unmapped:
        return EXIT_FINDINGS
    if args.check:
        return EXIT_FINDINGS if any(scan.changed for scan in scans) else EXIT_OK
    for scan in scans:
        if scan.changed:
            write_jsonl(scan.path, mapped_rows(scan.path, taxonomy))
            rerecord_lineage(ws, scan.path, ["crash-map", "--events", ws.rel(scan.path)])
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.crash_map")


if __name__ == "__main__":
    raise SystemExit(main())
