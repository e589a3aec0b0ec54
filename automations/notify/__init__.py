"""Text messages to buyers through a pluggable backend, chosen by a setting like Django's email backends.

`COMEBACK_NOTIFICATIONS = {"BACKEND": "automations.notify.backends.http.Backend", "OPTIONS": {...}}`
"""

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseBackend, NotificationError, TextMessage

__all__ = ["BaseBackend", "NotificationError", "TextMessage", "backend"]


@lru_cache(maxsize=1)
def _backend_class(path: str) -> type[BaseBackend]:
    return import_string(path)


def backend() -> BaseBackend:
    config = settings.COMEBACK_NOTIFICATIONS
    return _backend_class(config["BACKEND"])(**config.get("OPTIONS", {}))
