"""`drumgate combine`: the command layer of `ingest.combine`, whose docstring is this command's --help."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.reports.combined import UNCHECKED_HELD_OUT, unchecked_held_out_notes
from drumgate.workspace import COMBINED, Workspace
from ingest import combine

__doc__ = combine.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", default=None, help="report date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    parser.add_argument(
        "--weights-scheme",
        default=combine.DEFAULT_WEIGHTS_SCHEME,
        choices=("uniform", "inverse", "sqrt", "effective"),
        help=f"class-rarity scheme of the combined weights (default {combine.DEFAULT_WEIGHTS_SCHEME})",
    )
    cli.add_json_option(parser, "the mix, gates, sources' gates and written files")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    outcome = combine.combine(ws, args.date, args.weights_scheme)
    report = outcome.report
    if report is None or outcome.errors.errors:
        _stderr(outcome.errors.lines())
        if outcome.aborted:
            _stderr([*outcome.unmapped, "combine: nothing written (fix what is listed above)"])
        return outcome.exit_code
    _print_summary(ws, report, outcome.sources, outcome.skipped, outcome.written)
    for path in outcome.retired:
        print(f"removed {ws.rel(path)}: the combined manifest is now {ws.rel(outcome.written[0])}, "
              "a reference to its sources' rows")
    unchecked = report.get(UNCHECKED_HELD_OUT, [])
    cli.emit_json(args, {
        "dataset": COMBINED, "status": report["status"], "gates": report["gates"], "sources": report.get("sources", {}),
        "mix": report["mix"], "left_out": list(outcome.skipped), "written": [ws.rel(p) for p in outcome.written],
        UNCHECKED_HELD_OUT: unchecked,
    })
    # a note, not a finding: nothing is wrong with those sessions, the gate just cannot judge them
    _stderr(unchecked_held_out_notes(COMBINED, unchecked))
    _stderr(outcome.failing)
    return outcome.exit_code


def _stderr(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _print_summary(
    ws: Workspace, report: Mapping[str, Any], sources: Sequence[combine.Source], skipped: Sequence[str],
    paths: Sequence[Path],
) -> None:
    kept = ", ".join(f"{s.dataset} {s.events_kept:,}/{s.events_read:,}" for s in sources)
    passed = sum(1 for gate in report["gates"] if gate["status"] == "pass")
    print(f"{COMBINED}: events kept {kept}; gates {passed}/{len(report['gates'])} pass -> {report['status'].upper()}")
    waived = [f"{name} ({', '.join(found['failing'])})" for name, found in report["sources"].items()
              if found["waived"] and found["failing"]]
    if waived:
        print("source gates waived in [combined] waive_source_gates: " + "; ".join(waived))
    if skipped:
        print("left out: " + ", ".join(skipped))
    print("wrote " + ", ".join(ws.rel(p) for p in paths))
