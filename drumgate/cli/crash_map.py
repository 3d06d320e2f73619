"""`drumgate crash-map`: the command layer of `ingest.crash_map`, whose docstring is this command's --help."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drumgate import cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from drumgate.taxonomy import load_taxonomy
from ingest import crash_map

__doc__ = crash_map.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="event manifests or partitioned folders (default: every data/manifests/<ds>_events.jsonl[.gz] "
        "or <ds>_events/ present)",
    )
    parser.add_argument("--check", action="store_true", help="report what would change; write nothing")
    cli.add_json_option(parser, "each manifest's crash-family and relabelled counts, and every problem")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    taxonomy = load_taxonomy(ws)
    paths = crash_map.manifests_to_map(ws, args.events)
    if not paths:
        print("crash-map: no event manifests found under data/manifests/")
        cli.emit_json(args, {"check": args.check, "manifests": [], "problems": [], "unmapped": []})
        return EXIT_OK
    scans = crash_map.scan_manifests(ws, paths, taxonomy, will_write=not args.check)
    bad_lines = crash_map.problem_lines(scans)
    for line in bad_lines:
        print(line, file=sys.stderr)
    unmapped = crash_map.unmapped_report(scans, ws)
    for line in unmapped:
        print(line, file=sys.stderr)
    if bad_lines:  # the counts of a file cut short by a bad row would mislead
        print("crash-map: nothing written (fix the rows above)", file=sys.stderr)
    for scan in scans if not bad_lines else ():
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
    crash_map.apply_crash_map(ws, scans, taxonomy)
    return EXIT_OK
