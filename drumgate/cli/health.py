"""`drumgate health`: one streaming pass over an events manifest -> JSON + HTML health report.

A plain or gzip `.jsonl` file is counted by one DuckDB query on `DRUMGATE_WORKERS` threads (default:
the CPUs) when that is exact, else by one exact pass that names every bad line (with a progress bar
on a terminal, not in CI nor with `DRUMGATE_NO_PROGRESS`); a partitioned folder by its index's
aggregates. The events' sha256 for the lineage lock is remembered by the file's stat in the
workspace's private `.drumgate/` folder, so a second run on an unchanged file does not read it again.

Exit 0 when every gate passes, 1 when one fails (each printed as
`configs/datasets.toml:LINE: [table] gate name: observed X vs threshold Y (report: PATH)`),
2 for unreadable input or malformed rows (each printed as `path:line: what is wrong`), or for an
input outside the workspace whose report would go inside it (its fix writes it beside the input).
"""

# The command layer of drumgate.reports.health_files (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate import cli
from drumgate.cli import retype
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from drumgate.io.lines import is_gzip_path
from drumgate.reports import health_duckdb, health_scan
from drumgate.workers import paused_gc

if TYPE_CHECKING:
    from drumgate.reports.health_files import HealthPlan, HealthRequest
    from drumgate.workspace import Workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", required=True, type=Path, help="events manifest (.jsonl or .jsonl.gz)")
    parser.add_argument(
        "--sessions", type=Path, default=None, help="sessions inventory (default: <ds>_sessions.jsonl beside --events)"
    )
    parser.add_argument(
        "--provenance",
        type=Path,
        default=None,
        help="provenance whose source sha256 must not repeat across splits"
        " (default: ../provenance/<ds>_provenance.jsonl[.gz] or its folder from --events, when it exists)",
    )
    parser.add_argument("--dataset", default=None, help="dataset id (default: from the file name <ds>_events.jsonl)")
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON report (default reports/health/<ds>_<date>.json; required,"
        " outside the workspace, when an input is outside it)"
    )
    parser.add_argument("--html-output", type=Path, default=None, help="HTML page (default: the JSON path with .html)")
    parser.add_argument(
        "--require-class", action="append", default=[], metavar="C[=N]",
        help="extra gate: at least N (1) events of C; raises a configured minimum, never lowers it",
    )
    parser.add_argument(
        "--require-technique", action="append", default=[], metavar="T[=N]",
        help="extra gate: at least N (1) of T; raises a configured minimum, never lowers it",
    )
    parser.add_argument("--vocabulary", default=None, help="also count in a named vocabulary (e.g. adtof5)")
    parser.add_argument("--date", default=None, help="report date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a summary")


def request_of(args: argparse.Namespace) -> HealthRequest:
    from drumgate.reports.health_files import HealthRequest

    return HealthRequest(
        events=args.events,
        sessions=args.sessions,
        provenance=args.provenance,
        dataset=args.dataset,
        output=args.output,
        html_output=args.html_output,
        require_class=tuple(args.require_class),
        require_technique=tuple(args.require_technique),
        vocabulary=args.vocabulary,
        date=args.date,
        command=typed_command(args),
    )


def typed_command(args: argparse.Namespace) -> list[str]:
    """The command as the user typed it (each option in --help order), but for --dataset, which a fix adds."""
    options = ("--events", "--sessions", "--provenance", "--output", "--html-output", "--vocabulary", "--date")
    return retype.typed_command(args, "health", options, repeated=("--require-class", "--require-technique"),
                                switches=("--json",))


def _summary(report: dict[str, Any], plan: HealthPlan, ws: Workspace) -> str:
    totals = report["totals"]
    passed = sum(1 for gate in report["gates"] if gate["status"] == "pass")
    missing = (f"\nnote: no {plan.dataset}_sessions.jsonl beside the events, so hours and missing audio read as 0"
               " (pass --sessions FILE)" if plan.sessions is None else "")
    return (
        f"{report['dataset']}: {totals['events']} events, {totals['sessions']} sessions, "
        f"{totals['hours']} h, {totals['unknown_label_events']} unknown-label events; "
        f"gates {passed}/{len(report['gates'])} pass -> {report['status'].upper()}\n"
        f"wrote {ws.rel(plan.output)} and {ws.rel(plan.html)}{missing}"
    )


def run(args: argparse.Namespace) -> int:
    # DuckDB counts a plain file while the command imports, reads its configs and takes the lock (not a
    # gzip one: its check inflates the whole stream first, which a command stopping early would wait for)
    plain = health_scan.input_kind(args.events) == "file" and not is_gzip_path(args.events)
    early = health_duckdb.EarlyCount(args.events) if plain else None
    # No cyclic collection: what the command keeps grows with the distinct keys, not the rows, and the
    # collections its imports and configs would set off took 15 ms of CPU from the count
    with paused_gc():
        try:
            return _report(args, early)
        finally:
            if early is not None:
                early.stop()


def _report(args: argparse.Namespace, early: health_duckdb.EarlyCount | None) -> int:
    from drumgate.io.jsonio import dumps_document
    from drumgate.reports.gates import load_health_config, located_failing_gates
    from drumgate.reports.health_files import write_health
    from drumgate.reports.report_io import report_row_errors

    ws = cli.workspace_from(args)
    outcome = write_health(ws, request_of(args), early)
    if report_row_errors("health", *outcome.collectors) or outcome.report is None:
        return EXIT_USAGE
    report = outcome.report
    if args.json:
        sys.stdout.write(dumps_document(report).decode("utf-8"))
    else:
        print(_summary(report, outcome.plan, ws))
    config = ws.configs / "datasets.toml"
    failures = (located_failing_gates(report, load_health_config(ws, report["dataset"]), config, ws.rel(config),
                                      ws.rel(outcome.plan.output)) if report["status"] == "fail" else [])
    for line in failures:
        print(line, file=sys.stderr)
    return EXIT_FINDINGS if failures else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.health")


if __name__ == "__main__":
    raise SystemExit(main())
