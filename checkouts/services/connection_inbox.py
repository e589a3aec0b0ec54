"""The webhook inbox: a verified delivery is stored in one insert and answered; a worker ingests it in batches.

A receiver checks the signature and the body's shape, then `connection_delivery_enqueue` writes the
delivery's receipt with its checkout events in one statement (`ON CONFLICT DO NOTHING` on the
delivery id, so a replay changes nothing) and wakes the drain after the commit. The drain claims
pending receipts with `FOR UPDATE SKIP LOCKED`, hands each store's events to the one ingest service
in one batch, notes the outcome on the connections and clears the events. Rows stay pending until
that commits: a worker that dies loses nothing, and the beat's tick picks the work up again.
"""

import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection as db
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.wakeups import wake_up_publish

from ..models import Connection, ConnectionReceipt
from .connections import connection_error_record, connection_event_note
from .ingest import checkout_events_ingest

# By name: the task module imports these services, so this module cannot import it.
DRAIN_TASK = "checkouts.connection_inbox_drain"
# Deliveries ingested per transaction: a few hundred checkouts (up to 100 line items each) keep one
# ingest batch's statements and memory small, and the claimed rows' locks short.
DRAIN_BATCH = 200


class DeliveryMalformed(ValueError):
    """A delivery whose events the ingest service would refuse: 400 naming `field`, nothing stored."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_email = EmailValidator()


def delivery_events_check(*, events: list[dict[str, Any]]) -> None:
    """Check what a platform's mapping leaves to ingest: the time and the buyer's email; DeliveryMalformed if bad.

    The mappings already read every field strictly (`connectors.mapping`), so the events they make
    are of the ingest API's shape. Running ingest's full validation here as well would cost more than
    the rest of the request (its nested serializers take ~10 ms for 100 line items), and the drain
    runs it anyway: an event it refuses there becomes the connection's last error.
    """
    for event in events:
        occurred = event.get("occurredAt")
        if not isinstance(occurred, str) or _datetime(occurred) is None:
            raise DeliveryMalformed("occurredAt", "Expected an ISO 8601 date and time.")
        email = (event.get("checkout", {}).get("buyerInfo") or {}).get("email")
        if email:
            try:
                _email(email)
            except ValidationError:
                raise DeliveryMalformed("checkout.buyerInfo.email", "Enter a valid email address.") from None


def _datetime(value: str) -> datetime | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return parsed


# ConnectionReceipt's table; an insert that says whether it inserted, which the ORM's
# bulk_create(ignore_conflicts=True) does not.
_INSERT = """
    INSERT INTO checkouts_connectionreceipt (connection_id, delivery_id, topic, received_at, ok, events)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (connection_id, delivery_id) DO NOTHING
    RETURNING id
"""


def connection_delivery_enqueue(
    *, connection: Connection, delivery_id: str, topic: str, events: list[dict[str, Any]]
) -> bool:
    """Store a verified delivery for the drain, in one insert; False for a replay (its delivery id was seen).

    A delivery that means no event (a topic that changes nothing) is only a receipt.
    """
    delivery_events_check(events=events)
    values = {
        "connection": connection.pk,
        "delivery_id": delivery_id[:200],
        "topic": topic[:100],
        "received_at": timezone.now(),
        "ok": True,
        "events": events or None,
    }
    # Each value as its field stores it on this database (a UUID, a datetime, JSON).
    params = [ConnectionReceipt._meta.get_field(name).get_db_prep_save(value, db) for name, value in values.items()]
    with db.cursor() as cursor:
        cursor.execute(_INSERT, params)
        inserted = cursor.fetchone() is not None
    if inserted and events:
        transaction.on_commit(_wake)
    elif inserted:
        connection_event_note(connection=connection)
    return inserted


_last_wake = -float("inf")


def _wake() -> None:
    """Wake the drain, at most once per COMEBACK_INBOX_WAKE_SECONDS per process: it drains until empty.

    A burst would otherwise publish a message per delivery; a delivery whose wake-up was skipped is
    taken by the drain already running, by the next wake-up, or by the beat's tick.
    """
    global _last_wake
    now = time.monotonic()
    if now - _last_wake < settings.COMEBACK_INBOX_WAKE_SECONDS:
        return
    _last_wake = now
    wake_up_publish(DRAIN_TASK)


def connection_inbox_drain(*, batches: int | None = None) -> int:
    """Ingest pending deliveries, a batch at a time, until none is left (or `batches` ran); how many."""
    drained = 0
    while batches is None or batches > 0:
        count = connection_inbox_drain_batch()
        if not count:
            break
        drained += count
        batches = None if batches is None else batches - 1
    return drained


def connection_inbox_drain_batch(*, size: int = DRAIN_BATCH) -> int:
    """Claim up to `size` pending deliveries others are not draining, ingest them, clear them; how many."""
    with transaction.atomic():
        rows = list(
            ConnectionReceipt.objects.filter(events__isnull=False)
            .select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "connection_id", "topic", "events")[:size]
        )
        if not rows:
            return 0
        connections = Connection.objects.select_related("store").in_bulk({row[1] for row in rows})
        by_connection: dict[Any, list[tuple[int, str, list]]] = defaultdict(list)
        for receipt_id, connection_id, topic, events in rows:
            by_connection[connection_id].append((receipt_id, topic, events))
        refused: list[int] = []
        errors: dict[Connection, str] = {}
        for connection_id, deliveries in by_connection.items():
            failed = _ingest(connection=connections[connection_id], deliveries=deliveries)
            if failed:
                refused += failed
                topic, message = next((topic, failed[rid]) for rid, topic, _ in deliveries if rid in failed)
                errors[connections[connection_id]] = f"A {topic or 'delivery'} was refused: {message}"
        ConnectionReceipt.objects.filter(pk__in=[row[0] for row in rows]).update(events=None)
        if refused:
            ConnectionReceipt.objects.filter(pk__in=refused).update(ok=False)
    # After the commit: the connection rows are never held locked while checkouts are written.
    for connection, message in errors.items():
        connection_error_record(connection=connection, message=message)
    for connection_id in by_connection:
        connection_event_note(connection=connections[connection_id])
    return len(rows)


def _ingest(*, connection: Connection, deliveries: list[tuple[int, str, list]]) -> dict[int, str]:
    """One ingest batch for a connection's deliveries, in arrival order: {receipt id: why} for refused ones."""
    events: list[dict[str, Any]] = []
    owners: list[int] = []
    for receipt_id, _topic, delivery_events in deliveries:
        events += delivery_events
        owners += [receipt_id] * len(delivery_events)
    results = checkout_events_ingest(store=connection.store, events=events)
    failed: dict[int, str] = {}
    for owner, result in zip(owners, results, strict=True):
        if not result.success:
            failed.setdefault(owner, result.description or "Refused.")
    return failed
