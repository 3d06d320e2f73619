"""Create or update the pull request's one sticky comment through GitHub's REST API.

The comment is found by a hidden marker (`<!-- drumgate:health-delta -->`) on its first line and
written by a bot account (or by `--author`). The token comes from `GITHUB_TOKEN`; the API root from
`GITHUB_API_URL` (GitHub Enterprise, or a test server), defaulting to the public API. Bodies over
GitHub's 65,536-character limit are cut at a line boundary, open code fences and `<details>`
blocks are closed, and a note says so.

The token stays home. Every request goes to the origin (scheme, host, port) of `GITHUB_API_URL`,
which must be https (plain http only on a loopback address, for test servers). A `Link: rel="next"`
to another origin is refused before any request; no redirect is ever followed (a 3xx, on a read
or a write, is an error), so the `Authorization` header cannot travel anywhere else and a write
is never replayed as a GET. The listing stops at `MAX_PAGES` pages and on a `next` link it has
already read; every answer is capped at `MAX_RESPONSE_BYTES` and the whole command at
`--deadline` seconds, enforced by a watchdog that closes the socket (so a server dripping bytes
cannot hold the job). Answers are parsed by orjson (depth-limited, strict UTF-8) and checked
against the small schemas below before use; anything odd is one escaped line and exit 1 or 2.

Why urllib and not `gh api` or an HTTP library: `gh` is on GitHub's hosted runners but not on
developer machines or self-hosted runners, and `gh api --paginate` follows whatever `next` link
the server sends with no page, byte or time bound we could set; `requests`/`httpx` would be a new
dependency and still need the same origin, size and deadline code. The standard library, with
no redirect handler at all and a pinned origin, is the smallest code that keeps every promise above
(and still honours the runner's proxy settings through `ProxyHandler`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from drumgate import __version__, cli
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, DrumgateError
from drumgate.io.fsutil import read_regular_file
from drumgate.render.textsafe import log_text
from drumgate.schemas import RowValidator

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_MARKER = "drumgate:health-delta"
COMMENT_LIMIT = 65_536
REQUEST_TIMEOUT_S = 30
DEFAULT_DEADLINE_S = 120.0
MAX_DEADLINE_S = 3600.0
# 100 pages of 100 comments: far beyond any real pull request, small enough to stop a looping server.
MAX_PAGES = 100
COMMENTS_PER_PAGE = 100
# A page of 100 comments at GitHub's full 65,536 characters is under 7 MB; 16 MiB leaves room
# and keeps the parsed answer well under the 500 MB a command may use.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
READ_CHUNK_BYTES = 64 * 1024
SERVER_TEXT_CHARS = 200
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MARKER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")
TOKEN_PATTERN = re.compile(r"^[\x21-\x7e]+$")
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="next"')
CUT_NOTE = (
    "\n> [!NOTE]\n> This comment was cut to stay under GitHub's 65,536-character limit; "
    "the full report is in the workflow artifact.\n"
)
ORIGIN_HINT = "fix: point GITHUB_API_URL at the origin that answers; the token is sent to no other"

_COMMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "body": {"type": ["string", "null"]},
        "html_url": {"type": "string"},
        "user": {
            "type": ["object", "null"],
            "properties": {"login": {"type": ["string", "null"]}, "type": {"type": ["string", "null"]}},
        },
    },
}
COMMENT_ANSWER = RowValidator("comment", _COMMENT_SCHEMA)
COMMENT_PAGE_ANSWER = RowValidator("comment list", {"type": "array", "items": _COMMENT_SCHEMA})
PULL_ANSWER = RowValidator(
    "pull request",
    {
        "type": "object",
        "required": ["head"],
        "properties": {"head": {"type": "object", "required": ["sha"], "properties": {"sha": {"type": "string"}}}},
    },
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
class Origin:
    """Scheme, host and port: the only place the token may be sent."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an absolute http(s) URL; None for anything else (other schemes, bad ports)."""
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            return None
        return cls(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))


