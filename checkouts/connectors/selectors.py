"""Reads for the connection pages (a store's connections and their status) and for the webhook receivers."""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.db import connection as db
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..encryption import decrypt
from ..models import Connection, Store


def connections_with_status(*, store: Store) -> QuerySet[Connection]:
    """The store's connections, each with `events_24h`: deliveries received in the last 24 hours (one query)."""
    since = timezone.now() - timedelta(hours=24)
    return Connection.objects.for_store(store).annotate(
        events_24h=Count("receipts", filter=Q(receipts__received_at__gte=since))
    )


@dataclass(frozen=True, slots=True)
class ReceiverConnection:
    """What a webhook receiver needs of its connection: read in one plain query, no model instance built."""

    pk: Any  # as the database gives it (a UUID; its hex on SQLite), which the inbox's insert takes back
    status: str
    secret: str
    previous_secret: str  # "" unless a replaced secret is still in its grace (SECRET_GRACE)

    @property
    def secrets(self) -> list[str]:
        """The secrets a delivery's signature may verify with: the current one, and the replaced one in grace."""
        return [self.secret, self.previous_secret] if self.previous_secret else [self.secret]

    @property
    def is_active(self) -> bool:
        return self.status == Connection.Status.ACTIVE


# Connection.objects.for_token, as one statement: the current token, or the rotated-out one in its grace;
# with the current secret and the replaced one while it is in its grace (else "").
_RECEIVER = """
    SELECT id, status, secret, CASE WHEN previous_secret_until > %s THEN previous_secret ELSE '' END
    FROM checkouts_connection
    WHERE platform = %s AND (token = %s OR (previous_token = %s AND previous_token_until > %s))
"""


def receiver_connection(*, platform: str, token: str) -> ReceiverConnection | None:
    """The connection a receiver URL names, with its secrets decrypted; None if no such URL (or its grace ended).

    The ORM's `get` with the model's converters cost ~1 ms of a webhook's ~3 ms; this costs ~0.1 ms.
    """
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        cursor.execute(_RECEIVER, [now, platform, token, token, now])
        row = cursor.fetchone()
    if row is None:
        return None
    return ReceiverConnection(
        pk=row[0],
        status=row[1],
        secret=_decrypted(row[2]) if row[2] else "",
        previous_secret=_decrypted(row[3]) if row[3] else "",
    )


@lru_cache(maxsize=1024)
def _decrypted(ciphertext: str) -> str:
    # A Fernet token opens to the same text every time: each process decrypts a connection's secret once.
    return decrypt(ciphertext, what="checkouts.Connection.secret")
