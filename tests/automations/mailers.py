"""Mail backends for the race tests: Django's in-memory backend, noting when each send began."""

import time

from django.core.mail.backends import locmem

# idempotency key → time.monotonic() when the send began
send_started: dict[str, float] = {}


class TimedLocmemBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            send_started[message.extra_headers["X-Comeback-Idempotency-Key"]] = time.monotonic()
        return super().send_messages(messages)
