from dataclasses import dataclass


class NotificationError(Exception):
    """The message could not be handed over; the caller may retry it later."""


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str
    # Sent along where the transport supports it, so a retried message is not delivered twice.
    idempotency_key: str = ""


class BaseBackend:
    def send(self, message: TextMessage) -> None:
        """Hand one message over, or raise NotificationError."""
        raise NotImplementedError
