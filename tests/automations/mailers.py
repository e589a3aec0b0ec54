"""Mail for the tests: Django's in-memory backend noting when each send began, and a real SMTP sink."""

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.mail.backends import locmem

# idempotency key → time.monotonic() when the send began
send_started: dict[str, float] = {}


class TimedLocmemBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            send_started[message.extra_headers["X-Comeback-Idempotency-Key"]] = time.monotonic()
        return super().send_messages(messages)


class SmtpSink(socketserver.StreamRequestHandler):
    """Just enough of an SMTP server for Django's SMTP backend: accepts and keeps every message."""

    messages: list[bytes] = []

    def handle(self) -> None:
        self.reply("220 sink")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.reply("354 go on")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                SmtpSink.messages.append(body)
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


@contextmanager
def smtp_sink() -> Iterator[tuple[int, list[bytes]]]:
    """A real SMTP server on a free loopback port, for as long as the block runs: (port, messages)."""
    SmtpSink.messages = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpSink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], SmtpSink.messages
    finally:
        server.shutdown()
        server.server_close()
