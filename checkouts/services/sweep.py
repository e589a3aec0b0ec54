"""The sweep: every checkout idle past its store's `abandon_after` becomes an abandoned checkout.

Each batch, in one transaction: claim the due checkouts, let other apps (the automations,
through `checkouts.hooks`) log what they do about the new rows, write the rows, their
`created` outbox events and deliveries.
"""

import contextvars
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from operator import attrgetter

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import JSONField
from django.db.models.fetch_modes import FetchMode
from django.utils import timezone

from .. import hooks
from ..inserts import array_literal, instances_from_rows, instances_insert, int_array, json_text, uuid_array
from ..models import AbandonedCheckout, Activity, Checkout, CheckoutData, Store, WebhookEndpoint, WebhookEvent
from ..webhooks.delivery import EventRow, webhook_deliveries_create
from .created_sql import created_events_ctes
from .outbox import created_events_record

logger = logging.getLogger(__name__)

_SNAPSHOT = CheckoutData.SNAPSHOT_FIELDS
_AC_FIELDS = [field.attname for field in AbandonedCheckout._meta.concrete_fields]


def abandoned_checkouts_detect(
    *, now: datetime | None = None, batch_size: int | None = None, threads: int | None = None
) -> int:
    """Turn every checkout idle past its store's `abandon_after` into an abandoned checkout.

    Set-based and batched: each batch claims its checkouts with FOR UPDATE SKIP LOCKED, so
    two sweeps running at once split the work instead of doing it twice, and the unique
    constraint on `AbandonedCheckout.checkout` would refuse a duplicate regardless.
    Returns how many abandoned checkouts were created.

    On PostgreSQL, once a first claim comes back full, the sweep runs in `threads` threads
    (COMEBACK_SWEEP_THREADS): the caller's, and others each with a connection and transactions
    of their own, started as soon as that claim is in, so they take the next batches while the
    first is being written. While one thread waits for the database to write its batch, another
    builds the next in Python, so a burst keeps both the worker and its database busy. A minute
    with a few due checkouts opens no connection. A caller inside a transaction gets the whole
    sweep in that transaction, in its own thread: other connections could not see what it has
    not committed.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.COMEBACK_SWEEP_BATCH_SIZE
    threads = max(1, threads or settings.COMEBACK_SWEEP_THREADS)
    if threads == 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _detect_batches(now=now, batch_size=batch_size)
    # The pool starts its threads, and they their connections, only when work is submitted.
    with ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="sweep") as pool:
        running = []

        def burst(claimed: int) -> None:
            if claimed == batch_size:
                # Each thread runs in a copy of this context, so its log lines name the task
                # (config/logs.py). Their claims skip the rows this thread's claim has locked.
                running.extend(
                    pool.submit(
                        contextvars.copy_context().run, _detect_batches_in_thread, now=now, batch_size=batch_size
                    )
                    for _ in range(threads - 1)
                )

        created = _detect_batch(now=now, batch_size=batch_size, claimed=burst)
        if created == batch_size:
            created += _detect_batches(now=now, batch_size=batch_size)
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


def _detect_batch(*, now: datetime, batch_size: int, claimed: Callable[[int], None] | None = None) -> int:
    with transaction.atomic():
        abandoned = _claim(now=now, batch_size=batch_size)
        if claimed is not None:
            claimed(len(abandoned))
        if not abandoned:
            return 0
        abandoned_checkouts_write(abandoned)
        _snapshot_release(abandoned)
    logger.info("Marked %d checkouts abandoned", len(abandoned))
    return len(abandoned)


def _snapshot_release(abandoned: Sequence[AbandonedCheckout]) -> None:
    # The batch's fetch mode holds its instances, and each instance its fetch mode: let the
    # cycle go without waiting for the garbage collector.
    mode = abandoned[0]._state.fetch_mode
    if isinstance(mode, SnapshotFromCheckouts):
        mode.instances = []


def abandoned_checkouts_write(
    abandoned: Sequence[AbandonedCheckout], *, notify: Sequence[AbandonedCheckout] | None = None
) -> None:
    """Write new abandoned checkouts (unsaved, from `abandoned_checkouts_from` or the claim)
    with their `created` events, after telling the apps (`hooks.abandoned_checkouts_created`)
    about `notify` (default: all of them).

    The contract with the receivers: the rows are not written yet, so a receiver writes only
    rows of its own (their foreign keys to these ids are checked at commit) and returns the
    activities it logged, which the rows and their events then carry.
    """
    stores = Store.objects.in_bulk({ac.store_id for ac in abandoned})
    cache_store = AbandonedCheckout.store.field.set_cached_value
    for ac in abandoned:
        cache_store(ac, stores[ac.store_id])
        ac.latest_activities = []
    told = abandoned if notify is None else notify
    if told:
        responses = hooks.abandoned_checkouts_created.send(sender=AbandonedCheckout, abandoned_checkouts=told)
        _activities_apply(abandoned, [activity for _, logged in responses for activity in logged or ()])
    # On PostgreSQL the statement that writes the rows writes their events too (created_sql.py),
    # but for the few rows only Python renders exactly.
    if unrendered := _abandoned_insert(abandoned, stores=stores):
        created_events_record(unrendered, stores=stores)


def abandoned_checkouts_from(claimed: Sequence[Sequence], *, moments: Sequence[datetime]) -> list[AbandonedCheckout]:
    """Unsaved abandoned checkouts of claimed checkouts (rows of `CLAIMED_COLUMNS`), each
    abandoned at its moment: the sweep's own rows, for a caller that claimed them itself."""
    rows = []
    for row, moment in zip(claimed, moments, strict=True):
        values = {**_new_values(moment), **dict(zip(_FROM_CHECKOUT, row, strict=True)), "id": uuid.uuid4()}
        rows.append([values[name] for name in _AC_FIELDS])
    return instances_from_rows(AbandonedCheckout, _AC_FIELDS, rows)


