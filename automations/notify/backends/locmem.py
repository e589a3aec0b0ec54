from ..base import BaseBackend, TextMessage

# Like django.core.mail.outbox: tests read what would have been sent.
outbox: list[TextMessage] = []


class Backend(BaseBackend):
    def send(self, message: TextMessage) -> None:
        outbox.append(message)
