import json
from pathlib import Path

from django.utils import timezone

from ..base import BaseBackend, NotificationError, TextMessage


class Backend(BaseBackend):
    """Writes one JSON file per message under `file_path`: the embedded default (var/notifications/)."""

    def __init__(self, file_path: str):
        self.path = Path(file_path)

    def send(self, message: TextMessage) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            name = f"{timezone.now():%Y%m%d-%H%M%S-%f}-{message.idempotency_key or 'message'}.json"
            body = {"to": message.to, "body": message.body, "idempotencyKey": message.idempotency_key}
            (self.path / name).write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise NotificationError(f"Could not write {self.path}: {exc}") from exc
