"""Create or update the pull request's one sticky comment through GitHub's REST API.

The comment is found by a hidden marker (`<!-- drumgate:health-delta -->`) on its first line and
written by a bot account (or by `--author`). The token comes from `GITHUB_TOKEN`; the API root from
`GITHUB_API_URL` (GitHub Enterprise, or a test server), defaulting to the public API. Bodies over
GitHub's 65,536-character limit are cut at a line boundary, open code fences and `<details>`
blocks are closed, and a note says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import __version__, cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError, one_line

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_MARKER = "drumgate:health-delta"
COMMENT_LIMIT = 65_536
REQUEST_TIMEOUT_S = 30
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MARKER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
CUT_NOTE = (
    "\n> [!NOTE]\n> This comment was cut to stay under GitHub's 65,536-character limit; "
    "the full report is in the workflow artifact.\n"
)


def marker_line(marker: str) -> str:
    return f"<!-- {marker} -->"


def _closers(kept: list[str]) -> list[str]:
    """Lines that close the code fence and `<details>` blocks left open by a cut."""
    fence: str | None = None
    open_details = 0
    for line in kept:
        stripped = line.lstrip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip("`").strip():
                fence = None
            continue
        run = re.match(r"^(`{3,}|~{3,})", stripped)
        if run:
            fence = run.group(1)
            continue
        open_details += stripped.count("<details") - stripped.count("</details>")
    closers = [fence] if fence else []
    closers.extend(["</details>"] * max(open_details, 0))
    return closers


def cut_body(body: str, limit: int = COMMENT_LIMIT) -> tuple[str, bool]:
    """`body` unchanged when it fits, else cut at a line boundary with blocks closed and a note."""
    if len(body) <= limit:
        return body, False
    lines = body.split("\n")
    kept: list[str] = []
    size = 0
    reserve = len(CUT_NOTE) + 200
    for line in lines:
        if size + len(line) + 1 + reserve > limit:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:
        kept = [body[: max(limit - reserve, 0)]]
    closing = _closers(kept)
    text = "\n".join([*kept, *closing]) + "\n" + CUT_NOTE
    return text[:limit], True


def with_marker(body: str, marker: str) -> str:
    line = marker_line(marker)
    if body.lstrip().startswith(line):
        return body
    return f"{line}\n{body}"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    data: Any


def _rate_limit_message(headers: dict[str, str]) -> str | None:
    retry_after = headers.get("retry-after")
    if retry_after:
        return f"GitHub API rate limit hit: retry after {retry_after} s"
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        when = ""
        if reset.isdigit():
            when = " (resets " + dt.datetime.fromtimestamp(int(reset), tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC") + ")"
        return f"GitHub API rate limit exhausted{when}"
    return None


def _api_message(raw: bytes) -> str:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, str) or not message:
        return ""
    return ": " + one_line(message)[:200]


def http_error_to_drumgate(status: int, headers: dict[str, str], raw: bytes, what: str) -> DrumgateError:
    detail = _api_message(raw)
    limited = _rate_limit_message(headers) if status in (403, 429) else None
    if limited:
        return DrumgateError(
            f"{limited} while trying to {what}", hint="wait and re-run the job", exit_code=EXIT_FINDINGS
        )
    if status == 401:
        return DrumgateError(
            f"GitHub rejected the token (401 Unauthorized{detail}) while trying to {what}",
            hint="check GITHUB_TOKEN is set to a valid token",
        )
    if status == 403:
        return DrumgateError(
            f"GitHub refused access (403 Forbidden{detail}) while trying to {what}",
            hint="the job needs `permissions: pull-requests: write`; fork runs get a read-only token",
        )
    if status == 404:
        return DrumgateError(
            f"not found (404{detail}) while trying to {what}",
            hint="check --repo and --pr, and that the token can see the repository",
        )
    return DrumgateError(f"GitHub API answered {status}{detail} while trying to {what}", exit_code=EXIT_FINDINGS)


class GitHubClient:
    """The few REST calls the sticky comment needs, over urllib."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token

    def request(self, method: str, url: str, what: str, payload: dict[str, Any] | None = None) -> Response:
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}{url}"
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", f"drumgate/{__version__}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as reply:
                headers = {k.lower(): v for k, v in reply.headers.items()}
                body = reply.read()
                return Response(reply.status, headers, json.loads(body) if body else None)
        except urllib.error.HTTPError as err:
            headers = {k.lower(): v for k, v in (err.headers or {}).items()}
            raise http_error_to_drumgate(err.code, headers, err.read() or b"", what) from None
        except urllib.error.URLError as err:
            raise DrumgateError(
                f"cannot reach the GitHub API at {self.api_url}: {err.reason}",
                hint="check GITHUB_API_URL and the network",
                exit_code=EXIT_FINDINGS,
            ) from None
        except (TimeoutError, json.JSONDecodeError) as err:
            raise DrumgateError(f"GitHub API gave no usable answer while trying to {what}: {err}") from None

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        url: str | None = f"/repos/{repo}/issues/{number}/comments?per_page=100"
        comments: list[dict[str, Any]] = []
        while url:
            reply = self.request("GET", url, f"list the comments of {repo}#{number}")
            if not isinstance(reply.data, list):
                raise DrumgateError(f"GitHub API: unexpected answer listing comments of {repo}#{number}")
            comments.extend(reply.data)
            found = NEXT_LINK.search(reply.headers.get("link", ""))
            url = found.group(1) if found else None
        return comments

    def pull_head_sha(self, repo: str, number: int) -> str:
        reply = self.request("GET", f"/repos/{repo}/pulls/{number}", f"read pull request {repo}#{number}")
        head = reply.data.get("head", {}) if isinstance(reply.data, dict) else {}
        return str(head.get("sha", ""))

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        reply = self.request(
            "POST", f"/repos/{repo}/issues/{number}/comments", f"comment on {repo}#{number}", {"body": body}
        )
        return reply.data

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        reply = self.request(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", f"update comment {comment_id}", {"body": body}
        )
        return reply.data


