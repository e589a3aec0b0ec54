"""One HTTP POST of a webhook, to the address the SSRF guard checked and nowhere else.

The connection is opened to the checked IP, with the URL's host name for TLS (SNI and
certificate check) and in the Host header, so a DNS answer that changes after the check
cannot redirect the request. Redirects are never followed (a 3xx is a failed attempt),
the whole attempt has a hard 15 s deadline, and at most 64 KB of the answer is read.
"""

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error

from .signing import SignedRequest
from .ssrf import Resolver, Target, UnsafeURL, check_url

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt produced: a status code (and a little of the answer), or an error."""

    status: int | None = None
    excerpt: str = ""
    retry_after: str | None = None
    error: str = ""
    refused: bool = False  # the SSRF guard refused the address: nothing was sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Connections:
    """Open connections kept between the attempts of one group, keyed by the checked address.

    A connection is reused only for the same scheme, host, port and the address the guard
    has just approved again, so reuse never bypasses the per-attempt check.
    """

    def __init__(self):
        self._open: dict[tuple, HTTPConnection] = {}

    def take(self, target: Target) -> HTTPConnection | None:
        return self._open.pop(_key(target), None)

    def keep(self, target: Target, connection: HTTPConnection) -> None:
        previous = self._open.pop(_key(target), None)
        if previous is not None:
            previous.close()
        self._open[_key(target)] = connection

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _key(target: Target) -> tuple:
    return (target.scheme, target.host, target.port, target.address)


def post(
    url: str, request: SignedRequest, *, resolver: Resolver | None = None, connections: Connections | None = None
) -> AttemptResult:
    """POST `request` to `url`, re-checking the address first. Never raises for network trouble."""
    started = time.monotonic()
    try:
        target = check_url(url, resolver=resolver)
    except UnsafeURL as exc:
        return AttemptResult(error=f"Refused: {exc}", refused=True)
    reused = connections.take(target) if connections is not None else None
    if reused is not None:
        outcome, keep = _exchange(target, request, reused, started)
        if outcome.status is None and time.monotonic() - started < 1:
            # The server had closed the idle connection: try once on a fresh one.
            reused.close()
            reused = None
    if reused is None:
        remaining = TOTAL_TIMEOUT - (time.monotonic() - started)
        if remaining <= 0:
            return AttemptResult(error="Timed out resolving the host.")
        fresh = _connection(target, timeout=min(CONNECT_TIMEOUT, remaining))
        outcome, keep = _exchange(target, request, fresh, started)
        reused = fresh
    if keep and connections is not None:
        connections.keep(target, reused)
    else:
        reused.close()
    return outcome


def _connection(target: Target, *, timeout: float) -> HTTPConnection:
    if target.scheme == "https":
        return HTTPSConnection(
            target.address, target.port, timeout=timeout, server_hostname=target.host, assert_hostname=target.host
        )
    return HTTPConnection(target.address, target.port, timeout=timeout)


def _exchange(
    target: Target, request: SignedRequest, connection: HTTPConnection, started: float
) -> tuple[AttemptResult, bool]:
    """One request and response on `connection`; (outcome, whether the connection may be reused)."""
    remaining = TOTAL_TIMEOUT - (time.monotonic() - started)
    # A watchdog closes the socket at the deadline, so a server that drips its answer one
    # byte at a time cannot hold the worker longer than the total timeout.
    watchdog = threading.Timer(remaining, _shut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if connection.sock is None:
            connection.connect()
        connection.sock.settimeout(max(0.1, TOTAL_TIMEOUT - (time.monotonic() - started)))
        headers = {**request.headers, "host": target.host_header, "content-length": str(len(request.body))}
        connection.request(
            "POST", target.path, body=request.body, headers=headers, preload_content=False, decode_content=False
        )
        response = connection.getresponse()
        body, complete = _read_capped(response)
        outcome = AttemptResult(
            status=response.status,
            excerpt=body[:EXCERPT_BYTES].decode("utf-8", "replace"),
            retry_after=response.headers.get("retry-after"),
        )
        keep = complete and response.version == 11 and response.headers.get("connection", "").lower() != "close"
        return outcome, keep
    except (OSError, Urllib3Error, ValueError) as exc:
        if time.monotonic() - started >= TOTAL_TIMEOUT - 0.05:
            return AttemptResult(error=f"Timed out after {TOTAL_TIMEOUT:.0f} s."), False
        return AttemptResult(error=f"{type(exc).__name__}: {exc}"[:500]), False
    finally:
        watchdog.cancel()


def _read_capped(response) -> tuple[bytes, bool]:
    """At most 64 KB of the body, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_RESPONSE_BYTES:
        chunk = response.read(min(16384, MAX_RESPONSE_BYTES + 1 - size))
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_RESPONSE_BYTES], False


def _shut(connection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
