"""`drumgate weights`: deterministic per-session sampling weights from an events manifest."""

# The command layer of drumgate.reports.weights_files (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from drumgate import cli
from drumgate.cli import retype
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from drumgate.io.jsonio import dumps_document
from drumgate.render.textsafe import log_text
from drumgate.reports.report_io import report_row_errors
from drumgate.reports.weights import DEFAULT_BETA, QUOTAS, SCHEMES
from drumgate.reports.weights_files import (
    DEFAULT_QUOTA,
    DEFAULT_SCHEME,
    GROUP_BY,
    WeightsOutcome,
    WeightsRequest,
    write_weights,
)

TOP_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", required=True, type=Path, help="events manifest (.jsonl or .jsonl.gz)")
    parser.add_argument("--group-by", default=GROUP_BY, choices=[GROUP_BY], help="weight unit")
    parser.add_argument(
        "--scheme",
        default=DEFAULT_SCHEME,
        choices=SCHEMES,
        help="class-rarity scheme (default effective: Cui et al.'s effective number of events, between "
        "uniform and inverse frequency as --beta goes from 0 to 1)",
    )
    parser.add_argument(
        "--beta", type=float, default=DEFAULT_BETA, help=f"effective-number beta (default {DEFAULT_BETA})"
    )
    parser.add_argument("--quota", default=DEFAULT_QUOTA, choices=QUOTAS, help="session quota (default equal)")
    parser.add_argument(
        "--sessions", type=Path, default=None, help="sessions inventory (default: <ds>_sessions.jsonl beside --events)"
    )
    parser.add_argument("--dataset", default=None, help="dataset id (default: from the file name <ds>_events.jsonl)")
    parser.add_argument(
        "--output", type=Path, default=None, help="output (default reports/sampling/<ds>_weights_<date>.json;"
        " required, outside the workspace, when an input is outside it)"
    )
    parser.add_argument("--date", default=None, help="report date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    parser.add_argument("--json", action="store_true", help="print the weights document instead of a summary")


def request_of(args: argparse.Namespace) -> WeightsRequest:
    typed = retype.typed_command(args, "weights", ("--events", "--group-by", "--scheme", "--beta", "--quota",
                                                   "--sessions", "--output", "--date"), switches=("--json",))
    return WeightsRequest(
        command=tuple(typed),
        events=args.events,
        scheme=args.scheme,
        beta=args.beta,
        quota=args.quota,
        group_by=args.group_by,
        sessions=args.sessions,
        dataset=args.dataset,
        output=args.output,
        date=args.date,
    )


def run(args: argparse.Namespace) -> int:
    outcome = write_weights(cli.workspace_from(args), request_of(args))
    document = outcome.document
    if report_row_errors("weights", *outcome.collectors) or document is None:
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(dumps_document(document).decode("utf-8"))
        return _unknown_labels(outcome)
    top = sorted(document["weights"].items(), key=lambda item: (-item[1], item[0]))[:TOP_SHOWN]
    print(
        f"{log_text(outcome.dataset)}: {document['sessions']} train session{'s' if document['sessions'] != 1 else ''}"
        f" weighted ({args.scheme}, quota {args.quota})"
        f" -> {log_text(outcome.output)}"
    )
    for session_id, weight in top:
        print(f"  {weight:.6f}  {log_text(session_id)}")
    mass = ", ".join(f"{log_text(name)} {share:.3f}" for name, share in document["class_mass"].items())
    print(f"class mass: {mass}")
    return _unknown_labels(outcome)


def _unknown_labels(outcome: WeightsOutcome) -> int:
    """One finding per label the taxonomy does not know (its events are not weighted); exit 1 if any."""
    for label, events in sorted(outcome.unknown.items()):
        counted = f"{events} event{'s' if events != 1 else ''}"
        print(f"{log_text(outcome.events)}: {counted} labelled {log_text(repr(label))},"
              " which the taxonomy does not know: not weighted (fix: drumgate repro"
              f" {log_text(outcome.group)}, which makes the events again, or add the label to"
              " configs/technique_taxonomy.json)", file=sys.stderr)
    return EXIT_FINDINGS if outcome.unknown else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.weights")


if __name__ == "__main__":
    raise SystemExit(main())