def find_sticky(comments: Sequence[dict[str, Any]], marker: str, author: str | None) -> dict[str, Any] | None:
    """The first comment opening with the marker, by `author` or else by any bot account."""
    line = marker_line(marker)
    for comment in comments:
        body = comment.get("body") or ""
        user = comment.get("user") or {}
        by_expected = user.get("login") == author if author else user.get("type") == "Bot"
        if body.lstrip().startswith(line) and by_expected:
            return comment
    return None


def post_sticky(
    client: GitHubClient,
    repo: str,
    number: int,
    body: str,
    marker: str,
    *,
    author: str | None = None,
    no_create: bool = False,
) -> tuple[str, dict[str, Any] | None]:
    """Update the sticky comment in place or create it; returns (action, comment)."""
    existing = find_sticky(client.issue_comments(repo, number), marker, author)
    if existing is not None:
        return "updated", client.update_comment(repo, int(existing["id"]), body)
    if no_create:
        return "skipped", None
    return "created", client.create_comment(repo, number, body)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, help="OWNER/NAME of the repository")
    parser.add_argument("--pr", required=True, help="pull request number")
    parser.add_argument("--body-file", required=True, help="Markdown file holding the comment body")
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
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")


def _validated(args: argparse.Namespace) -> tuple[str, int, str]:
    if not REPO_PATTERN.match(args.repo):
        raise DrumgateError(f"--repo {args.repo!r} is not OWNER/NAME")
    if not (args.pr.isascii() and args.pr.isdigit()) or len(args.pr) > 10 or int(args.pr) == 0:
        raise DrumgateError(f"--pr {args.pr!r} is not a pull request number")
    if not MARKER_PATTERN.match(args.marker):
        raise DrumgateError(f"--marker {args.marker!r} may hold only letters, digits and . _ : -")
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise DrumgateError("GITHUB_TOKEN is not set", hint="pass the workflow token through `env: GITHUB_TOKEN`")
    return args.repo, int(args.pr), token


def _read_body(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DrumgateError("comment body file not found", path=path) from None
    except UnicodeDecodeError:
        raise DrumgateError("comment body is not valid UTF-8", path=path) from None
    except OSError as err:
        raise DrumgateError(f"cannot read the comment body: {err.strerror}", path=path) from None


def run(args: argparse.Namespace) -> int:
    repo, number, token = _validated(args)
    body, was_cut = cut_body(with_marker(_read_body(args.body_file), args.marker))
    client = GitHubClient(os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL, token)
    if args.expect_head_sha:
        actual = client.pull_head_sha(repo, number)
        if actual != args.expect_head_sha:
            raise DrumgateError(
                f"pull request {repo}#{number} has head {actual[:12] or '(none)'}, not {args.expect_head_sha[:12]}",
                hint="the artifact names a different pull request than the run that made it; nothing posted",
                exit_code=EXIT_FINDINGS,
            )
    action, comment = post_sticky(client, repo, number, body, args.marker, author=args.author, no_create=args.no_create)
    outcome = {
        "action": action,
        "comment_id": (comment or {}).get("id"),
        "url": (comment or {}).get("html_url"),
        "characters": len(body),
        "cut": was_cut,
    }
    if args.json:
        print(json.dumps(outcome, sort_keys=True))
    else:
        where = f": {outcome['url']}" if outcome["url"] else ""
        note = " (cut to fit the limit)" if was_cut else ""
        print(f"comment {action} on {repo}#{number}{where}{note}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.github_comment")


if __name__ == "__main__":
    raise SystemExit(main())
