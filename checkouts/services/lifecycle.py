"""An abandoned checkout's life: detected, refreshed, recovered, deleted or anonymised.

Each change writes its outbox events in its own transaction, and tells other apps through
`checkouts.hooks` inside that same transaction.
"""

import contextvars
import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from uuid import UUID

import orjson
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, models, transaction
from django.db.models import F, JSONField, Q, TextField, Value, prefetch_related_objects
from django.db.models.functions import Concat
from django.utils import timezone

from .. import hooks
from ..bulk import bulk_insert
from ..models import (
    AbandonedCheckout,
    Activity,
    Checkout,
    CheckoutData,
    RecoveryLinkVisit,
    Store,
    TimelineEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from ..search_text import search_text_for
from ..selectors import activities_latest, latest_activities_prefetch
from ..wix import abandoned_checkout_to_wix
from .outbox import webhook_event_build, webhook_events_record
from .wire import WIRE_DROPPED, abandoned_checkout_wire_save, abandoned_checkouts_wire_refresh

logger = logging.getLogger(__name__)

_SNAPSHOT = CheckoutData.SNAPSHOT_FIELDS
# What replaces a buyer's words where a row must keep some text.
ERASED_REPR = "(erased)"


def abandoned_checkouts_detect(
    *, now: datetime | None = None, batch_size: int | None = None, threads: int | None = None
) -> int:
    """Turn every checkout idle past its store's `abandon_after` into an abandoned checkout.

    Set-based and batched: each batch claims its checkouts with FOR UPDATE SKIP LOCKED, so
    two sweeps running at once split the work instead of doing it twice, and the unique
    constraint on `AbandonedCheckout.checkout` would refuse a duplicate regardless.
    Returns how many abandoned checkouts were created.

    On PostgreSQL, once a first batch comes back full, the rest run in `threads` threads
    (COMEBACK_SWEEP_THREADS), each with a connection and transactions of its own: while one
    thread waits for the database to write its batch, another builds the next in Python, so
    a burst keeps both the worker and its database busy. A minute with a few due checkouts
    opens no connection. A caller inside a transaction gets the whole sweep in that
    transaction, in its own thread: other connections could not see what it has not committed.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.COMEBACK_SWEEP_BATCH_SIZE
    threads = max(1, threads or settings.COMEBACK_SWEEP_THREADS)
    if threads == 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _detect_batches(now=now, batch_size=batch_size)
    created = _detect_batch(now=now, batch_size=batch_size)
    if created < batch_size:
        return created
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sweep") as pool:
        # Each thread runs in a copy of this context, so its log lines name the task (config/logs.py).
        running = [
            pool.submit(contextvars.copy_context().run, _detect_batches_in_thread, now=now, batch_size=batch_size)
            for _ in range(threads)
        ]
        return created + sum(future.result() for future in running)


def _detect_batches(*, now: datetime, batch_size: int) -> int:
    created = 0
    while True:
        batch = _detect_batch(now=now, batch_size=batch_size)
        created += batch
        if batch < batch_size:
            return created


def _detect_batches_in_thread(*, now: datetime, batch_size: int) -> int:
    try:
        return _detect_batches(now=now, batch_size=batch_size)
    finally:
        # The connections this thread opened; the pool's threads end with the sweep.
        connections.close_all()


def _detect_batch(*, now: datetime, batch_size: int) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A sweep batch lost in a database crash is simply redone: its checkouts are
            # still due. So its commit need not wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        rows = _claim(now=now, batch_size=batch_size)
        if not rows:
            return 0
        stores = Store.objects.in_bulk({row["store_id"] for row in rows})
        abandoned = [_abandoned_from_checkout(row, now=now, store=stores[row["store_id"]]) for row in rows]
        # The receivers run before the rows are written (they are still `adding`), so what they
        # add to them — the SCHEDULED activity's denormalised fields — goes out in the same
        # INSERT. Their own rows point at these ids; the foreign keys are checked at commit.
        hooks.abandoned_checkouts_created.send(sender=AbandonedCheckout, abandoned_checkouts=abandoned)
        bulk_insert(AbandonedCheckout, abandoned)
        for ac in abandoned:
            ac._state.adding = False
        webhook_events_record(
            [
                webhook_event_build(abandoned_checkout=ac, slug=WebhookEvent.Type.CREATED, sequence=1, store=ac.store)
                for ac in abandoned
            ]
        )
    logger.info("Marked %d checkouts abandoned", len(abandoned))
    return len(abandoned)


_CLAIMED = ("id", "store_id", "external_id", *_SNAPSHOT)
_AC_FIELDS = [field.attname for field in AbandonedCheckout._meta.concrete_fields]


def _claim(*, now: datetime, batch_size: int) -> list[dict]:
    """Take up to `batch_size` due checkouts and mark them abandoned; return their columns.

    On PostgreSQL one statement claims (SKIP LOCKED: a concurrent sweep takes the next rows
    instead of waiting for these), marks and returns them. Elsewhere (SQLite) the IMMEDIATE
    transaction already serialises sweeps.
    """
    if connection.vendor != "postgresql":
        ids = list(
            Checkout.objects.filter(abandon_due_at__lte=now)
            .order_by("abandon_due_at")
            .values_list("id", flat=True)[:batch_size]
        )
        rows = list(Checkout.objects.filter(pk__in=ids).values(*_CLAIMED))
        Checkout.objects.filter(pk__in=ids).update(abandoned_at=now, abandon_due_at=None)
        return rows
    quote = connection.ops.quote_name
    table = quote(Checkout._meta.db_table)
    columns = ", ".join(f"checkout.{quote(Checkout._meta.get_field(name).column)}" for name in _CLAIMED)
    sql = f"""
        UPDATE {table} AS checkout SET abandoned_at = %(now)s, abandon_due_at = NULL
        FROM (
            SELECT id FROM {table} WHERE abandon_due_at <= %(now)s
            ORDER BY abandon_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        ) AS due
        WHERE checkout.id = due.id
        RETURNING {columns}
    """  # noqa: S608 - identifiers come from the models, values are parameters  # nosec B608
    # JSON columns arrive as text; orjson parses them several times faster than Django's json.loads.
    json_columns = [isinstance(Checkout._meta.get_field(name), JSONField) for name in _CLAIMED]
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "limit": batch_size})
        return [
            {
                name: orjson.loads(value) if is_json and isinstance(value, str) else value
                for name, is_json, value in zip(_CLAIMED, json_columns, row, strict=True)
            }
            for row in cursor.fetchall()
        ]


def _abandoned_from_checkout(row: dict, *, now: datetime, store: Store) -> AbandonedCheckout:
    values = {
        **row,
        "id": uuid.uuid4(),
        "checkout_id": row["id"],
        "checkout_external_id": row["external_id"],
        "status": AbandonedCheckout.Status.ABANDONED,
        "created_at": now,
        "updated_at": now,
        "checkout_recovered_at": None,
        "recovered_order_id": "",
        "link_clicks": 0,
        "last_clicked_at": None,
        "last_activity_type": "",
        "last_activity_at": None,
        "event_sequence": 1,
        "wire": None,  # until its JSON is stored: readers build it meanwhile
        "wire_stamp": "",
    }
    # Positional construction is Django's fast path (no per-field keyword lookups).
    ac = AbandonedCheckout(*(values[name] for name in _AC_FIELDS))
    ac.store = store
    ac.latest_activities = []
    return ac


def abandoned_checkout_refresh(*, checkout: Checkout) -> bool:
    """Copy a changed checkout onto its still-abandoned abandoned checkout (an `updated` event)."""
    return abandoned_checkouts_refresh(checkouts=[checkout]) == 1


def abandoned_checkouts_refresh(*, checkouts: list[Checkout]) -> int:
    """Copy changed checkouts onto their still-abandoned abandoned checkouts, one `updated` event each.

    Set-based, for an ingest batch: one query locks the rows (in id order, so two batches
    never wait on each other in a circle), one writes them, one reads their latest
    activities, and the outbox takes the events in one go. Returns how many were refreshed.
    """
    by_id = {checkout.pk: checkout for checkout in checkouts}
    if not by_id:
        return 0
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            AbandonedCheckout.objects.select_for_update(of=("self",))
            .select_related("store")
            .filter(checkout_id__in=by_id, status=AbandonedCheckout.Status.ABANDONED)
            .order_by("pk")
        )
        if not rows:
            return 0
        for ac in rows:
            for name, value in by_id[ac.checkout_id].snapshot().items():
                setattr(ac, name, value)
            ac.updated_at = now
            ac.event_sequence += 1
        AbandonedCheckout.objects.bulk_update(rows, [*_SNAPSHOT, "updated_at", "event_sequence"])
        prefetch_related_objects(rows, latest_activities_prefetch())
        webhook_events_record(
            [
                webhook_event_build(
                    abandoned_checkout=ac,
                    slug=WebhookEvent.Type.UPDATED,
                    sequence=ac.event_sequence,
                    activities=ac.latest_activities,
                )
                for ac in rows
            ]
        )
        # Stored while this transaction still holds the checkouts (the ingest's locks): see WIRE_DROPPED.
        abandoned_checkouts_wire_refresh([ac.pk for ac in rows])
    return len(rows)


def abandoned_checkout_recover(
    *, abandoned_checkout_id: UUID, order_id: str = "", recovered_at: datetime | None = None
) -> bool:
    """Mark an abandoned checkout RECOVERED. Exactly one concurrent caller wins (returns True).

    The conditional UPDATE is the compare-and-set: only the caller whose UPDATE changed the
    row writes the `recovered` and `updated` events and tells the automations to stop.
    """
    now = timezone.now()
    with transaction.atomic():
        won = AbandonedCheckout.objects.filter(
            pk=abandoned_checkout_id, status=AbandonedCheckout.Status.ABANDONED
        ).update(
            status=AbandonedCheckout.Status.RECOVERED,
            checkout_recovered_at=recovered_at or now,
            recovered_order_id=order_id,
            updated_at=now,
            event_sequence=F("event_sequence") + 2,
            **WIRE_DROPPED,
            # The order id joins the searchable text, so the merchant finds the checkout by it.
            **(
                {
                    "search_text": Concat(
                        F("search_text"), Value(search_text_for(order_id=order_id)), output_field=TextField()
                    )
                }
                if order_id
                else {}
            ),
        )
        if not won:
            return False
        # The UPDATE holds the row lock until commit, so this read is the row we just wrote.
        ac = AbandonedCheckout.objects.select_related("store").get(pk=abandoned_checkout_id)
        if ac.checkout_recovered_at < ac.created_at:
            # The order happened before the sweep noticed; the recovery is no earlier than the abandonment.
            ac.checkout_recovered_at = ac.created_at
            AbandonedCheckout.objects.filter(pk=ac.pk).update(checkout_recovered_at=ac.created_at)
        hooks.abandoned_checkout_recovered.send(sender=AbandonedCheckout, abandoned_checkout=ac)
        activities = activities_latest(abandoned_checkout_id=ac.pk)
        entity = abandoned_checkout_to_wix(ac, activities, store=ac.store)
        webhook_events_record(
            [
                webhook_event_build(
                    abandoned_checkout=ac,
                    slug=WebhookEvent.Type.RECOVERED,
                    sequence=ac.event_sequence - 1,
                    entity=entity,
                ),
                webhook_event_build(
                    abandoned_checkout=ac, slug=WebhookEvent.Type.UPDATED, sequence=ac.event_sequence, entity=entity
                ),
            ]
        )
    logger.info("Abandoned checkout %s recovered (order %s)", abandoned_checkout_id, order_id or "-")
    return True


def abandoned_checkouts_recover_for_order(*, store: Store, checkout: Checkout) -> list[UUID]:
    """Recover what a completed checkout recovers under the store's recovery rule."""
    return abandoned_checkouts_recover_for_orders(store=store, checkouts=[checkout])[checkout.pk]


def abandoned_checkouts_recover_for_orders(*, store: Store, checkouts: list[Checkout]) -> dict[int, list[UUID]]:
    """Recover what each completed checkout recovers, in order: {checkout id: recovered ids}.

    One query finds every candidate of the batch; each is then recovered through the
    compare-and-set of `abandoned_checkout_recover`, by the first completion that matches it
    (an abandoned checkout the same buyer left twice is recovered once, by the earlier order).
    """
    any_order = store.recovery_rule == Store.RecoveryRule.ANY_ORDER_WITHIN_DAYS
    window = timedelta(days=store.recovery_window_days)
    match = Q(checkout__in=[checkout.pk for checkout in checkouts])
    for checkout in checkouts:
        if any_order and checkout.email_key:
            start = checkout.completed_at - window
            match |= Q(email_key=checkout.email_key, created_at__gte=start, created_at__lte=checkout.completed_at)
    candidates = list(
        AbandonedCheckout.objects.filter(match, store=store, status=AbandonedCheckout.Status.ABANDONED).values_list(
            "pk", "checkout_id", "email_key", "created_at"
        )
    )
    recovered: dict[int, list[UUID]] = {checkout.pk: [] for checkout in checkouts}
    taken: set[UUID] = set()
    for checkout in checkouts:
        start = checkout.completed_at - window
        for pk, checkout_id, email_key, created_at in candidates:
            if pk in taken:
                continue
            same_buyer = any_order and checkout.email_key == email_key and start <= created_at <= checkout.completed_at
            if checkout_id != checkout.pk and not (checkout.email_key and same_buyer):
                continue
            taken.add(pk)
            if abandoned_checkout_recover(
                abandoned_checkout_id=pk, order_id=checkout.order_id, recovered_at=checkout.completed_at
            ):
                recovered[checkout.pk].append(pk)
    return recovered


def _locked(*, abandoned_checkout_id: UUID, store: Store | None) -> AbandonedCheckout | None:
    """The row under a lock (in the caller's transaction), or None if gone or another store's.

    `store=None` reaches every store's rows: only the admin, which scopes by itself, passes it.
    """
    queryset = AbandonedCheckout.objects.select_for_update().select_related("store")
    if store is not None:
        queryset = queryset.for_store(store)
    return queryset.filter(pk=abandoned_checkout_id).first()


def abandoned_checkout_delete(*, abandoned_checkout_id: UUID, store: Store | None) -> bool:
    """Delete one abandoned checkout and write its `deleted` event. False if it was already gone."""
    with transaction.atomic():
        ac = _locked(abandoned_checkout_id=abandoned_checkout_id, store=store)
        if ac is None:
            return False
        event = webhook_event_build(
            abandoned_checkout=ac,
            slug=WebhookEvent.Type.DELETED,
            sequence=ac.event_sequence + 1,
            activities=activities_latest(abandoned_checkout_id=ac.pk),
        )
        hooks.abandoned_checkouts_deleting.send(sender=AbandonedCheckout, abandoned_checkout_ids=[ac.pk])
        ac.delete()
        webhook_events_record([event])
    return True


def abandoned_checkouts_delete(*, store: Store, ids: Iterable[UUID]) -> dict[UUID, bool]:
    """Delete several, each in its own transaction: one missing id does not stop the rest."""
    return {pk: abandoned_checkout_delete(abandoned_checkout_id=pk, store=store) for pk in ids}


def abandoned_checkout_anonymise(
    *, abandoned_checkout_id: UUID, store: Store | None, actor: AbstractBaseUser | None = None
) -> bool:
    """Erase the buyer from one abandoned checkout: the row, its checkout, its activities and
    every outbox payload that carried it. The row itself stays, so the merchant's figures hold.
    """
    with transaction.atomic():
        ac = _locked(abandoned_checkout_id=abandoned_checkout_id, store=store)
        if ac is None:
            return False
        abandoned_checkout_anonymise_locked(abandoned_checkout=ac, actor=actor)
    return True


def abandoned_checkout_anonymise_locked(
    *,
    abandoned_checkout: AbandonedCheckout,
    now: datetime | None = None,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> Counter:
    """The anonymise itself, on a row the caller holds locked. Returns the rows touched per kind.

    Receivers of `abandoned_checkout_anonymising` (the automations) erase their own rows and
    may return a `{kind: count}` dict, which is added in. The checkout's timeline records who
    did it (a member's name, never the buyer's).
    """
    ac = abandoned_checkout
    now = now or timezone.now()
    TimelineEvent.objects.create(
        store_id=ac.store_id,
        abandoned_checkout=ac,
        kind=TimelineEvent.Kind.ANONYMISED,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or (actor.get_username() if actor is not None and actor.pk else ""),
        created_at=now,
    )
    counts: Counter = Counter(abandonedCheckouts=1)
    blank = CheckoutData.PERSONAL_FIELDS
    for _, response in hooks.abandoned_checkout_anonymising.send(sender=AbandonedCheckout, abandoned_checkout=ac):
        if isinstance(response, dict):
            counts.update(response)
    for name, value in blank.items():
        setattr(ac, name, value)
    ac.storefront_checkout_url = ""
    ac.updated_at = now
    ac.event_sequence += 1
    AbandonedCheckout.objects.filter(pk=ac.pk).update(
        **blank, storefront_checkout_url="", updated_at=now, event_sequence=ac.event_sequence
    )
    if ac.checkout_id:
        counts["checkouts"] += Checkout.objects.filter(pk=ac.checkout_id).update(
            **blank, storefront_checkout_url="", abandon_due_at=None
        )
    counts["activities"] += Activity.objects.filter(abandoned_checkout=ac).update(detail={})
    # Hashes of the buyer's address and browser: pseudonymous, so they go too.
    counts["recoveryLinkVisits"] += RecoveryLinkVisit.objects.filter(abandoned_checkout=ac).delete()[0]
    counts["adminLogEntries"] += admin_log_erase(model=AbandonedCheckout, ids=[ac.pk])
    activities = activities_latest(abandoned_checkout_id=ac.pk)
    entity = abandoned_checkout_to_wix(ac, activities, store=ac.store)
    counts["webhookEvents"] += _outbox_payloads_replace_entity(entity_id=ac.pk, entity=entity)
    # A receiver may echo the body back: its response excerpt can hold the buyer too.
    counts["webhookDeliveries"] += (
        WebhookDelivery.objects.filter(entity_id=ac.pk)
        .exclude(last_response="", last_error="")
        .update(last_response="", last_error="")
    )
    counts["webhookAttempts"] += (
        WebhookAttempt.objects.filter(delivery__entity_id=ac.pk)
        .exclude(response="", error="")
        .update(response="", error="")
    )
    webhook_events_record(
        [
            webhook_event_build(
                abandoned_checkout=ac,
                slug=WebhookEvent.Type.UPDATED,
                sequence=ac.event_sequence,
                entity=entity,
                anonymize=True,
            )
        ]
    )
    abandoned_checkout_wire_save(abandoned_checkout=ac, entity=entity)
    return counts


def admin_log_erase(*, model: type[models.Model], ids: list) -> int:
    """Blank the admin log's text for these rows: its `object_repr` is the row's str(), which may name the buyer."""
    if not ids:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    return (
        LogEntry.objects.filter(content_type=content_type, object_id__in=[str(pk) for pk in ids])
        .exclude(object_repr=ERASED_REPR)
        .update(object_repr=ERASED_REPR, change_message="")
    )


def _outbox_payloads_replace_entity(*, entity_id: UUID, entity: dict) -> int:
    """Swap the buyer's data out of every stored event about this entity. Returns how many."""
    events = 0
    for event in WebhookEvent.objects.filter(entity_id=entity_id).only("id", "payload"):
        payload = event.payload
        for outer, inner in (
            ("createdEvent", "entity"),
            ("updatedEvent", "currentEntity"),
            ("deletedEvent", "deletedEntity"),
        ):
            if outer in payload:
                payload[outer][inner] = entity
        if "actionEvent" in payload:
            payload["actionEvent"]["body"]["abandonedCheckout"] = entity
        events += WebhookEvent.objects.filter(pk=event.pk).update(payload=payload)
    return events


def abandoned_checkout_click_record(*, abandoned_checkout_id: UUID, store_id: UUID) -> bool:
    """Count a click on a still-abandoned checkout's recovery link. False if there is none.

    A conditional UPDATE with F() + 1: concurrent clicks all count, and a recovered or
    deleted checkout is left alone. It changes no Wix field, so no event is written.
    """
    return bool(
        AbandonedCheckout.objects.filter(
            pk=abandoned_checkout_id, store_id=store_id, status=AbandonedCheckout.Status.ABANDONED
        ).update(link_clicks=F("link_clicks") + 1, last_clicked_at=timezone.now())
    )