def api_origin(api_url: str) -> Origin:
    origin = Origin.of(api_url)
    shown = log_text(api_url)[:SERVER_TEXT_CHARS]
    if origin is None or "?" in api_url or "#" in api_url:
        raise DrumgateError(
            f"GITHUB_API_URL '{shown}' is not an http(s) URL with a host (and no user:password@, query or fragment)",
            hint="fix: set GITHUB_API_URL to the API root, e.g. https://api.github.com",
        )
    if origin.scheme == "http" and origin.host not in LOOPBACK_HOSTS:
        raise DrumgateError(
            f"GITHUB_API_URL '{shown}' is plain http: the token would cross the network unencrypted",
            hint="fix: use the https API root",
        )
    return origin


class Deadline:
    """The whole command's time budget; a watchdog closes the open socket when it runs out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def passed(self) -> bool:
        """True once the watchdog fired or the time is up (a socket timeout can beat the watchdog)."""
        return self.expired or self.remaining() <= 0

    def watch(self, current_socket: Callable[[], socket.socket | None]) -> None:
        """Arm the watchdog for one connection; `current_socket` is read when it fires (TLS swaps the socket)."""
        self.release()
        self._timer = threading.Timer(max(self.remaining(), 0.0), self._expire, (current_socket,))
        self._timer.daemon = True
        self._timer.start()

    def _expire(self, current_socket: Callable[[], socket.socket | None]) -> None:
        self.expired = True
        sock = current_socket()
        if sock is None:
            return  # still connecting: the connect timeout (capped by the deadline) ends it
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: the request ended on its own

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _watched_connection(base: type[http.client.HTTPConnection], deadline: Deadline) -> Callable[..., Any]:
    class WatchedConnection(base):  # type: ignore[valid-type, misc]
        connected: socket.socket | None = None

        def connect(self) -> None:
            # Armed before connecting, so a proxy tunnel or a TLS handshake that drips is cut off too;
            # urllib drops `sock` once the headers are in, so the body is read on `connected`.
            deadline.watch(lambda: self.sock or self.connected)
            super().connect()
            self.connected = self.sock

    return WatchedConnection


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.connection = _watched_connection(http.client.HTTPConnection, deadline)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connection, req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__(context=ssl.create_default_context())
        self.connection = _watched_connection(http.client.HTTPSConnection, deadline)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connection, req, context=self._context)


def _opener(deadline: Deadline) -> urllib.request.OpenerDirector:
    """http(s) only, and deliberately no HTTPRedirectHandler: every 3xx surfaces as an HTTPError."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _WatchedHTTPHandler(deadline),
        _WatchedHTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    data: Any


def _headers(message: Any) -> dict[str, str]:
    """Lower-cased headers; a header sent several times (Link) is joined with commas, as HTTP allows."""
    joined: dict[str, str] = {}
    for key, value in (message or {}).items():
        name = key.lower()
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def _rate_limit_message(headers: dict[str, str]) -> str | None:
    retry_after = headers.get("retry-after")
    if retry_after:
        return f"GitHub API rate limit hit: retry after {log_text(retry_after)[:40]} s"
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        when = ""
        if reset.isascii() and reset.isdigit() and len(reset) <= 12:
            when = " (resets " + dt.datetime.fromtimestamp(int(reset), tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC") + ")"
        return f"GitHub API rate limit exhausted{when}"
    return None


