"""Connections: what every connector shares between receiving a delivery and the ingest service."""

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import signature
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.wakeups import wake_up_publish

from ..connectors import connector_for
from ..models import Connection, ConnectionReceipt, Store
from ..models.connections import SECRET_GRACE, TOKEN_GRACE
from .ingest import IngestResult, checkout_events_ingest


def connection_receipt_record(*, connection: Connection, delivery_id: str, topic: str = "") -> bool:
    """Remember a platform's delivery id; False if it was seen before (a replay: do nothing)."""
    try:
        with transaction.atomic():
            ConnectionReceipt.objects.create(connection=connection, delivery_id=delivery_id[:200], topic=topic[:100])
    except IntegrityError:
        return False
    return True


def connection_events_ingest(*, connection: Connection, events: list[dict[str, Any]]) -> list[IngestResult]:
    """Hand a connector's checkout events to the one ingest service, and note the outcome on the connection."""
    results = checkout_events_ingest(store=connection.store, events=events)
    failed = [result for result in results if not result.success]
    if failed:
        connection_error_record(connection=connection, message=failed[0].description or "An event was refused.")
    connection_event_note(connection=connection)
    return results


# "Last event" is shown to the minute: a busy connection writes it at most this often, so a burst of
# deliveries does not queue on the one connection row.
LAST_EVENT_RESOLUTION = timedelta(seconds=5)


def connection_event_note(*, connection: Connection) -> None:
    """Note that a delivery arrived, for the status line; skipped if one was noted a moment ago."""
    now = timezone.now()
    Connection.objects.filter(
        Q(last_event_at__isnull=True) | Q(last_event_at__lt=now - LAST_EVENT_RESOLUTION), pk=connection.pk
    ).update(last_event_at=now)


def connection_error_record(*, connection: Connection, message: str) -> None:
    """Note a failure in plain words (a bad signature, an unreachable API) for the connection's status."""
    Connection.objects.filter(pk=connection.pk).update(last_error=message[:2000], last_error_at=timezone.now())


def connection_create(
    *,
    store: Store,
    platform: str,
    name: str = "",
    settings: dict[str, Any] | None = None,
    secret: str = "",
    secondary_secret: str = "",
    public_key: str = "",
) -> Connection:
    """Add a connection; its token (webhook URLs, publishable key) is drawn here, once."""
    return Connection.objects.create(
        store=store,
        platform=platform,
        name=name,
        settings=settings or {},
        secret=secret,
        secondary_secret=secondary_secret,
        public_key=public_key,
    )


def connection_update(
    *, connection: Connection, name: str, settings: dict[str, Any], credentials: dict[str, str]
) -> list[str]:
    """Change a connection's name and settings, and replace the credentials given; which ones were replaced.

    Settings keys the form does not show (kept by the platform's code) stay as they are. A Shopify client
    secret replaced is kept as `previous_secret` for SECRET_GRACE: Shopify may sign with the old one for up
    to an hour after a rotation, and those deliveries are still good. Only the last replaced one is kept.
    """
    connector = connector_for(connection.platform)
    shown = {*connector.settings_fields, *connector.flag_fields}
    merged = {key: value for key, value in connection.settings.items() if key not in shown} | settings
    replaced = [key for key, value in credentials.items() if value and value != getattr(connection, key)]
    changes: dict[str, Any] = {"name": name, "settings": merged, **{key: credentials[key] for key in replaced}}
    now = timezone.now()
    if "secret" in replaced and connection.secret and connection.platform == Connection.Platform.SHOPIFY:
        changes |= {"previous_secret": connection.secret, "previous_secret_until": now + SECRET_GRACE}
    Connection.objects.filter(pk=connection.pk).update(**changes, updated_at=now)
    for key, value in changes.items():
        setattr(connection, key, value)
    return replaced


def connection_status_set(*, connection: Connection, status: str) -> bool:
    """Pause or resume; False if it already was (a double click changes nothing)."""
    changed = (
        Connection.objects.filter(pk=connection.pk)
        .exclude(status=status)
        .update(status=status, updated_at=timezone.now())
    )
    connection.status = status
    return bool(changed)


