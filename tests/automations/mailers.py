"""Mail for the tests: Django's in-memory backend noting when each send began, and a real SMTP sink."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.mail.backends import locmem

from tests.smtp import SmtpSink

# idempotency key → time.monotonic() when the send began
send_started: dict[str, float] = {}


class TimedLocmemBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            send_started[message.extra_headers["X-Comeback-Idempotency-Key"]] = time.monotonic()
        return super().send_messages(messages)


@contextmanager
def smtp_mailer(settings) -> Iterator[list[bytes]]:
    """Django's SMTP backend sending to a real SMTP server on a free loopback port, for as long
    as the block runs: the messages it accepted, as received."""
    with SmtpSink() as sink:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 5},
            }
        }
        yield sink.messages