def _claim(*, now: datetime, batch_size: int) -> list[AbandonedCheckout]:
    """Take up to `batch_size` due checkouts, mark them abandoned, and return their unsaved
    abandoned checkouts.

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
        claimed = list(Checkout.objects.filter(pk__in=ids).values_list(*CLAIMED_COLUMNS))
        Checkout.objects.filter(pk__in=ids).update(abandoned_at=now, abandon_due_at=None)
        return abandoned_checkouts_from(claimed, moments=[now] * len(claimed))
    quote = connection.ops.quote_name
    table = quote(Checkout._meta.db_table)
    # Only what the new rows copy comes back, and of that only what is read in Python (the
    # values they start with are the batch's own; the rest is loaded if a receiver reads it).
    columns = ", ".join(
        f"checkout.{quote(Checkout._meta.get_field(_FROM_CHECKOUT[name]).column)}" for name in _CLAIMED_FIELDS[1:]
    )
    sql = f"""
        UPDATE {table} AS checkout SET abandoned_at = %(now)s, abandon_due_at = NULL
        FROM (
            SELECT id FROM {table} WHERE abandon_due_at <= %(now)s
            ORDER BY abandon_due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        ) AS due,
        -- A sweep batch lost in a database crash is simply redone: its checkouts are still due.
        -- So its commit need not wait for the WAL flush (set here: one round trip fewer).
        (SELECT set_config('synchronous_commit', 'off', true)) AS setting
        WHERE checkout.id = due.id
        RETURNING gen_random_uuid(), {columns}
    """  # noqa: S608 - identifiers come from the models, values are parameters  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "limit": batch_size})
        rows = cursor.fetchall()
    snapshot = SnapshotFromCheckouts()
    snapshot.instances = instances_from_rows(
        AbandonedCheckout,
        _CLAIMED_FIELDS,
        rows,
        shared=_new_values(now),
        deferred=_CLAIM_DEFERRED,
        fetch_mode=snapshot,
    )
    return snapshot.instances


class SnapshotFromCheckouts(FetchMode):
    """The fetch mode of the claim's instances: the snapshot columns the claim leaves out
    (`_CLAIM_DEFERRED`) are read, the first time any of them is, for every instance of the
    batch, from the checkouts they are copied from.

    Those checkouts hold the same values as the rows written: the claim's UPDATE has them
    locked until the batch commits, and the INSERT copies them in the same transaction. Most
    batches never read them: the sweep's statement copies them inside the database, and the
    default automation's conditions read none of them. Parsing every row's line items and
    discounts into Python objects was a fifth of the sweep's Python time.
    """

    __slots__ = ("instances",)

    def __init__(self) -> None:
        self.instances: list[AbandonedCheckout] = []

    def fetch(self, fetcher, instance: AbandonedCheckout) -> None:
        # The batch, while it is being written (`_detect_batch` lets it go after); then this one.
        batch = self.instances if any(ac is instance for ac in self.instances) else [instance]
        by_checkout = {
            row[0]: row[1:]
            for row in Checkout._base_manager.filter(pk__in=[ac.checkout_id for ac in batch]).values_list(
                "id", *(_FROM_CHECKOUT[name] for name in _CLAIM_DEFERRED)
            )
        }
        for ac in batch:
            values = ac.__dict__
            # A value a receiver has set on an instance stays.
            for name, value in zip(_CLAIM_DEFERRED, by_checkout[ac.checkout_id], strict=True):
                values.setdefault(name, value)


# The columns a new abandoned checkout copies from its checkout; the others it starts with.
_FROM_CHECKOUT = {
    **{name: name for name in _SNAPSHOT},
    "store_id": "store_id",
    "checkout_id": "id",
    "checkout_external_id": "external_id",
}
# Copied from the checkout by the statement that writes the rows, with the snapshot.
_COPIED = ("store_id", "checkout_external_id")
# What a caller claiming checkouts itself reads of them, for `abandoned_checkouts_from`.
CLAIMED_COLUMNS = tuple(_FROM_CHECKOUT.values())
# The snapshot columns the sweep's claim returns: those the sweep reads (the currencies, for
# the money layouts) and the automations' conditions read but for the line items. The others
# are read only if a receiver asks (`SnapshotFromCheckouts`).
_CLAIM_READ = ("buyer_email", "email_key", "phone", "currency", "conversion_currency", "total", "buyer_country")
_CLAIM_DEFERRED = tuple(name for name in _SNAPSHOT if name not in _CLAIM_READ)
# What the sweep's claim returns of each new row: its id, then what it copies from its checkout.
_CLAIMED_FIELDS = ["id", *(name for name in _FROM_CHECKOUT if name not in _CLAIM_DEFERRED)]


def _new_values(now: datetime) -> dict:
    return {
        "status": AbandonedCheckout.Status.ABANDONED,
        "created_at": now,
        "updated_at": now,
        "checkout_recovered_at": None,
        "recovered_order_id": "",
        "link_clicks": 0,
        "last_clicked_at": None,
        "last_activity_type": "",
        "last_activity_at": None,
        # Its `created` event is the first of its entityEventSequence.
        "event_sequence": 1,
        # No stored Wix JSON yet: readers build the entity until the periodic fill stores it.
        "wire": None,
        "wire_stamp": "",
    }


def _activities_apply(abandoned: Sequence[AbandonedCheckout], activities: Sequence[Activity]) -> None:
    """Each new row takes its newest activity's type and time, and its activities, newest first."""
    by_id = {ac.id: ac for ac in abandoned}
    for activity in activities:
        ac = by_id[activity.abandoned_checkout_id]
        ac.latest_activities.insert(0, activity)
        ac.last_activity_type, ac.last_activity_at = activity.type, activity.created_at


