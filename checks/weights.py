"""`drumgate weights`: deterministic per-session sampling weights from an events manifest."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from drumgate import cli
from drumgate.errors import EXIT_OK, EXIT_USAGE
from drumgate.io.jsonio import dumps_document, iter_jsonl, write_json
from drumgate.lineage import grouplock
from drumgate.lineage.provenance import report_date
from drumgate.progress import progress
from drumgate.render.textsafe import log_text
from drumgate.reports.report_io import (
    ErrorCollector,
    artifact_group,
    infer_dataset,
    record_lineage,
    report_row_errors,
    session_rows,
    sibling_sessions,
)
from drumgate.reports.weights import DEFAULT_BETA, QUOTAS, SCHEMES, compute_weights

TOP_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", required=True, type=Path, help="events manifest (.jsonl or .jsonl.gz)")
    parser.add_argument("--group-by", default="session_id", choices=["session_id"], help="weight unit")
    parser.add_argument(
        "--scheme",
        default="effective",
        choices=SCHEMES,
        help="class-rarity scheme (default effective: Cui et al.'s effective number of events, between "
        "uniform and inverse frequency as --beta goes from 0 to 1)",
    )
    parser.add_argument(
        "--beta", type=float, default=DEFAULT_BETA, help=f"effective-number beta (default {DEFAULT_BETA})"
    )
    parser.add_argument("--quota", default="equal", choices=QUOTAS, help="session quota (default equal)")
    parser.add_argument(
        "--sessions", type=Path, default=None, help="sessions inventory (default: <ds>_sessions.jsonl beside --events)"
    )
    parser.add_argument("--dataset", default=None, help="dataset id (default: from the file name <ds>_events.jsonl)")
    parser.add_argument(
        "--output", type=Path, default=None, help="output (default reports/sampling/<ds>_weights_<date>.json)"
    )
    parser.add_argument("--date", default=None, help="report date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    parser.add_argument("--json", action="store_true", help="print the weights document instead of a summary")


def _argv(args: argparse.Namespace, rel: dict[str, str | None], dataset: str, date: str) -> list[str]:
    argv = ["weights", "--events", str(rel["events"]), "--group-by", args.group_by, "--scheme", args.scheme]
    if args.scheme == "effective":
        argv += ["--beta", repr(args.beta)]
    argv += ["--quota", args.quota, "--dataset", dataset]
    if rel["sessions"]:
        argv += ["--sessions", rel["sessions"]]
    return [*argv, "--output", str(rel["output"]), "--date", date]


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    events = ws.user_path(args.events)
    dataset = infer_dataset(events, args.dataset)
    grouplock.hold(ws, [artifact_group(ws, dataset)])
    sessions = ws.user_path(args.sessions) if args.sessions else sibling_sessions(events, dataset)
    date = report_date(args.date)
    output = ws.user_path(args.output) if args.output else ws.weights_report(dataset, date.strftime("%Y%m%d"))
    rel = {"events": ws.rel(events), "sessions": ws.rel(sessions) if sessions else None, "output": ws.rel(output)}
    errors = ErrorCollector(events)
    session_errors = ErrorCollector(sessions) if sessions else None
    document = compute_weights(
        ws,
        dataset,
        progress(iter_jsonl(events, on_error=errors), f"weights {dataset}", "event"),
        session_rows(sessions, session_errors),
        scheme=args.scheme,
        beta=args.beta,
        quota=args.quota,
        source={"events": rel["events"], "sessions": rel["sessions"]},
        on_error=errors,
    )
    if report_row_errors("weights", errors, session_errors):
        return EXIT_USAGE
    write_json(output, document)
    record_lineage(
        ws, dataset, output, _argv(args, rel, dataset, date.isoformat()), [events, *([sessions] if sessions else [])]
    )
    if args.json:
        sys.stdout.write(dumps_document(document).decode("utf-8"))
        return EXIT_OK
    top = sorted(document["weights"].items(), key=lambda item: (-item[1], item[0]))[:TOP_SHOWN]
    print(
        f"{log_text(dataset)}: {document['sessions']} sessions weighted ({args.scheme}, quota {args.quota})"
        f" -> {log_text(rel['output'])}"
    )
    for session_id, weight in top:
        print(f"  {weight:.6f}  {log_text(session_id)}")
    mass = ", ".join(f"{log_text(name)} {share:.3f}" for name, share in document["class_mass"].items())
    print(f"class mass: {mass}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m checks.weights")


if __name__ == "__main__":
    raise SystemExit(main())
