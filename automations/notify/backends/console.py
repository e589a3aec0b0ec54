import sys

from ..base import BaseBackend, TextMessage


class Backend(BaseBackend):
    """Prints each message, for development."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: TextMessage) -> None:
        self.stream.write(f"To: {message.to}\nKey: {message.idempotency_key}\n\n{message.body}\n{'-' * 40}\n")
        self.stream.flush()