def _api_message(raw: bytes) -> str:
    """The server's own words for an error: its JSON `message`, else the start of its text."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = " ".join(raw.decode("utf-8", errors="replace").split())
        return f": {log_text(text)[:SERVER_TEXT_CHARS]}" if text else ""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, str) or not message:
        return ""
    return ": " + log_text(message)[:SERVER_TEXT_CHARS]


def http_error_to_drumgate(status: int, headers: dict[str, str], raw: bytes, what: str) -> DrumgateError:
    if 300 <= status < 400:
        where = log_text(headers.get("location", "(no Location)"))[:SERVER_TEXT_CHARS]
        return DrumgateError(
            f"GitHub API answered {status} (redirect to {where}) while trying to {what}: "
            "redirects are never followed, and a write answered with one is not a success",
            hint=ORIGIN_HINT,
            exit_code=EXIT_USAGE,
        )
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


def _error_body(stream: Any) -> bytes:
    """The start of an error answer: enough for its message, never more than the error cap."""
    body = bytearray()
    while len(body) < MAX_ERROR_BODY_BYTES and (piece := stream.read1(READ_CHUNK_BYTES)):
        body += piece
    return bytes(body[:MAX_ERROR_BODY_BYTES])


def odd_answer(what: str, problem: str) -> DrumgateError:
    return DrumgateError(
        f"GitHub API gave an unusable answer while trying to {what}: {problem}",
        hint="re-run the job; if it persists, check GITHUB_API_URL points at the GitHub API",
        exit_code=EXIT_FINDINGS,
    )


def checked(validator: RowValidator, data: Any, what: str) -> Any:
    """`data` when it has the shape the schema names, else an odd-answer error naming where it differs."""
    issues = validator.issues(data)
    if issues:
        raise odd_answer(what, log_text(f"{validator.name} {issues[0]}")[:SERVER_TEXT_CHARS])
    return data


class GitHubClient:
    """The few REST calls the sticky comment needs, pinned to one origin, with a page, byte and time budget."""

    def __init__(self, api_url: str, token: str, deadline: Deadline | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.origin = api_origin(self.api_url)
        self.token = token
        self.deadline = deadline or Deadline(DEFAULT_DEADLINE_S)
        self.opener = _opener(self.deadline)

    def _server_text(self, text: str) -> str:
        """Server-chosen text for a message: escaped, short, and never the token (a server may echo it)."""
        return log_text(text.replace(self.token, "[token]"))[:SERVER_TEXT_CHARS]

    def _out_of_time(self, what: str) -> DrumgateError:
        return DrumgateError(
            f"the GitHub API did not finish within the {self.deadline.seconds:g} s deadline while trying to {what}",
            hint="re-run the job, or raise --deadline",
            exit_code=EXIT_FINDINGS,
        )

    def absolute(self, url: str) -> str:
        """`url` (a path under the API root, or absolute) as an absolute URL on the pinned origin."""
        full = url if "://" in url else f"{self.api_url}{url}"
        if Origin.of(full) != self.origin:
            raise DrumgateError(
                f"the GitHub API pointed to {self._server_text(full)}, outside {self.api_url}; not followed",
                hint=ORIGIN_HINT,
                exit_code=EXIT_USAGE,
            )
        return full

    def _read_capped(self, stream: Any, headers: dict[str, str], limit: int, what: str) -> bytes:
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise odd_answer(what, f"the answer announces {int(declared):,} bytes, over the {limit:,}-byte cap")
        body = bytearray()
        while piece := stream.read1(READ_CHUNK_BYTES):
            body += piece
            if len(body) > limit:
                raise odd_answer(what, f"the answer runs past the {limit:,}-byte cap")
        if getattr(stream, "length", None):
            raise odd_answer(what, f"the answer was cut short ({stream.length:,} announced bytes never came)")
        return bytes(body)

    def request(self, method: str, url: str, what: str, payload: dict[str, Any] | None = None) -> Response:
        full = self.absolute(url)
        if self.deadline.remaining() <= 0:
            raise self._out_of_time(what)
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = urllib.request.Request(full, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", f"drumgate/{__version__}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            return self._exchange(request, what)
        except DrumgateError:
            if self.deadline.expired:
                raise self._out_of_time(what) from None
            raise
        except (OSError, http.client.HTTPException, ValueError) as err:
            if self.deadline.passed():
                raise self._out_of_time(what) from None
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            detail = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"
            raise DrumgateError(
                f"cannot talk to the GitHub API at {self.api_url} while trying to {what}: {self._server_text(detail)}",
                hint="check GITHUB_API_URL and the network",
                exit_code=EXIT_FINDINGS,
            ) from None
        finally:
            self.deadline.release()

    def _exchange(self, request: urllib.request.Request, what: str) -> Response:
        timeout = max(min(REQUEST_TIMEOUT_S, self.deadline.remaining()), 0.001)
        try:
            reply = self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as err:
            headers = _headers(err.headers)
            raw = _error_body(err.fp) if err.fp is not None else b""
            if self.deadline.expired:
                raise self._out_of_time(what) from None
            raw = raw.replace(self.token.encode(), b"[token]")
            raise http_error_to_drumgate(err.code, headers, raw, what) from None
        with reply:
            headers = _headers(reply.headers)
            body = self._read_capped(reply, headers, MAX_RESPONSE_BYTES, what)
        if self.deadline.expired:
            raise self._out_of_time(what)
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError as err:
            raise odd_answer(what, f"the answer is not JSON ({self._server_text(str(err))})") from None
        return Response(reply.status, headers, data)

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        what = f"list the comments of {repo}#{number}"
        url = self.absolute(f"/repos/{repo}/issues/{number}/comments?per_page={COMMENTS_PER_PAGE}")
        seen: set[str] = set()
        comments: list[dict[str, Any]] = []
        while True:
            if len(seen) == MAX_PAGES:
                raise odd_answer(what, f"the list runs past {MAX_PAGES} pages; stopped there")
            seen.add(url)
            reply = self.request("GET", url, what)
            comments.extend(checked(COMMENT_PAGE_ANSWER, reply.data, what))
            found = NEXT_LINK.search(reply.headers.get("link", ""))
            if not found:
                return comments
            url = self.absolute(urllib.parse.urljoin(url, found.group(1)))
            if url in seen:
                raise odd_answer(what, f"the next page {self._server_text(url)} was already read (a loop)")

    def pull_head_sha(self, repo: str, number: int) -> str:
        what = f"read pull request {repo}#{number}"
        reply = self.request("GET", f"/repos/{repo}/pulls/{number}", what)
        return str(checked(PULL_ANSWER, reply.data, what)["head"]["sha"])

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        what = f"comment on {repo}#{number}"
        reply = self.request("POST", f"/repos/{repo}/issues/{number}/comments", what, {"body": body})
        return checked(COMMENT_ANSWER, reply.data, what)

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        what = f"update comment {comment_id}"
        reply = self.request("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", what, {"body": body})
        return checked(COMMENT_ANSWER, reply.data, what)


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
        raise DrumgateError(f"--deadline {text!r} is not a number of seconds in (0, {MAX_DEADLINE_S:g}]")
    return seconds


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
    if not TOKEN_PATTERN.match(token):
        raise DrumgateError(
            "GITHUB_TOKEN holds spaces or characters outside printable ASCII, which no token has",
            hint="pass the workflow token through `env: GITHUB_TOKEN`",
        )
    return args.repo, int(args.pr), token


# A body over GitHub's limit is cut anyway; reading more than a few times that is never needed.
BODY_FILE_LIMIT = 16 * COMMENT_LIMIT


def _read_body(path: str) -> str:
    try:
        if Path(path).stat().st_size > BODY_FILE_LIMIT:
            raise DrumgateError(f"comment body is over {BODY_FILE_LIMIT:,} bytes", path=path,
                                hint="render it with drumgate pr-report, which keeps it under GitHub's limit")
        return read_regular_file(path).decode("utf-8")
    except FileNotFoundError:
        raise DrumgateError("comment body file not found", path=path) from None
    except UnicodeDecodeError:
        raise DrumgateError("comment body is not valid UTF-8", path=path) from None
    except OSError as err:
        raise DrumgateError(f"cannot read the comment body: {err.strerror}", path=path) from None


def run(args: argparse.Namespace) -> int:
    repo, number, token = _validated(args)
    deadline = Deadline(_deadline_seconds(args.deadline))
    body, was_cut = cut_body(with_marker(_read_body(args.body_file), args.marker))
    client = GitHubClient(os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL, token, deadline)
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
        where = f": {log_text(outcome['url'])}" if outcome["url"] else ""
        note = " (cut to fit the limit)" if was_cut else ""
        print(f"comment {action} on {repo}#{number}{where}{note}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.github.comment")


if __name__ == "__main__":
    raise SystemExit(main())
