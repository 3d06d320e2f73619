"""The few GitHub REST calls the sticky comment needs, with a page, byte and time budget.

Requests go through `drumgate.github.transport` (one pinned origin, no redirects, one deadline).
A `Link: rel="next"` to another origin is refused before any request. The listing stops at
`MAX_PAGES` pages and on a `next` link it has already read; every answer is capped at
`MAX_RESPONSE_BYTES`. Answers are parsed by orjson (depth-limited, strict UTF-8) and checked
against the small schemas below before use; anything odd is one escaped line and exit 1 or 2.
Server text in a message never carries the token (a server may echo it).

Why urllib and not `gh api` or an HTTP library: `gh` is on GitHub's hosted runners but not on
developer machines or self-hosted runners, and `gh api --paginate` follows whatever `next` link
the server sends with no page, byte or time bound we could set; `requests`/`httpx` would be a new
dependency and still need the same origin, size and deadline code. The standard library, with
no redirect handler at all and a pinned origin, is the smallest code that keeps every promise
(and still honours the runner's proxy settings through `ProxyHandler`).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson

from drumgate import __version__
from drumgate.errors import EXIT_FINDINGS, EXIT_USAGE, DrumgateError
from drumgate.github.transport import SERVER_TEXT_CHARS, Deadline, Origin, api_origin, opener
from drumgate.render.textsafe import log_text
from drumgate.schemas import RowValidator

REQUEST_TIMEOUT_S = 30
DEFAULT_DEADLINE_S = 120.0
# 100 pages of 100 comments: far beyond any real pull request, small enough to stop a looping server.
MAX_PAGES = 100
COMMENTS_PER_PAGE = 100
# A page of 100 comments at GitHub's full 65,536 characters is under 7 MB; 16 MiB leaves room
# and keeps the parsed answer well under the 500 MB a command may use.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
READ_CHUNK_BYTES = 64 * 1024
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="next"')
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
        self.opener = opener(self.deadline)

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