def connection_token_rotate(*, connection: Connection, immediately: bool = False) -> None:
    """Give the connection new receiver URLs (and publishable key); the old ones work TOKEN_GRACE longer, or not at all.

    The grace lets the merchant paste the new URL into the platform's admin without losing a delivery in
    between; `immediately` is for a URL that must stop now (a leaked publishable key being abused).
    Only the last rotated-out token is kept: rotating again ends the older one's grace.
    """
    now = timezone.now()
    previous, until = ("", None) if immediately else (connection.token, now + TOKEN_GRACE)
    token = secrets.token_urlsafe(32)
    Connection.objects.filter(pk=connection.pk).update(
        token=token, previous_token=previous, previous_token_until=until, updated_at=now
    )
    connection.token, connection.previous_token, connection.previous_token_until = token, previous, until


def connection_delete(*, connection: Connection) -> None:
    """Remove a connection: its URLs and key stop working at once. The checkouts it brought stay."""
    Connection.objects.filter(pk=connection.pk).delete()


def connection_test_send(*, connection: Connection) -> list[IngestResult]:
    """Ingest what the platform would send for a test checkout, as a delivery of this connection."""
    events = connector_for(connection.platform).test_events(connection)
    connection_receipt_record(connection=connection, delivery_id=f"test-{uuid.uuid4()}", topic="test")
    return connection_events_ingest(connection=connection, events=events)


# By name: the task module imports these services, so this module cannot import it.
BACKFILL_TASK = "checkouts.connection_backfill"


def connection_backfill_start(*, connection: Connection) -> bool:
    """Queue a pull of the platform's past checkouts; False if this platform has none."""
    if connector_for(connection.platform).backfill is None:
        return False
    connection_id = str(connection.pk)
    transaction.on_commit(lambda: wake_up_publish(signature(BACKFILL_TASK), connection_id))
    return True


def connection_backfill_run(*, connection_id: str) -> int:
    """Pull the platform's past checkouts into ingest; how many checkouts came. Quiet if gone or paused."""
    connection = Connection.objects.active().filter(pk=connection_id).select_related("store").first()
    if connection is None:
        return 0
    backfill = connector_for(connection.platform).backfill
    if backfill is None:
        return 0
    try:
        return backfill(connection)
    except BackfillError as exc:
        connection_error_record(connection=connection, message=str(exc))
        return 0


class BackfillError(Exception):
    """A pull the platform refused or could not answer, in words for the connection's status."""


def connection_watermark_set(*, connection: Connection, watermark: str) -> None:
    """Move a pull's watermark forward only: a slower, older run never takes it back."""
    Connection.objects.filter(pk=connection.pk, watermark__lt=watermark).update(watermark=watermark[:200])
    connection.watermark = max(connection.watermark, watermark)


def connection_credentials_retire(*, now: datetime | None = None) -> int:
    """Blank the replaced signing secrets and receiver tokens whose grace has ended; how many were blanked.

    Past its grace a replaced credential verifies nothing, so it is not kept (encrypted or not) until the
    next replacement happens to overwrite it. The update is conditional on the grace's end: a rotation
    committed meanwhile sets a new end and keeps its own.
    """
    now = now or timezone.now()
    secrets_ = Connection.objects.filter(previous_secret_until__lte=now).update(
        previous_secret="", previous_secret_until=None
    )
    tokens = Connection.objects.filter(previous_token_until__lte=now).update(
        previous_token="", previous_token_until=None
    )
    return secrets_ + tokens


# Old receipts are deleted a few thousand at a time so no statement holds locks long.
PRUNE_BATCH = 5000


def connection_receipts_prune() -> int:
    """Forget delivery ids older than the ingest de-duplication window (a platform retries for hours, not days)."""
    cutoff = timezone.now() - timedelta(days=settings.COMEBACK_INGEST_DEDUP_DAYS)
    deleted = 0
    while True:
        # A receipt still holding events waits for the drain, however old: its events are not lost.
        old = ConnectionReceipt.objects.filter(received_at__lt=cutoff, events__isnull=True, payload__isnull=True)
        ids = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += ConnectionReceipt.objects.filter(pk__in=ids).delete()[0]
