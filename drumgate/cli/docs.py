"""`drumgate docs`: the dated health summary and the readiness plan's status block, from the reports.

Reads the newest health report of every dataset (and of `prod_combined`) under reports/health/,
the diff whose head is that report, the newest weights and the dataset comparisons, then writes
`reports/health/<YYYY-MM-DD>-health-summary.md` and replaces the block between
`<!-- drumgate:status:begin -->` and `<!-- drumgate:status:end -->` in DATASET_READINESS_PLAN.md
(creating the plan, with its human-written sections around the block, when it is missing).
Everything outside the block is left as the people who wrote it left it. Deterministic: the
same reports and `--date` give the same bytes.
"""

# The command layer of drumgate.reports.readiness_docs (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from drumgate import cli
from drumgate.errors import EXIT_OK
from drumgate.reports.readiness_docs import PLAN_NAME, write_docs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", default=None, help="summary date YYYY-MM-DD (default SOURCE_DATE_EPOCH or today)")
    cli.add_json_option(parser, "each dataset's newest report and status, and the written files")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    outcome = write_docs(ws, args.date)
    summary = ws.rel(outcome.summary)
    print(f"{len(outcome.entries)} dataset report(s), {outcome.failing} failing; wrote {summary} and {PLAN_NAME}")
    cli.emit_json(args, {"date": outcome.date, "datasets": outcome.entries, "failing": outcome.failing,
                         "written": [summary, PLAN_NAME]})
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.docs")


if __name__ == "__main__":
    raise SystemExit(main())
