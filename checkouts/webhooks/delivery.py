"""The queue side of webhook delivery: fan-out to endpoints, wake-ups, claims and leases.

The database is the schedule. A delivery row is created with its event (same transaction);
a Celery message only wakes a worker up. A worker claims the row with a conditional UPDATE
that also hands it a lease token; only the token's holder may record the outcome, so a
claim that outlives its lease (a worker killed mid-attempt) is simply claimed again by the
sweeper, and a stale or duplicated message does nothing.

Ordering rule, per endpoint and checkout: a delivery is not claimed while an earlier event
of the same checkout for the same endpoint is still open (pending or in flight) and has
not yet failed an attempt. So a healthy endpoint gets a checkout's events in
`entityEventSequence` order, while one failing event holds the later ones back only until
its first attempt fails; after that they go, and the receiver drops whatever arrives stale
by comparing `entityEventSequence`.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from config.wakeups import wake_up_publish

from ..inserts import insert_rows
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent

State = WebhookDelivery.State

# Up to this many new deliveries get one wake-up message each; a bigger batch (the sweep's)
# gets one dispatch message, so a commit never publishes thousands of messages.
NUDGE_EACH_UP_TO = 20
# The tasks woken up, by name: the tasks module imports this one (through attempts.py).
SEND_TASK = "checkouts.webhooks.tasks.webhook_delivery_send_task"
DISPATCH_TASK = "checkouts.webhooks.tasks.webhook_deliveries_dispatch_task"


def lease() -> timedelta:
    return timedelta(seconds=settings.COMEBACK_WEBHOOK_LEASE_SECONDS)


# --- Fan-out (inside the transaction that wrote the events) ----------------------------------


class EventRow(NamedTuple):
    """An outbox row as inserted, where a model instance per event would cost too much (the sweep)."""

    id: uuid.UUID
    store_id: uuid.UUID
    type: str
    entity_id: uuid.UUID
    sequence: int
    payload: dict
    created_at: datetime


DELIVERY_COLUMNS = ["endpoint_id", "event_id", "entity_id", "sequence", "event_type", "next_attempt_at", "created_at"]


def webhook_deliveries_create(*, events: Sequence[WebhookEvent | EventRow]) -> int:
    """One delivery per event and subscribed active endpoint: one query, one bulk insert. Returns how many."""
    store_ids = {event.store_id for event in events}
    endpoints_by_store: dict = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(store_id__in=store_ids, active=True).only(
        "id", "store_id", "event_types"
    ):
        endpoints_by_store[endpoint.store_id].append(endpoint)
    if not endpoints_by_store:
        return 0
    rows = [
        (endpoint.id, event.id, event.entity_id, event.sequence, event.type, event.created_at, event.created_at)
        for event in events
        for endpoint in endpoints_by_store.get(event.store_id, ())
        if endpoint.wants(event.type)
    ]
    if len(rows) > NUDGE_EACH_UP_TO:
        insert_rows(WebhookDelivery, DELIVERY_COLUMNS, rows)
        transaction.on_commit(wake_dispatcher)
    elif rows:
        created = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(**dict(zip(DELIVERY_COLUMNS, row, strict=True))) for row in rows]
        )
        ids = [delivery.pk for delivery in created]
        transaction.on_commit(lambda: nudge(ids))
    return len(rows)


def nudge(delivery_ids: Iterable[int]) -> None:
    """Wake workers up for these deliveries. A lost message only delays: the sweeper finds the row."""
    ids = list(delivery_ids)
    if len(ids) > NUDGE_EACH_UP_TO:
        wake_dispatcher()
        return
    for delivery_id in ids:
        if not wake_up_publish(SEND_TASK, delivery_id):
            return  # the broker is down: the rows are durable, the next sweep picks them up


def wake_dispatcher() -> None:
    """One message that makes a worker claim and queue every due delivery, in batches."""
    wake_up_publish(DISPATCH_TASK)  # if the broker is down, the beat sweep runs it


@contextmanager
def bookkeeping_commits():
    """On PostgreSQL, the claim, start and outcome writes of deliveries do not wait for the WAL flush.

    These rows only track sending, and sending is at-least-once: if the database crashed
    and lost the last fraction of a second of them, a delivery would be re-claimed after its
    lease and sent again, which receivers must tolerate anyway (they dedupe on webhook-id).
    Waiting for a flush per write made the disk, not the receiver, set the pace. Events and
    deliveries themselves are created by the business transaction, which stays synchronous.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


# --- Claims --------------------------------------------------------------------------------


def _earlier_unsettled() -> Exists:
    """An earlier event of the same checkout for the same endpoint, open and never yet failed."""
    return Exists(
        WebhookDelivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"),
            entity_id=OuterRef("entity_id"),
            sequence__lt=OuterRef("sequence"),
            state__in=WebhookDelivery.OPEN_STATES,
            last_attempt_at__isnull=True,
        )
    )


def _due(now: datetime):
    return WebhookDelivery.objects.filter(state__in=WebhookDelivery.OPEN_STATES, next_attempt_at__lte=now).filter(
        ~_earlier_unsettled()
    )


def webhook_deliveries_claim_due(*, limit: int, now: datetime | None = None) -> list[tuple[int, uuid.UUID]]:
    """Claim up to `limit` due deliveries (new, retrying, or with an expired lease) for sending.

    FOR UPDATE SKIP LOCKED lets several sweepers run at once without claiming a row twice.
    Returns (delivery id, lease token) pairs to put on the queue, grouped by endpoint so a
    slow endpoint holds up only the batches of its own deliveries.
    """
    now = now or timezone.now()
    with bookkeeping_commits(), transaction.atomic():
        rows = list(
            _due(now)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("id", "endpoint_id")[:limit]
        )
        rows.sort(key=lambda row: str(row[1]))
        # One token for the whole batch: a claim is (row, token), and a later re-claim of any
        # of these rows gets a new token, which is all the fencing needs.
        token = uuid.uuid4()
        WebhookDelivery.objects.filter(pk__in=[delivery_id for delivery_id, _ in rows]).update(
            state=State.DELIVERING, lease_token=token, next_attempt_at=now + lease()
        )
    return [(delivery_id, token) for delivery_id, _ in rows]


def webhook_deliveries_release(*, claims: list[tuple[int, uuid.UUID]]) -> int:
    """Hand back claims that were never started, so the next dispatcher run can take them at once."""
    released = 0
    for delivery_id, token in claims:
        released += WebhookDelivery.objects.filter(pk=delivery_id, state=State.DELIVERING, lease_token=token).update(
            state=State.PENDING, lease_token=None, next_attempt_at=timezone.now()
        )
    return released


def webhook_delivery_start(*, delivery_id: int, lease_token: uuid.UUID | None, now: datetime) -> uuid.UUID | None:
    """Begin an attempt: take (or confirm) the claim and count the attempt. None if not ours to send."""
    expires = now + lease()
    if lease_token is not None:
        started = WebhookDelivery.objects.filter(pk=delivery_id, state=State.DELIVERING, lease_token=lease_token)
        token = lease_token
    else:
        started = _due(now).filter(pk=delivery_id, state=State.PENDING)
        token = uuid.uuid4()
    count = started.update(
        state=State.DELIVERING, lease_token=token, next_attempt_at=expires, attempts=F("attempts") + 1
    )
    return token if count else None
