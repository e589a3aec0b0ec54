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
from .ssrf import Resolver, UnsafeURL, check_url

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: a status code (and a little of the answer), or an error."""

    status: int | None = None
    excerpt: str = ""
    retry_after: str | None = None
    error: str = ""
    refused: bool = False  # the SSRF guard refused the address: nothing was sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, request: SignedRequest, *, resolver: Resolver | None = None) -> Outcome:
    """POST `request` to `url`, re-checking the address first. Never raises for network trouble."""
    started = time.monotonic()
    try:
        target = check_url(url, resolver=resolver)
    except UnsafeURL as exc:
        return Outcome(error=f"Refused: {exc}", refused=True)
    remaining = TOTAL_TIMEOUT - (time.monotonic() - started)
    if remaining <= 0:
        return Outcome(error="Timed out resolving the host.")
    connection_class = HTTPSConnection if target.scheme == "https" else HTTPConnection
    options = {"server_hostname": target.host, "assert_hostname": target.host} if target.scheme == "https" else {}
    connection = connection_class(target.address, target.port, timeout=min(CONNECT_TIMEOUT, remaining), **options)
    # A watchdog closes the socket at the deadline, so a server that drips its answer one
    # byte at a time cannot hold the worker longer than the total timeout.
    watchdog = threading.Timer(remaining, _shut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.sock.settimeout(max(0.1, TOTAL_TIMEOUT - (time.monotonic() - started)))
        headers = {**request.headers, "host": target.host_header, "content-length": str(len(request.body))}
        connection.request(
            "POST", target.path, body=request.body, headers=headers, preload_content=False, decode_content=False
        )
        response = connection.getresponse()
        body = _read_capped(response)
        return Outcome(
            status=response.status,
            excerpt=body[:EXCERPT_BYTES].decode("utf-8", "replace"),
            retry_after=response.headers.get("retry-after"),
        )
    except (OSError, Urllib3Error, ValueError) as exc:
        if time.monotonic() - started >= TOTAL_TIMEOUT - 0.05:
            return Outcome(error=f"Timed out after {TOTAL_TIMEOUT:.0f} s.")
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        watchdog.cancel()
        connection.close()


def _read_capped(response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        chunk = response.read(min(16384, MAX_RESPONSE_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _shut(connection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
