"""`drumgate pr-report`: the command layer of `drumgate.github.pr_report`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from drumgate import cli
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.github import pr_report
from drumgate.github.pr_render import COMMENT_BUDGET, Context, Rendered, run_url
from drumgate.github.sticky import COMMENT_LIMIT
from drumgate.io.jsonio import dumps_document

__doc__ = pr_report.__doc__

MIN_CHARS = 2_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default=None, help="base revision (the pull request's base commit)")
    parser.add_argument("--head", default=None, help="head revision (the pull request's head commit)")
    parser.add_argument(
        "--from-summary",
        type=Path,
        default=None,
        metavar="FILE",
        help="render comment.md from a summary.json (validated, untrusted) instead of computing one",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for comment.md, summary.json and reports/")
    parser.add_argument("--repo-url", default=None, help="repository web URL, for links to the workflow run")
    parser.add_argument("--run-id", default=None, help="workflow run id holding the artifact (for its link)")
    parser.add_argument(
        "--artifact-name",
        default=pr_report.DEFAULT_ARTIFACT,
        help=f"artifact name (default {pr_report.DEFAULT_ARTIFACT})",
    )
    parser.add_argument("--max-chars", type=int, default=COMMENT_BUDGET, help="comment size cap (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout")


def _say_written(out: Path, summary: Mapping[str, Any], comment: Rendered, what: str) -> None:
    count = len(summary["datasets"])
    left_out = f", left out: {', '.join(comment.dropped)}" if comment.dropped else ""
    print(
        f"pr-report: {count} dataset group{'s' if count != 1 else ''} changed; "
        f"wrote {out / 'comment.md'} ({len(comment.text):,} characters{left_out}){what}"
    )


def run(args: argparse.Namespace) -> int:
    if args.run_id is not None and not str(args.run_id).isdigit():
        # a run's URL holds its id after /runs/ (a job's URL then goes on to /job/<job id>)
        numbers = re.findall(r"/runs/([0-9]+)", str(args.run_id)) or re.findall(r"[0-9]+", str(args.run_id))[-1:]
        raise DrumgateError(f"--run-id {args.run_id!r} is not a number",
                            hint=f"fix: pass --run-id {numbers[0]}" if numbers else
                            'fix: pass --run-id "$GITHUB_RUN_ID", which GitHub Actions sets, or leave it out')
    if not MIN_CHARS <= args.max_chars <= COMMENT_LIMIT - 1:
        fitted = min(max(args.max_chars, MIN_CHARS), COMMENT_LIMIT - 1)
        raise DrumgateError(f"--max-chars {args.max_chars} is not between {MIN_CHARS} and {COMMENT_LIMIT - 1}",
                            hint=f"fix: pass --max-chars {fitted}, or leave it out for {COMMENT_BUDGET}")
    context = Context(args.artifact_name, run_url(args.repo_url, args.run_id))
    if args.from_summary is not None:
        if args.base is not None or args.head is not None:
            raise DrumgateError(
                "--from-summary renders a summary; --base and --head compute one (give one or the other)",
                hint="fix: drop --base and --head to render the summary, or drop --from-summary to compute one",
            )
        summary, comment = pr_report.render_summary_file(args.from_summary, args.out, context, args.max_chars)
        _say_written(args.out, summary, comment, f" from {args.from_summary}")
        return EXIT_OK
    if args.base is None or args.head is None:
        base, head = args.base or f"{args.head or 'HEAD'}~1", args.head or "HEAD"
        raise DrumgateError("give --base REV and --head REV (or --from-summary FILE)",
                            hint=f"fix: drumgate pr-report --base {shlex.quote(base)} --head {shlex.quote(head)} "
                                 f"--out {shlex.quote(str(args.out))}, to report what {head} changed since {base}")
    options = pr_report.Options(args.base, args.head, args.out, args.max_chars)
    summary, comment = pr_report.report_revisions(cli.workspace_from(args), options, context)
    if args.json:
        sys.stdout.write(dumps_document(summary).decode("utf-8"))
    else:
        _say_written(options.out, summary, comment, " and summary.json")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.pr_report")


if __name__ == "__main__":
    raise SystemExit(main())