def _abandoned_insert(abandoned: Sequence[AbandonedCheckout], *, stores: dict) -> list[AbandonedCheckout]:
    """Write the new rows, and on PostgreSQL their `created` events; return the rows whose event
    is still to be written (all of them elsewhere).

    On PostgreSQL one statement does it all. The snapshot is copied inside the database from
    the claimed checkouts (INSERT … SELECT): only the columns the sweep sets travel from Python,
    as one array each (one value when the whole batch shares it). The rows it returns feed the
    events' payloads, rendered by PostgreSQL (`created_events_ctes`), and their deliveries.
    """
    if connection.vendor != "postgresql":
        instances_insert(AbandonedCheckout, abandoned)
        return list(abandoned)
    quote = connection.ops.quote_name
    columns = [quote(Checkout._meta.get_field(name).column) for name in _SNAPSHOT]
    sources = [f"checkout.{column}" for column in columns]
    arrays, names, params = [], [], {}
    for field in AbandonedCheckout._meta.concrete_fields:
        if field.attname in _SNAPSHOT:
            continue
        name, db_type = field.attname, field.db_type(connection)
        columns.append(quote(field.column))
        if name in _COPIED:
            # Copied from the checkout, as the snapshot is.
            sources.append(f"checkout.{quote(Checkout._meta.get_field(_FROM_CHECKOUT[name]).column)}")
            continue
        values = list(map(attrgetter(name), abandoned))
        if isinstance(field, JSONField):
            values = list(map(json_text, values))
        # Shared values are mostly one object: `count` compares by identity first, in C.
        if name not in ("id", "checkout_id") and values.count(values[0]) == len(values):
            sources.append(f"CAST(%({name})s AS {db_type})")
            params[name] = values[0]
        else:
            sources.append(f"new.{quote(name)}")
            arrays.append(f"CAST(%({name})s AS {db_type}[])")
            names.append(quote(name))
            kinds = set(map(type, values))
            if db_type == "uuid" and type(None) not in kinds:
                params[name] = uuid_array(values)
            elif kinds == {int}:
                params[name] = int_array(values)  # the checkouts' ids
            else:
                params[name] = array_literal(values)
    now = timezone.now()
    ctes, event_params = created_events_ctes(abandoned=abandoned, stores=stores, now=now)
    sql = f"""
        WITH abandoned AS (
            INSERT INTO {quote(AbandonedCheckout._meta.db_table)} ({", ".join(columns)})
            SELECT {", ".join(sources)}
            FROM unnest({", ".join(arrays)}) AS new ({", ".join(names)})
            JOIN {quote(Checkout._meta.db_table)} AS checkout ON checkout.id = new.checkout_id
            RETURNING *
        ), {", ".join(ctes)}
        SELECT abandoned.id, events.event_id, events.store_id, events.sequence
        FROM abandoned LEFT JOIN events ON events.entity_id = abandoned.id
        WHERE events.entity_id IS NULL OR EXISTS (
            SELECT FROM {quote(WebhookEndpoint._meta.db_table)} AS endpoint
            WHERE endpoint.store_id = ANY(%(store_ids)s::uuid[]) AND endpoint.active
                AND endpoint.event_types @> %(created_types)s::jsonb)
    """  # noqa: S608 - identifiers come from the models, values are parameters  # nosec B608
    with connection.cursor() as cursor:
        # The events come back only for stores with an endpoint that wants them, for their deliveries.
        cursor.execute(
            sql,
            {
                **params,
                **event_params,
                "store_ids": list(stores),
                "created_types": json_text([WebhookEvent.Type.CREATED]),
            },
        )
        rows = cursor.fetchall()
    created = WebhookEvent.Type.CREATED
    written = [
        EventRow(event_id, store_id, created, ac_id, sequence, None, now)
        for ac_id, event_id, store_id, sequence in rows
        if event_id
    ]
    if written:
        webhook_deliveries_create(events=written)
    unrendered = {ac_id for ac_id, event_id, *_ in rows if event_id is None}
    return [ac for ac in abandoned if ac.id in unrendered]
