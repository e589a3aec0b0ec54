"""The webhook inbox: a verified delivery is stored in one insert and answered; a worker ingests it in batches.

A receiver checks the signature and the body's shape, then writes the delivery's receipt in one
statement (`ON CONFLICT DO NOTHING` on the delivery id, so a replay changes nothing) and wakes the
drain after the commit: with its checkout events already mapped (`connection_delivery_enqueue`:
Saleor, comeback.js) or with its body as it came (`connection_payload_enqueue`: Shopify and Wix,
whose receivers only check it, so a burst costs the web workers as little as possible). The drain
claims pending receipts with `FOR UPDATE SKIP LOCKED`, maps stored bodies, hands each store's events
to the one ingest service in one batch (a Wix delivery on its own, with its abandonment moment),
notes the outcome on the connections and clears the rows. Rows stay pending until
that commits: a worker that dies loses nothing, and the beat's tick picks the work up again.
"""

import json
import time
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db import connection as db
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.wakeups import wake_up_publish

from ..connectors.mapping import Malformed
from ..models import Checkout, Connection, ConnectionReceipt
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


_INSERT_PAYLOAD = """
    INSERT INTO checkouts_connectionreceipt (connection_id, delivery_id, topic, received_at, ok, payload)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (connection_id, delivery_id) DO NOTHING
    RETURNING id
"""


def connection_payload_enqueue(*, connection: Any, delivery_id: str, topic: str, payload: str | None) -> bool:
    """Store a verified, checked delivery's body for the drain to map, in one insert; False for a replay.

    The webhook receivers' fast path: no model instance, no JSON encoding (the body is stored as it
    came), one round trip. `connection` is a Connection or the receivers' lighter `ReceiverConnection`
    (its pk as the database gave it). `payload` None stores only the receipt (a delivery that means no event).
    """
    pk = connection.pk
    if isinstance(pk, uuid.UUID) and not db.features.has_native_uuid_field:
        pk = pk.hex  # as UUIDField stores it on SQLite
    params = [pk, delivery_id[:200], topic[:100], db.ops.adapt_datetimefield_value(timezone.now()), True]
    with db.cursor() as cursor:
        cursor.execute(_INSERT_PAYLOAD, [*params, payload])
        inserted = cursor.fetchone() is not None
    if inserted and payload is not None:
        transaction.on_commit(_wake)
    elif inserted:
        connection_event_note(connection=connection)
    return inserted


# connection_payload_enqueue, for a connection this process remembers: the row is re-checked in the same
# statement (still active, the URL's token still valid, the secret that signed still current or in its
# grace), so a pause, a removal or a rotation since takes effect at once; NULL for a secret that did not
# sign never matches.
_INSERT_PAYLOAD_IF_CURRENT = """
    INSERT INTO checkouts_connectionreceipt (connection_id, delivery_id, topic, received_at, ok, payload)
    SELECT id, %s, %s, %s, %s, %s FROM checkouts_connection
    WHERE id = %s AND status = %s
        AND (token = %s OR (previous_token = %s AND previous_token_until > %s))
        AND (secret = %s OR (previous_secret = %s AND previous_secret_until > %s))
    ON CONFLICT (connection_id, delivery_id) DO NOTHING
    RETURNING id
"""


def connection_payload_enqueue_if_current(
    *, connection: Any, token: str, signed_by: list[bool], delivery_id: str, topic: str, payload: str
) -> bool:
    """Store a delivery's body as `connection_payload_enqueue` does, if the connection is still as remembered.

    `connection` is a remembered `ReceiverConnection`, `token` the URL's and `signed_by` which of its
    secrets (current, replaced) verified the signature. False if nothing was stored: a replay, or the
    connection changed (paused, removed, rotated); the receiver then reads it afresh and decides.
    """
    database = connections[DEFAULT_DB_ALIAS]  # once: each `db.` goes through a context-local lookup
    now = database.ops.adapt_datetimefield_value(timezone.now())
    signed_current = signed_by[0]
    signed_previous = len(signed_by) > 1 and signed_by[1]
    params = [
        *(delivery_id[:200], topic[:100], now, True, payload),
        connection.pk,
        Connection.Status.ACTIVE,
        *(token, token, now),
        connection.secret_stored if signed_current else None,
        connection.previous_secret_stored if signed_previous else None,
        now,
    ]
    inserted = _fetchone(database, _INSERT_PAYLOAD_IF_CURRENT, params) is not None
    if inserted:
        database.on_commit(_wake)
    return inserted


