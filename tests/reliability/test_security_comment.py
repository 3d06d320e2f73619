"""`drumgate comment` keeps the token on the API's origin and survives any answer a server can give.

Each test runs the real command (`drumgate.cli.main(["comment", ...])`) against loopback HTTP
servers: the configured API (the origin) and a second server on another port that records every
request, standing for any other host. Redirects, `next` links that leave the origin, loops,
huge and dripping answers and odd JSON must each end in exit 1 or 2 with one inert line, nothing
sent to the second server, and never a success message.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from drumgate import cli
from drumgate.github.rest_client import MAX_PAGES, MAX_RESPONSE_BYTES
from tests.reliability.support import TRACEBACK
from tests.workflow_runner import REPO, FakeGitHub, serve_github

TOKEN = "ghs_commentSecuritySecret0123456789"
PR = 7
LIST_PATH = f"/repos/{REPO}/issues/{PR}/comments"
MARKER = "<!-- drumgate:health-delta -->"
STICKY = {"id": 41, "body": f"{MARKER}\nold", "user": {"login": "github-actions[bot]", "type": "Bot"}}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str


class Loopback:
    """One HTTP server on 127.0.0.1 whose answers come from `respond`; it records every request."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None], tls: ssl.SSLContext | None = None) -> None:
        self.respond = respond
        self.scheme = "https" if tls else "http"
        self.requests: list[Seen] = []
        self.stop = threading.Event()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                loopback.requests.append(Seen(self.command, self.path, self.headers.get("Authorization", "")))
                try:
                    loopback.respond(self)
                except OSError:
                    pass  # the client hung up on purpose (cap, deadline)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # keeps the command's captured stderr to its own lines

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def run(self) -> Loopback:
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def servers(
    respond: Callable[[BaseHTTPRequestHandler, Loopback], None], tls: ssl.SSLContext | None = None
) -> Iterator[tuple[Loopback, Loopback]]:
    """The API origin (answering with `respond(handler, other)`) and the other server, which answers 200 []."""
    other = Loopback(lambda handler: send(handler, 200, b"[]")).run()
    origin = Loopback(lambda handler: respond(handler, other), tls).run()
    try:
        yield origin, other
    finally:
        origin.close()
        other.close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    """The stdlib encoder, which (unlike orjson) can send a lone surrogate as a server might."""
    send(handler, status, json.dumps(payload).encode(), headers)


