"""`drumgate compare A.json B.json`: two datasets' class and technique shares side by side.

For the Cambridge vs MUSDB cymbal/aux sanity check: each class, each top-level family (the
taxonomy root of a class: cymbal, percussion, tom, ...) and each technique is shown as a share of
all events on both sides, and flagged when one side covers it well (share >= `--min-share`) while
the other barely does (share below it). Writes `reports/diffs/compare_<a>_vs_<b>.{json,md}` by
default. Exit 0 (1 with `--strict` when something is flagged), 2 for unreadable reports.
"""

# The command layer of drumgate.reports.compare (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from drumgate import cli
from drumgate.cli import retype
from drumgate.errors import EXIT_FINDINGS, EXIT_OK
from drumgate.reports.compare import DEFAULT_MIN_SHARE, write_compare


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs=2, type=Path, metavar="REPORT", help="two health reports (A.json B.json)")
    parser.add_argument(
        "--markdown-output", type=Path, default=None, help="Markdown file (default reports/diffs/...md)"
    )
    parser.add_argument("--json-output", type=Path, default=None, help="JSON file (default reports/diffs/...json)")
    cli.add_json_option(parser, "the compare document")
    parser.add_argument(
        "--min-share",
        type=float,
        default=DEFAULT_MIN_SHARE,
        help=f"share of all events under which a side 'barely covers' a class (default {DEFAULT_MIN_SHARE})",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a class or technique is flagged")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    outcome = write_compare(
        ws, args.reports, min_share=args.min_share, json_output=args.json_output, markdown_output=args.markdown_output,
        command=retype.typed_command(args, "compare", ("--json-output", "--markdown-output", "--min-share"),
                                     switches=("--strict", "--json"), positional=args.reports),
    )
    result, outputs = outcome.result, [ws.rel(outcome.json_output), ws.rel(outcome.markdown_output)]
    for item in result["flagged"]:
        sparse = result["a" if item["flag"] == "a_sparse" else "b"]["dataset"]
        print(f"{item['table']} {item['name']}: barely covered by {sparse} (< {args.min_share:.2%} of events)")
    print(f"{len(result['flagged'])} flagged; wrote {outputs[0]} and {outputs[1]}")
    cli.emit_json(args, {**result, "outputs": outputs})
    return EXIT_FINDINGS if result["flagged"] and args.strict else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.compare")


if __name__ == "__main__":
    raise SystemExit(main())
