"""`drumgate diff BASE.json HEAD.json`: what changed between two health (or weights) reports.

Writes the diff as JSON (summary + full deepdiff) and as Markdown for a reviewer, by default to
`reports/diffs/<ds>_<base>_to_<head>.{json,md}`. `--baseline auto HEAD.json` diffs against the
newest earlier dated report of the same dataset. Exit 0 when written (1 with
`--fail-on-regression` when a gate flipped from pass to fail), 2 for unreadable or incompatible
reports.
"""

# The command layer of drumgate.reports.diff_files (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from drumgate import cli
from drumgate.cli import retype
from drumgate.errors import EXIT_FINDINGS, EXIT_OK
from drumgate.reports.diff_files import regressions, resolve_pair, write_diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="BASE.json HEAD.json, or HEAD.json")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="auto|FILE",
        help="`auto`: the newest earlier dated report of HEAD's dataset; or a base report file",
    )
    parser.add_argument(
        "--markdown-output", type=Path, default=None, help="Markdown file (default reports/diffs/...md)"
    )
    parser.add_argument("--json-output", type=Path, default=None, help="JSON file (default reports/diffs/...json)")
    cli.add_json_option(parser, "the diff document")
    parser.add_argument("--title", default=None, help="Markdown heading (default: '<ds> <kind>: <base> → <head>')")
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when a gate flipped from pass to fail"
    )


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    base, head = resolve_pair(ws, args.reports, args.baseline)
    outcome = write_diff(
        ws, base, head, json_output=args.json_output, markdown_output=args.markdown_output, title=args.title,
        command=retype.typed_command(args, "diff", ("--baseline", "--json-output", "--markdown-output", "--title"),
                                     switches=("--fail-on-regression", "--json"), positional=args.reports),
    )
    diff, outputs = outcome.diff, [ws.rel(outcome.json_output), ws.rel(outcome.markdown_output)]
    print(f"{outcome.title}: {diff['changes']} change(s); wrote {outputs[0]} and {outputs[1]}")
    failures = regressions(diff)
    for line in failures:
        print(line, file=sys.stderr)
    cli.emit_json(args, {**diff, "outputs": outputs, "regressions": failures})
    return EXIT_FINDINGS if failures and args.fail_on_regression else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.diff")


if __name__ == "__main__":
    raise SystemExit(main())
