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
    # The two as stored (Fernet tokens): the inbox's conditional insert checks the row still holds them.
    secret_stored: str = ""
    previous_secret_stored: str = ""

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
    An active connection is remembered for `receiver_connection_remembered` (this process only).
    """
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        cursor.execute(_RECEIVER, [now, platform, token, token, now])
        row = cursor.fetchone()
    if row is None:
        _remembered.pop((platform, token), None)
        return None
    found = ReceiverConnection(
        pk=row[0],
        status=row[1],
        secret=_decrypted(row[2]) if row[2] else "",
        previous_secret=_decrypted(row[3]) if row[3] else "",
        secret_stored=row[2],
        previous_secret_stored=row[3],
    )
    if found.is_active:
        if len(_remembered) >= REMEMBERED_MAX:
            _remembered.clear()
        _remembered[(platform, token)] = found
    else:
        _remembered.pop((platform, token), None)
    return found


# Receiver URLs whose active connection this process has read: a busy shop's deliveries skip the lookup.
# Never trusted on their own: the one statement that stores a delivery re-checks, against the row, that
# the connection is still active, the URL's token still valid and the secret that signed still current
# (`connection_inbox.connection_payload_enqueue_if_current`), and anything else is read afresh. Cleared
# when full: a few hundred bytes each, and a process that serves more shops than this reads them again.
REMEMBERED_MAX = 4096
_remembered: dict[tuple[str, str], ReceiverConnection] = {}


def receiver_connection_remembered(*, platform: str, token: str) -> ReceiverConnection | None:
    """The connection this process last read for this URL, if it was active then; no query, maybe stale."""
    return _remembered.get((platform, token))


def receiver_connection_forget(*, platform: str, token: str) -> None:
    _remembered.pop((platform, token), None)


@lru_cache(maxsize=1024)
def _decrypted(ciphertext: str) -> str:
    # A Fernet token opens to the same text every time: each process decrypts a connection's secret once.
    return decrypt(ciphertext, what="checkouts.Connection.secret")
