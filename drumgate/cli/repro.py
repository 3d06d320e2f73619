"""`drumgate repro`: the command layer of `drumgate.commands.repro`, whose docstring is its --help."""

from __future__ import annotations

import argparse

from drumgate import cli
from drumgate.commands import repro

__doc__ = repro.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("groups", nargs="*", metavar="GROUP", help="artifact groups (default: every group)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
    parser.add_argument(
        "--skip-raw",
        action="store_true",
        help="skip the steps that read raw data (ingest, events, checksums): they already ran, e.g. as shards",
    )
    parser.add_argument(
        "--date", default=None, help="date of new reports YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)"
    )
    cli.add_json_option(parser, "the steps (planned or run, with their exit codes) and what is still stale")


def run(args: argparse.Namespace) -> int:
    # the short dataset names other commands take (`musdb`) name the group of the same id
    outcome = repro.repro(cli.workspace_from(args), [cli.dataset_id(name) for name in args.groups], args.date,
                          dry_run=args.dry_run,
                          skip_raw=args.skip_raw, child_stdout=cli.text_stdout_fd())
    cli.emit_json(args, outcome.as_json())
    return outcome.exit_code
