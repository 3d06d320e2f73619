"""`drumgate comment`: the command layer of `drumgate.github.comment`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Sequence

from drumgate import cli
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.github import comment
from drumgate.github.rest_client import DEFAULT_DEADLINE_S
from drumgate.github.sticky import DEFAULT_MARKER
from drumgate.github.transport import Deadline
from drumgate.render.textsafe import log_text

__doc__ = comment.__doc__

MAX_DEADLINE_S = 3600.0
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MARKER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, help="OWNER/NAME of the repository")
    parser.add_argument("--pr", required=True, help="pull request number")
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", help="Markdown file holding the comment body")
    body.add_argument(
        "--withdrawn",
        metavar="RUN_URL",
        help="replace the comment's verdict with a not-merge-safe notice for --expect-head-sha, linking the"
        " workflow run whose health failed (never creates a comment)",
    )
    parser.add_argument(
        "--marker", default=DEFAULT_MARKER, help=f"hidden marker naming the comment (default {DEFAULT_MARKER})"
    )
    parser.add_argument("--author", default=None, help="only update a comment by this login (default: any bot account)")
    parser.add_argument(
        "--expect-head-sha",
        default=None,
        help="refuse unless the pull request's head commit is this SHA (binds an artifact to its PR)",
    )
    parser.add_argument("--no-create", action="store_true", help="update an existing comment only, never create one")
    parser.add_argument(
        "--deadline",
        default=str(DEFAULT_DEADLINE_S),
        help=f"seconds the whole exchange with the API may take (default {DEFAULT_DEADLINE_S:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")


def _deadline_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_DEADLINE_S:  # also refuses nan
        raise DrumgateError(f"--deadline {text!r} is not a number of seconds in (0, {MAX_DEADLINE_S:g}]",
                            hint=f"fix: pass --deadline {DEFAULT_DEADLINE_S:g}, or leave it out for that default")
    return seconds


def _repo_fix(typed: str) -> str:
    """The OWNER/NAME inside a repository URL or `.git` path typed as --repo, else the workflow's way."""
    parts = [part for part in re.split(r"[/:]", typed.strip().removesuffix(".git")) if part]
    meant = "/".join(parts[-2:])
    if len(parts) >= 2 and REPO_PATTERN.match(meant) and not {".", ".."} & set(parts):  # `..`: no guess
        return f"fix: pass --repo {meant}"
    return 'fix: pass --repo "$GITHUB_REPOSITORY", which GitHub Actions sets to OWNER/NAME'


def _request(args: argparse.Namespace) -> comment.CommentRequest:
    if not REPO_PATTERN.match(args.repo):
        raise DrumgateError(f"--repo {args.repo!r} is not OWNER/NAME", hint=_repo_fix(args.repo))
    if not (args.pr.isascii() and args.pr.isdigit()) or len(args.pr) > 10 or int(args.pr) == 0:
        # `#12`, `refs/pull/12/merge`: the number meant (a run of more than 10 digits is not one)
        number = re.search(r"(?<![0-9])[1-9][0-9]{0,9}(?![0-9])", args.pr)
        hint = (f"fix: pass --pr {number.group()}" if number else 'fix: pass --pr "$PR_NUMBER" with the number'
                " of the pull request, as .github/workflows/pr-comment.yml does")
        raise DrumgateError(f"--pr {args.pr!r} is not a pull request number", hint=hint)
    if args.expect_head_sha is not None and not comment.COMMIT_SHA.fullmatch(args.expect_head_sha):
        typed = args.expect_head_sha[:80]
        raise DrumgateError(f"--expect-head-sha {typed!r} is not a commit SHA (40 or 64 hex digits)",
                            hint='fix: pass --expect-head-sha "$HEAD_SHA" with the SHA the report was made from, as'
                                 " .github/workflows/pr-comment.yml does")
    if not MARKER_PATTERN.match(args.marker):
        kept = re.sub(r"[^A-Za-z0-9_.:-]+", "-", args.marker).strip("-") or DEFAULT_MARKER
        raise DrumgateError(f"--marker {args.marker!r} may hold only letters, digits and . _ : -",
                            hint=f"fix: pass --marker {shlex.quote(kept)}")
    if args.withdrawn is None:
        return comment.CommentRequest(
            args.repo, int(args.pr), args.body_file, args.marker, args.author, args.expect_head_sha, args.no_create
        )
    if args.expect_head_sha is None:
        raise DrumgateError("--withdrawn needs --expect-head-sha: the notice names the commit whose health failed",
                            hint='fix: add --expect-head-sha "$RUN_HEAD_SHA", as .github/workflows/pr-comment.yml does')
    body = comment.withdrawn_body(args.expect_head_sha, args.withdrawn)
    return comment.CommentRequest(args.repo, int(args.pr), None, args.marker, args.author, args.expect_head_sha,
                                  no_create=True, body=body)


def run(args: argparse.Namespace) -> int:
    request = _request(args)
    token = comment.workflow_token()
    deadline = Deadline(_deadline_seconds(args.deadline))
    outcome = comment.post_comment(request, token, deadline)
    if args.json:
        print(json.dumps(outcome, sort_keys=True))
    else:
        where = f": {log_text(outcome['url'])}" if outcome["url"] else ""
        note = " (cut to fit the limit)" if outcome["cut"] else ""
        print(f"comment {outcome['action']} on {request.repo}#{request.number}{where}{note}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.cli.comment")


if __name__ == "__main__":
    raise SystemExit(main())
