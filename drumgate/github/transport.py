"""The HTTP the GitHub client stands on: one pinned origin, no redirects, one deadline.

The token stays home. Every request goes to the origin (scheme, host, port) of `GITHUB_API_URL`,
which must be https (plain http only on a loopback address, for test servers). No redirect is ever
followed: the opener has no redirect handler, so a 3xx, on a read or a write, surfaces as an error,
the `Authorization` header cannot travel anywhere else and a write is never replayed as a GET. The
whole exchange runs under one `Deadline`, enforced by a watchdog that closes the socket (so a
server dripping bytes cannot hold the job); proxies still work through `ProxyHandler`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.render.textsafe import log_text

SERVER_TEXT_CHARS = 200
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


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


def opener(deadline: Deadline) -> urllib.request.OpenerDirector:
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