def _fetchone(database: Any, sql: str, params: list[Any]) -> tuple | None:
    """One statement's first row, through the Django connection (its health check, errors and transaction).

    On PostgreSQL its parameters are bound server-side (config/postgresql/base.py): a webhook's whole body
    is not quoted in Python (~0.1 ms for 15 kB) nor parsed as a literal, and the insert is prepared after
    its fifth run on a connection (PostgreSQL's CPU per 10-item delivery 0.29-0.38 to 0.18-0.19 ms),
    unless DATABASE_PREPARED_STATEMENTS is off for a pooler that cannot keep them.
    """
    cursor = database.server_binding_cursor() if database.vendor == "postgresql" else database.cursor()
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


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
    """Claim up to `size` pending deliveries others are not draining, map and ingest them, clear them; how many."""
    pending = Q(events__isnull=False) | Q(payload__isnull=False)
    with transaction.atomic():
        rows = list(
            ConnectionReceipt.objects.filter(pending)
            .select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "connection_id", "topic", "delivery_id", "events", "payload")[:size]
        )
        if not rows:
            return 0
        connections = Connection.objects.select_related("store").in_bulk({row[1] for row in rows})
        by_connection: dict[Any, list[tuple]] = defaultdict(list)
        for row in rows:
            by_connection[row[1]].append(row)
        refused: dict[int, str] = {}
        errors: dict[Connection, str] = {}
        for connection_id, deliveries in by_connection.items():
            connection = connections[connection_id]
            if connection.platform == Connection.Platform.WIX:
                failed = _wix_apply(connection=connection, deliveries=deliveries)
            else:
                failed = _ingest(connection=connection, deliveries=deliveries)
            if failed:
                refused |= failed
                topic, message = next((row[2], failed[row[0]]) for row in deliveries if row[0] in failed)
                errors[connection] = f"A {topic or 'delivery'} was refused: {message}"
        ConnectionReceipt.objects.filter(pk__in=[row[0] for row in rows]).update(events=None, payload=None)
        if refused:
            ConnectionReceipt.objects.filter(pk__in=list(refused)).update(ok=False)
    # After the commit: the connection rows are never held locked while checkouts are written.
    for connection, message in errors.items():
        connection_error_record(connection=connection, message=message)
    for connection_id in by_connection:
        connection_event_note(connection=connections[connection_id])
    return len(rows)


def _events(connection: Connection, topic: str, delivery_id: str, events: Any, payload: str | None) -> list:
    """A delivery's checkout events: stored mapped (`events`), or mapped now from its body (`payload`)."""
    if payload is None:
        return events
    # Imported here: the connectors import the services (their setup and test-send use them).
    from ..connectors import shopify

    if connection.platform == Connection.Platform.SHOPIFY:
        return shopify.events_for(
            topic=topic,
            payload=json.loads(payload),
            webhook_id=delivery_id,
            checkout_for_cart=lambda cart: checkout_token_for_cart(store=connection.store, cart_id=cart),
        )
    raise Malformed("payload", f"No mapping for a stored {connection.platform} body.")


def checkout_token_for_cart(*, store: Any, cart_id: str) -> str:
    """The external id of the store's one open checkout with this cart id; "" if there is none, or several.

    For a Shopify order that names its cart but not its checkout (connectors.md §2.5: match on
    `checkout_token`, then `cart_token`). Every checkout started from one cart shares its token, so
    with several open ones the order could belong to any: completing the newest would be a guess that
    can mark the wrong checkout recovered (and credit it the order) while the buyer's real one stays
    open, so none is completed and the order is only acknowledged. A completed checkout is not a
    candidate: it already has its order.
    """
    ids = list(
        Checkout.objects.filter(store=store, cart_id=cart_id, completed_at__isnull=True).values_list(
            "external_id", flat=True
        )[:2]
    )
    return ids[0] if len(ids) == 1 else ""


def _ingest(*, connection: Connection, deliveries: list[tuple]) -> dict[int, str]:
    """One ingest batch for a connection's deliveries, in arrival order: {receipt id: why} for refused ones."""
    events: list[dict[str, Any]] = []
    owners: list[int] = []
    failed: dict[int, str] = {}
    for receipt_id, _connection_id, topic, delivery_id, stored, payload in deliveries:
        try:
            delivery_events = _events(connection, topic, delivery_id, stored, payload)
        except (Malformed, ValueError) as exc:
            # The request checked the body (`shopify.delivery_check`), so this is a mapping the check missed.
            failed[receipt_id] = str(exc)
            continue
        events += delivery_events
        owners += [receipt_id] * len(delivery_events)
    results = checkout_events_ingest(store=connection.store, events=events) if events else []
    for owner, result in zip(owners, results, strict=True):
        if not result.success:
            failed.setdefault(owner, result.description or "Refused.")
    return failed


def _wix_apply(*, connection: Connection, deliveries: list[tuple]) -> dict[int, str]:
    """Wix deliveries one at a time, each all or nothing (its snapshots, Wix's abandonment moment, completions).

    Wix's are few (one per checkout change, not per line item) and each carries moments and an activity
    log that apply after its snapshot, so they are not merged into one batch as Shopify's are.
    """
    from ..connectors.wix.webhooks import BadPayload, wix_delivery_stored
    from .wix_connections import EventsRefused, wix_events_apply

    failed: dict[int, str] = {}
    for receipt_id, _connection_id, _topic, _delivery_id, _stored, payload in deliveries:
        try:
            delivery = wix_delivery_stored(payload or "", store=connection.store)
            with transaction.atomic():
                wix_events_apply(
                    connection=connection,
                    events=delivery.events,
                    abandoned=delivery.abandoned,
                    activities=delivery.activities,
                    note=False,
                )
        except (BadPayload, EventsRefused) as exc:
            failed[receipt_id] = str(exc)
    return failed