def created(number: int = 100) -> dict[str, Any]:
    return {
        "id": number,
        "html_url": f"https://github.invalid/{REPO}/pull/{PR}#issuecomment-{number}",
        "body": MARKER,
        "user": {"login": "github-actions[bot]", "type": "Bot"},
    }


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def post(
    tmp_path: Path, api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *extra: str
) -> Outcome:
    body = tmp_path / "comment.md"
    body.write_text(f"{MARKER}\nhealth: fine\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", api)
    capsys.readouterr()
    code = cli.main(["comment", "--repo", REPO, "--pr", str(PR), "--body-file", str(body), *extra])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def assert_refused(outcome: Outcome, code: int, fragment: str) -> None:
    """Exit `code`, one inert stderr line holding `fragment`, no success line, no token, no traceback."""
    assert outcome.code == code, outcome.describe()
    assert outcome.stdout == "", outcome.describe()
    assert outcome.stderr.endswith("\n") and outcome.stderr.count("\n") == 1, outcome.describe()
    line = outcome.stderr[:-1]
    assert fragment in line, outcome.describe()
    assert TOKEN not in outcome.stdout + outcome.stderr
    assert TRACEBACK not in line and "internal error" not in line
    assert not line.lstrip().startswith("::"), "a log line must not start a workflow command"
    invisible = [char for char in line if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert not invisible, f"control, bidi or zero-width characters reached the log: {invisible!r}"


def assert_token_stayed_home(other: Loopback) -> None:
    assert not any(TOKEN in seen.authorization for seen in other.requests), "the token reached another origin"
    assert other.requests == [], f"a request left the origin: {other.requests}"


# (a) a `next` link out of the origin ---------------------------------------------------------------
NEXT_TARGETS: dict[str, Callable[[Loopback, Loopback], str]] = {
    "other-port": lambda origin, other: f"{other.url}{LIST_PATH}?page=2",
    "other-host": lambda origin, other: f"http://localhost:{other.port}{LIST_PATH}?page=2",
    "other-scheme": lambda origin, other: f"https://127.0.0.1:{origin.port}{LIST_PATH}?page=2",
    "userinfo": lambda origin, other: f"http://user@127.0.0.1:{other.port}{LIST_PATH}?page=2",
    "bad-port": lambda origin, other: f"http://127.0.0.1:99999{LIST_PATH}?page=2",
    "protocol-relative": lambda origin, other: f"//127.0.0.1:{other.port}{LIST_PATH}?page=2",
    "javascript": lambda origin, other: "javascript:alert(1)",
}


@pytest.mark.parametrize("target", sorted(NEXT_TARGETS))
def test_next_link_to_another_origin_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    holder: dict[str, Loopback] = {}

    def first_page(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        link = NEXT_TARGETS[target](holder["origin"], other)
        send_json(handler, 200, [], {"Link": f'<{link}>; rel="next"'})

    with servers(first_page) as (origin, other):
        holder["origin"] = origin
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert_refused(outcome, 2, "not followed")
    assert_token_stayed_home(other)
    assert [seen.method for seen in origin.requests] == ["GET"], "nothing is posted after a refused link"


# (b) redirects on reads and writes ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["other-origin", "same-origin"])
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_and_is_never_followed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    method: str,
    where: str,
) -> None:
    def answer(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        if handler.command == method:
            base = other.url if where == "other-origin" else f"http://127.0.0.1:{handler.server.server_address[1]}"
            send_json(handler, status, {"message": "moved"}, {"Location": f"{base}/moved{handler.path}"})
        elif handler.command == "GET":
            send_json(handler, 200, [STICKY] if method == "PATCH" else [])
        else:
            send_json(handler, 201 if handler.command == "POST" else 200, created())

    with servers(answer) as (origin, other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert_refused(outcome, 2, f"answered {status} (redirect to ")
    assert "never followed" in outcome.stderr
    assert_token_stayed_home(other)
    assert not any(seen.path.startswith("/moved") for seen in origin.requests), "a same-origin redirect was followed"
    assert origin.requests[-1].method == method, "the command stopped at the redirect"


# (c) pagination that never ends -------------------------------------------------------------------
def test_a_self_referencing_next_link_is_a_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def same_page_again(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        send_json(handler, 200, [], {"Link": f'<{handler.path}>; rel="next"'})

    with servers(same_page_again) as (origin, other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert_refused(outcome, 1, "already read (a loop)")
    assert len(origin.requests) == 1
    assert_token_stayed_home(other)


def test_endless_distinct_pages_stop_at_the_page_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_more_page(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        page = len(origin.requests) + 1
        send_json(handler, 200, [], {"Link": f'<{LIST_PATH}?per_page=100&page={page}>; rel="next"'})

    with servers(one_more_page) as (origin, _other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert_refused(outcome, 1, f"past {MAX_PAGES} pages")
    assert len(origin.requests) == MAX_PAGES
    assert all(seen.method == "GET" for seen in origin.requests), "nothing is posted after an unfinished listing"


# (d) huge answers -----------------------------------------------------------------------------------
def announce_huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(10 * 1024**3))
    handler.end_headers()
    handler.wfile.write(b"[")


def stream_past_cap(handler: BaseHTTPRequestHandler) -> None:
    """No Content-Length: the body runs until the connection closes, a MiB past the cap."""
    handler.send_response(200)
    handler.end_headers()
    handler.wfile.write(b"[" + b'"' + b"x" * (MAX_RESPONSE_BYTES + 1024 * 1024))


def chunked_past_cap(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    chunk = b"x" * (1024 * 1024)
    for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 2):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    handler.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize("huge", [announce_huge, stream_past_cap, chunked_past_cap], ids=lambda f: f.__name__)
def test_a_huge_answer_is_cut_off_at_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, huge: Callable[..., None]
) -> None:
    with servers(lambda handler, other: huge(handler)) as (origin, _other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert_refused(outcome, 1, "-byte cap")
    assert len(origin.requests) == 1


# (e) a server that drips bytes ----------------------------------------------------------------------
def drip_body(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.send_response(200)
    handler.end_headers()
    while not stop.wait(0.05):
        handler.wfile.write(b" ")
        handler.wfile.flush()


def drip_headers(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(0.05):
        handler.wfile.write(b"a")
        handler.wfile.flush()


@pytest.mark.parametrize("drip", [drip_body, drip_headers], ids=lambda f: f.__name__)
def test_a_dripping_server_is_cut_off_at_the_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, drip: Callable[..., None]
) -> None:
    """Each byte comes well inside the socket timeout: only the total deadline can end this."""
    with servers(lambda handler, other: drip(handler, origin.stop)) as (origin, _other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch, "--deadline", "1")
    assert_refused(outcome, 1, "did not finish within the 1 s deadline")
    assert len(origin.requests) == 1


# (f) odd answers ------------------------------------------------------------------------------------
def raw(data: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: handler.wfile.write(data)


def plain(status: int, body: bytes, content_type: str = "text/plain") -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def json_answer(status: int, payload: Any) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: send_json(handler, status, payload)


def comment_with(**fields: Any) -> list[dict[str, Any]]:
    return [{**STICKY, **fields}]


HOSTILE_TEXT = "oops\n::error title=pwned::owned\x1b[2J\u202eevil\u200b\ud800"
DEEP = b"[" * 100_000 + b"]" * 100_000


@dataclass(frozen=True)
class Odd:
    """An odd answer to one call (list, create, update or the pull request read) and what must be said."""

    call: str
    answer: Callable[[BaseHTTPRequestHandler], None]
    code: int
    fragment: str


ODD_ANSWERS: dict[str, Odd] = {
    "list-html-200": Odd("list", plain(200, b"<html><body>502 Bad Gateway</body></html>", "text/html"), 1, "not JSON"),
    "list-object": Odd("list", json_answer(200, {"message": "hi"}), 1, "is not of type 'array'"),
    "list-of-scalars": Odd("list", json_answer(200, [1, "x", None]), 1, "comment list $[0]"),
    "list-empty-body": Odd("list", plain(200, b"", "application/json"), 1, "None is not of type 'array'"),
    "body-a-number": Odd("list", json_answer(200, comment_with(body=5)), 1, "$[0].body"),
    "user-a-string": Odd("list", json_answer(200, comment_with(user="bot")), 1, "$[0].user"),
    "id-missing": Odd("list", json_answer(200, [{"body": MARKER, "user": STICKY["user"]}]), 1, "'id' is a required"),
    "id-a-string": Odd("list", json_answer(200, comment_with(id="41; rm -rf /")), 1, "$[0].id"),
    "id-true": Odd("list", json_answer(200, comment_with(id=True)), 1, "$[0].id"),
    "id-negative": Odd("list", json_answer(200, comment_with(id=-1)), 1, "$[0].id"),
    "id-infinite": Odd("list", raw(b'HTTP/1.0 200 OK\r\n\r\n[{"id": 1e400}]'), 1, "not JSON"),
    "id-5000-digits": Odd("list", raw(b'HTTP/1.0 200 OK\r\n\r\n[{"id": ' + b"9" * 5000 + b"}]"), 1, "not JSON"),
    "nan": Odd("list", raw(b'HTTP/1.0 200 OK\r\n\r\n[{"id": NaN}]'), 1, "not JSON"),
    "nested-100k-deep": Odd("list", raw(b"HTTP/1.0 200 OK\r\n\r\n" + DEEP), 1, "not JSON"),
    "invalid-utf8": Odd("list", raw(b'HTTP/1.0 200 OK\r\n\r\n["\xff\xfe"]'), 1, "not JSON"),
    "lone-surrogate": Odd("list", raw(b'HTTP/1.0 200 OK\r\n\r\n[{"id": 1, "body": "\\ud800"}]'), 1, "not JSON"),
    "garbage-status-line": Odd("list", raw(b"HTTP/1.1 abc OK\r\n\r\n[]"), 1, "BadStatusLine"),
    "not-http-at-all": Odd("list", raw(b"\x1b]0;pwned\x07SSH-2.0-OpenSSH\r\n"), 1, "cannot talk to the GitHub API"),
    "cut-short": Odd("list", raw(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n[]"), 1, "cut short"),
    "header-line-too-long": Odd(
        "list", raw(b"HTTP/1.0 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n[]"), 1, "LineTooLong"
    ),
    "status-600": Odd("list", json_answer(600, []), 1, "answered 600"),
    "500-hostile-text": Odd("list", plain(500, HOSTILE_TEXT.encode("utf-8", "surrogatepass")), 1, "answered 500"),
    "502-html": Odd("list", plain(502, b"<html>\n<h1>Bad gateway</h1>\n</html>", "text/html"), 1, "answered 502"),
    "500-huge-html": Odd("list", plain(500, b"<html>" + b"x" * (4 * 1024 * 1024), "text/html"), 1, "answered 500"),
    "404-message-an-object": Odd("list", json_answer(404, {"message": {"x": 1}}), 2, "not found (404)"),
    "401-echoes-the-token": Odd("list", json_answer(401, {"message": f"bad token {TOKEN}"}), 2, "bad token [token]"),
    "422-hostile-message": Odd("create", json_answer(422, {"message": HOSTILE_TEXT}), 1, "answered 422"),
    "create-answers-a-list": Odd("create", json_answer(201, []), 1, "is not of type 'object'"),
    "create-answers-204": Odd("create", plain(204, b""), 1, "None is not of type 'object'"),
    "create-html-url-a-number": Odd("create", json_answer(201, {**created(), "html_url": 5}), 1, "$.html_url"),
    "update-without-id": Odd("update", json_answer(200, {"body": MARKER}), 1, "'id' is a required"),
    "pull-head-a-string": Odd("pull", json_answer(200, {"head": "abc"}), 1, "pull request $.head"),
    "pull-sha-a-number": Odd("pull", json_answer(200, {"head": {"sha": 12}}), 1, "$.head.sha"),
}


@pytest.mark.parametrize("name", sorted(ODD_ANSWERS))
def test_an_odd_answer_is_one_escaped_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    odd = ODD_ANSWERS[name]

    def answer(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        call = {"GET": "pull" if "/pulls/" in handler.path else "list", "POST": "create", "PATCH": "update"}
        if call[handler.command] == odd.call:
            odd.answer(handler)
        elif call[handler.command] == "pull":
            send_json(handler, 200, {"head": {"sha": "a" * 40}})
        elif handler.command == "GET":
            send_json(handler, 200, [STICKY] if odd.call == "update" else [])
        else:
            send_json(handler, 200, created())

    extra = ("--expect-head-sha", "a" * 40) if odd.call == "pull" else ()
    with servers(answer) as (origin, other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch, *extra)
    assert_refused(outcome, odd.code, odd.fragment)
    assert len(outcome.stderr) < 1000, "server text is cut short in the message"
    assert_token_stayed_home(other)


def test_at_least_a_dozen_odd_answers_are_covered() -> None:
    assert len(ODD_ANSWERS) >= 12


# the configured API itself -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("api", "fragment"),
    [
        ("http://api.example.invalid", "plain http"),
        ("ftp://127.0.0.1/", "not an http(s) URL"),
        ("https://user:pw@api.example.invalid", "not an http(s) URL"),
        ("https://api.example.invalid?x=1", "not an http(s) URL"),
        ("https://127.0.0.1:99999", "not an http(s) URL"),
    ],
)
def test_an_unsafe_api_url_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, api: str, fragment: str
) -> None:
    assert_refused(post(tmp_path, api, capsys, monkeypatch), 2, fragment)


@pytest.mark.parametrize("token", [f"{TOKEN}\r\nX-Injected: 1", "ghs_\u00e9", "two words"])
def test_a_token_that_could_split_headers_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with servers(lambda handler, other: send_json(handler, 200, [])) as (origin, _other):
        body = tmp_path / "comment.md"
        body.write_text("hi\n", encoding="utf-8")
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.setenv("GITHUB_API_URL", origin.url)
        capsys.readouterr()
        code = cli.main(["comment", "--repo", REPO, "--pr", str(PR), "--body-file", str(body)])
        err = capsys.readouterr().err
    assert code == 2 and "GITHUB_TOKEN holds" in err and err.count("\n") == 1, err
    assert origin.requests == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "99999"])
def test_a_bad_deadline_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    outcome = post(tmp_path, "http://127.0.0.1:9", capsys, monkeypatch, "--deadline", value)
    assert_refused(outcome, 2, "--deadline")


# the happy path still works -------------------------------------------------------------------------
def test_sticky_comment_is_found_across_pages_and_updated_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    forged = {"id": 2, "body": f"{MARKER}\nforged", "user": {"login": "mallory", "type": "User"}}
    chatter = [{"id": n, "body": "lgtm", "user": {"login": "dev", "type": "User"}} for n in (1, 3, 4)]
    sticky = {"id": 5, "body": f"{MARKER}\nold", "user": {"login": "github-actions[bot]", "type": "Bot"}}
    fake = FakeGitHub(TOKEN, PR, comments=[chatter[0], forged, chatter[1], chatter[2], sticky])
    with serve_github(fake) as api:
        outcome = post(tmp_path, api, capsys, monkeypatch)
    assert outcome.code == 0, outcome.describe()
    assert outcome.stdout.startswith(f"comment updated on {REPO}#{PR}")
    assert [c["id"] for c in fake.comments] == [1, 2, 3, 4, 5], "no comment was created"
    assert fake.comments[4]["body"] == f"{MARKER}\nhealth: fine\n"
    assert fake.comments[1]["body"].endswith("forged"), "a user's comment holding the marker is never edited"
    pages = [url for method, url in fake.requests if method == "GET"]
    assert any("page=3" in url for url in pages), "the sticky comment was on the third page"


def test_sticky_comment_is_created_once_then_updated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeGitHub(TOKEN, PR, comments=[{"id": 1, "body": "hi", "user": {"login": "dev", "type": "User"}}])
    with serve_github(fake) as api:
        first = post(tmp_path, api, capsys, monkeypatch, "--json")
        second = post(tmp_path, api, capsys, monkeypatch, "--json")
    assert (first.code, second.code) == (0, 0), first.describe() + second.describe()
    first_outcome, second_outcome = orjson.loads(first.stdout), orjson.loads(second.stdout)
    assert first_outcome["action"] == "created" and second_outcome["action"] == "updated"
    assert first_outcome["comment_id"] == second_outcome["comment_id"]
    assert len(fake.bot_comments()) == 1


def test_a_relative_next_link_on_the_origin_is_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def two_pages(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
        if handler.command == "PATCH":
            send_json(handler, 200, {**STICKY, "html_url": "https://github.invalid/\u202ex"})
        elif "page=2" in handler.path:
            send_json(handler, 200, [STICKY])
        else:
            send_json(handler, 200, [], {"Link": f'<{LIST_PATH}?per_page=100&page=2>; rel="next"'})

    with servers(two_pages) as (origin, other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch)
    assert outcome.code == 0, outcome.describe()
    assert outcome.stdout == f"comment updated on {REPO}#{PR}: https://github.invalid/\\u202ex\n"
    assert [seen.method for seen in origin.requests] == ["GET", "GET", "PATCH"]
    assert all(seen.authorization == f"Bearer {TOKEN}" for seen in origin.requests)
    assert_token_stayed_home(other)


# the same over TLS -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and that certificate's file."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a loopback certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def sticky_then_updated(handler: BaseHTTPRequestHandler, other: Loopback) -> None:
    if handler.command == "PATCH":
        send_json(handler, 200, {**STICKY, "html_url": "https://github.invalid/c/41"})
    else:
        send_json(handler, 200, [STICKY])


def post_over_tls(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    context: ssl.SSLContext,
    respond: Callable[[BaseHTTPRequestHandler, Loopback], None],
    *extra: str,
) -> tuple[Outcome, Loopback]:
    with servers(respond, tls=context) as (origin, other):
        outcome = post(tmp_path, origin.url, capsys, monkeypatch, *extra)
    assert_token_stayed_home(other)
    return outcome, origin


def test_https_api_updates_the_sticky_comment(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    loopback_tls: tuple[ssl.SSLContext, Path],
) -> None:
    context, cert = loopback_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    outcome, origin = post_over_tls(tmp_path, capsys, monkeypatch, context, sticky_then_updated)
    assert outcome.code == 0, outcome.describe()
    assert outcome.stdout == f"comment updated on {REPO}#{PR}: https://github.invalid/c/41\n"
    assert [seen.method for seen in origin.requests] == ["GET", "PATCH"]


def test_https_api_with_an_untrusted_certificate_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    loopback_tls: tuple[ssl.SSLContext, Path],
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    outcome, origin = post_over_tls(tmp_path, capsys, monkeypatch, loopback_tls[0], sticky_then_updated)
    assert_refused(outcome, 1, "CERTIFICATE_VERIFY_FAILED")
    assert origin.requests == [], "no request (and no token) went over an unverified connection"


def test_https_api_dripping_its_body_is_cut_off_at_the_deadline(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    loopback_tls: tuple[ssl.SSLContext, Path],
) -> None:
    """Over TLS the watchdog must close the wrapped socket that urllib keeps reading after the headers."""
    context, cert = loopback_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    stop = threading.Event()
    try:
        outcome, _origin = post_over_tls(
            tmp_path, capsys, monkeypatch, context, lambda handler, other: drip_body(handler, stop), "--deadline", "1"
        )
    finally:
        stop.set()
    assert_refused(outcome, 1, "did not finish within the 1 s deadline")


def test_the_sticky_comment_is_ours_not_another_bots_and_the_workflows_say_whose() -> None:
    """Any app echoing user text could post the marker first; the workflows name github-actions[bot]."""
    from drumgate.github.sticky import DEFAULT_MARKER, find_sticky, marker_line

    body = marker_line(DEFAULT_MARKER) + "\nhello"
    other = {"id": 1, "body": body, "user": {"login": "echo-app[bot]", "type": "Bot"}}
    ours = {"id": 2, "body": body, "user": {"login": "github-actions[bot]", "type": "Bot"}}
    assert find_sticky([other, ours], DEFAULT_MARKER, "github-actions[bot]") == ours
    workflows = Path(__file__).resolve().parents[2] / ".github" / "workflows"
    for name in ("pr-comment.yml", "ingest.yml"):
        calls = (workflows / name).read_text(encoding="utf-8").split("drumgate comment ")[1:]
        assert calls and all("--author 'github-actions[bot]'" in call.split("--body-file")[0] for call in calls), name
