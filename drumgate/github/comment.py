"""Create or update the pull request's one sticky comment through GitHub's REST API.

The comment is found by a hidden marker (`<!-- drumgate:health-delta -->`) on its first line and
written by a bot account (or by `--author`). The token comes from `GITHUB_TOKEN`; the API root from
`GITHUB_API_URL` (GitHub Enterprise, or a test server), defaulting to the public API. Bodies over
GitHub's 65,536-character limit are cut at a line boundary, open code fences and `<details>`
blocks are closed, and a note says so. `--withdrawn RUN_URL` posts drumgate's own notice instead of a
body file: health for `--expect-head-sha` could not be computed or read, so the verdict the comment
showed (an earlier commit's) no longer applies; it updates a comment and never starts one.

The token stays home. Every request goes to the origin (scheme, host, port) of `GITHUB_API_URL`,
which must be https (plain http only on a loopback address, for test servers). A `Link: rel="next"`
to another origin is refused before any request; no redirect is ever followed (a 3xx, on a read
or a write, is an error), so the `Authorization` header cannot travel anywhere else and a write
is never replayed as a GET. The listing stops at `MAX_PAGES` pages and on a `next` link it has
already read; every answer is capped at `MAX_RESPONSE_BYTES` and the whole command at
`--deadline` seconds, enforced by a watchdog that closes the socket (so a server dripping bytes
cannot hold the job). Answers are parsed by orjson (depth-limited, strict UTF-8) and checked
against small schemas before use; anything odd is one escaped line and exit 1 or 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.github.rest_client import GitHubClient
from drumgate.github.sticky import COMMENT_LIMIT, cut_body, post_sticky, with_marker
from drumgate.github.transport import Deadline
from drumgate.io.fsutil import look_around, read_regular_file

DEFAULT_API_URL = "https://api.github.com"
TOKEN_PATTERN = re.compile(r"^[\x21-\x7e]+$")
TOKEN_HINT = "pass the workflow token through `env: GITHUB_TOKEN`"
# A body over GitHub's limit is cut anyway; reading more than a few times that is never needed.
BODY_FILE_LIMIT = 16 * COMMENT_LIMIT


COMMIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a head commit: SHA-1 or SHA-256 repositories
# A run page on a GitHub host: what `--withdrawn` links to (workflows build it from trusted context)
RUN_URL_PATTERN = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._-]+)+")


@dataclass(frozen=True)
class CommentRequest:
    """Which pull request gets which body (a file, or `body` text made here), and how the sticky comment
    is recognised."""

    repo: str
    number: int
    body_file: str | None
    marker: str
    author: str | None = None
    expect_head_sha: str | None = None
    no_create: bool = False
    body: str | None = None


def withdrawn_body(head_sha: str, run_url: str) -> str:
    """The notice that replaces the sticky comment's verdict when health for `head_sha` could not be
    computed or read: the verdict it showed was an earlier commit's. Both inputs are checked shapes
    (hex digits, a run page URL), so nothing here needs escaping."""
    if not COMMIT_SHA.fullmatch(head_sha):
        raise DrumgateError(f"{head_sha[:80]!r} is not a commit SHA")
    if not RUN_URL_PATTERN.fullmatch(run_url):
        raise DrumgateError(f"--withdrawn {run_url[:200]!r} is not the https URL of a workflow run",
                            hint='fix: pass --withdrawn "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$RUN_ID"')
    return (f"❗ **Not merge-safe: dataset health could not be computed** for `{head_sha[:12]}`.\n\n"
            "The verdict this comment showed was for an earlier commit and no longer applies.\n"
            f"See the [PR health run]({run_url}).\n")


def workflow_token() -> str:
    """`GITHUB_TOKEN` as the workflow passes it; refused when unset or not shaped like any token."""
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise DrumgateError("GITHUB_TOKEN is not set", hint=TOKEN_HINT)
    if not TOKEN_PATTERN.match(token):
        raise DrumgateError(
            "GITHUB_TOKEN holds spaces or characters outside printable ASCII, which no token has", hint=TOKEN_HINT
        )
    return token


def api_url() -> str:
    return os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL


def read_body(path: str) -> str:
    try:
        if Path(path).stat().st_size > BODY_FILE_LIMIT:
            raise DrumgateError(f"comment body is over {BODY_FILE_LIMIT:,} bytes", path=path,
                                hint="render it with drumgate pr-report, which keeps it under GitHub's limit")
        body = read_regular_file(path).decode("utf-8")
    except FileNotFoundError:
        raise DrumgateError("comment body file not found", path=path, hint=look_around(Path(path))) from None
    except UnicodeDecodeError:
        raise DrumgateError("comment body is not valid UTF-8", path=path) from None
    except OSError as err:
        raise DrumgateError(f"cannot read the comment body: {err.strerror}", path=path) from None
    if not body.strip():  # posted, it would blank the verdict the sticky comment holds
        raise DrumgateError("comment body is empty; nothing posted", path=path,
                            hint="fix: pass the comment.md that drumgate pr-report --out DIR writes")
    return body


def post_comment(request: CommentRequest, token: str, deadline: Deadline) -> dict[str, Any]:
    """Post the body as the sticky comment; the outcome: action, comment id and url, size, whether cut."""
    text = request.body if request.body is not None else read_body(str(request.body_file))
    body, was_cut = cut_body(with_marker(text, request.marker))
    client = GitHubClient(api_url(), token, deadline)
    repo, number = request.repo, request.number
    if request.expect_head_sha:
        actual = client.pull_head_sha(repo, number)
        if actual != request.expect_head_sha:
            raise DrumgateError(
                f"pull request {repo}#{number} has head {actual[:12] or '(none)'}, not {request.expect_head_sha[:12]}",
                hint="the artifact names a different pull request than the run that made it; nothing posted",
                exit_code=EXIT_FINDINGS,
            )
    action, comment = post_sticky(
        client, repo, number, body, request.marker, author=request.author, no_create=request.no_create
    )
    return {
        "action": action,
        "comment_id": (comment or {}).get("id"),
        "url": (comment or {}).get("html_url"),
        "characters": len(body),
        "cut": was_cut,
    }
