"""`drumgate health`: one streaming pass over an events manifest -> JSON + HTML health report.

Big plain `.jsonl` files are counted in parallel byte ranges (`DRUMGATE_WORKERS` caps the worker
processes; 1 keeps it serial); a progress bar shows on a terminal (not in CI, nor with
`DRUMGATE_NO_PROGRESS`).

Exit 0 when every gate passes, 1 when one fails (each printed as `name: observed X vs threshold Y`),
2 for unreadable input or malformed rows (each printed as `path:line: what is wrong`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from drumgate.io.fsutil import atomic_write_text
from drumgate.io.jsonio import dumps_document, iter_jsonl, write_json
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import report_date
from drumgate.reports.gates import failing_gates
from drumgate.reports.health import compute_health
from drumgate.reports.health_scan import count_events_file
from drumgate.reports.health_sessions import read_source_hashes
from drumgate.reports.report_io import (
    ErrorCollector,
    artifact_group,
    infer_dataset,
    parse_requirement,
    record_lineage,
    report_row_errors,
    session_rows,
    sibling_sessions,
)
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
        " (default: ../provenance/<ds>_provenance.jsonl from --events, when it exists)",
    )
    parser.add_argument("--dataset", default=None, help="dataset id (default: from the file name <ds>_events.jsonl)")
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON report (default reports/health/<ds>_<date>.json)"
    )
    parser.add_argument("--html-output", type=Path, default=None, help="HTML page (default: the JSON path with .html)")
    parser.add_argument(
        "--require-class", action="append", default=[], metavar="C[=N]", help="extra gate: at least N (1) events of C"
    )
    parser.add_argument(
        "--require-technique", action="append", default=[], metavar="T[=N]", help="extra gate: at least N (1) of T"
    )
    parser.add_argument("--vocabulary", default=None, help="also count in a named vocabulary (e.g. adtof5)")
    parser.add_argument("--date", default=None, help="report date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a summary")


def _requirements(values: Sequence[str], flag: str) -> dict[str, int]:
    return dict(parse_requirement(value, flag) for value in values)


def _regenerate_argv(ws: Workspace, args: argparse.Namespace, plan: dict[str, Any]) -> list[str]:
    argv = ["health", "--events", ws.rel(args.events), "--dataset", plan["dataset"]]
    if plan["sessions"] is not None:
        argv += ["--sessions", ws.rel(plan["sessions"])]
    if plan["provenance"] is not None:
        argv += ["--provenance", ws.rel(plan["provenance"])]
    argv += ["--output", ws.rel(plan["output"]), "--html-output", ws.rel(plan["html"]), "--date", plan["date"]]
    for value in args.require_class:
        argv += ["--require-class", value]
    for value in args.require_technique:
        argv += ["--require-technique", value]
    if args.vocabulary:
        argv += ["--vocabulary", args.vocabulary]
    return argv


def _plan(ws: Workspace, args: argparse.Namespace) -> dict[str, Any]:
    events = ws.user_path(args.events)
    dataset = infer_dataset(events, args.dataset)
    sessions = ws.user_path(args.sessions) if args.sessions else sibling_sessions(events, dataset)
    date = report_date(args.date)
    output = ws.user_path(args.output) if args.output else ws.health_report(dataset, date.strftime("%Y%m%d"))
    html = ws.user_path(args.html_output) if args.html_output else output.with_suffix(".html")
    return {
        "events": events,
        "dataset": dataset,
        "sessions": sessions,
        "provenance": ws.user_path(args.provenance) if args.provenance else sibling_provenance(events, dataset),
        "date": date.isoformat(),
        "output": output,
        "html": html,
    }


def sibling_provenance(events: Path, dataset: str) -> Path | None:
    """`data/provenance/<ds>_provenance.jsonl` beside `data/manifests/<events>`, when it exists."""
    candidate = events.parent.parent / "provenance" / f"{dataset}_provenance.jsonl"
    folder = candidate.with_suffix("")  # the partitioned form (drumgate.io.parts)
    return candidate if candidate.is_file() else folder if (folder / "index.json").is_file() else None


def _source_hashes(ws: Workspace, provenance: Path | None, sink: ErrorCollector | None) -> dict[str, set[str]] | None:
    if provenance is None:
        return None
    return read_source_hashes(iter_jsonl(provenance, on_error=sink), ws.rel(provenance))


def _summary(report: dict[str, Any], plan: dict[str, Any], ws: Workspace) -> str:
    totals = report["totals"]
    passed = sum(1 for gate in report["gates"] if gate["status"] == "pass")
    return (
        f"{report['dataset']}: {totals['events']} events, {totals['sessions']} sessions, "
        f"{totals['hours']} h, {totals['unknown_label_events']} unknown-label events; "
        f"gates {passed}/{len(report['gates'])} pass -> {report['status'].upper()}\n"
        f"wrote {ws.rel(plan['output'])} and {ws.rel(plan['html'])}"
    )


def run(args: argparse.Namespace) -> int:
    from drumgate.render.html_report import render_health_html

    ws = cli.workspace_from(args)
    plan = _plan(ws, args)
    grouplock.hold(ws, [artifact_group(ws, plan["dataset"])])
    events_errors = ErrorCollector(plan["events"])
    sessions_errors = ErrorCollector(plan["sessions"]) if plan["sessions"] else None
    provenance_errors = ErrorCollector(plan["provenance"]) if plan["provenance"] else None
    source_hashes = _source_hashes(ws, plan["provenance"], provenance_errors)
    report = compute_health(
        ws,
        plan["dataset"],
        count_events_file(plan["events"], on_error=events_errors),
        session_rows(plan["sessions"], sessions_errors),
        vocabulary=args.vocabulary,
        extra_class_gates=_requirements(args.require_class, "--require-class"),
        extra_technique_gates=_requirements(args.require_technique, "--require-technique"),
        source={"events": ws.rel(plan["events"]), "sessions": ws.rel(plan["sessions"]) if plan["sessions"] else None},
        on_error=events_errors,
        source_hashes=source_hashes,
    )
    if report_row_errors("health", events_errors, sessions_errors, provenance_errors):
        return EXIT_USAGE
    write_json(plan["output"], report)
    atomic_write_text(plan["html"], render_health_html(report, date=plan["date"]))
    argv = _regenerate_argv(ws, args, plan)
    inputs = [plan["events"], *(plan[name] for name in ("sessions", "provenance") if plan[name])]
    for artifact in (plan["output"], plan["html"]):
        record_lineage(ws, plan["dataset"], artifact, argv, inputs)
    if args.json:
        sys.stdout.write(dumps_document(report).decode("utf-8"))
    else:
        print(_summary(report, plan, ws))
    failures = failing_gates(report)
    for line in failures:
        print(line, file=sys.stderr)
    return EXIT_FINDINGS if failures else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.health")


if __name__ == "__main__":
    raise SystemExit(main())
