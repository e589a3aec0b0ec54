"""Keeping each abandoned checkout's ready Wix JSON (`checkouts.wire`) in step with its row."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from uuid import UUID

from django.db import connection, transaction

from ..models import AbandonedCheckout, Store
from ..pagination import SortKey, keyset_after
from ..selectors import abandoned_checkouts_with_activities
from ..wire import wire_build, wire_encode, wire_stamp

# Set in the UPDATE of a write that cannot store the JSON in the same statement: a second
# UPDATE of a row this transaction already changed makes PostgreSQL re-check its foreign keys
# (FOR KEY SHARE on the checkout), which deadlocks against an ingest holding that checkout.
# The periodic fill (`abandoned_checkouts_wire_fill_missing`) stores it within a minute.
WIRE_DROPPED = {"wire": None, "wire_stamp": ""}

# Rows read, built and written per round: large enough to amortise the queries, small enough
# that a batch's transaction stays short.
WIRE_BATCH = 500


def abandoned_checkouts_wire_store(abandoned_checkouts: Sequence[AbandonedCheckout]) -> int:
    """Store the JSON of instances that are current: read (or written) in this transaction,
    with their store and their `latest_activities`. One UPDATE (per `WIRE_BATCH` rows on SQLite)."""
    for ac in abandoned_checkouts:
        ac.wire, ac.wire_stamp = wire_build(ac, store=ac.store)
    if connection.vendor != "postgresql":
        AbandonedCheckout.objects.bulk_update(abandoned_checkouts, ["wire", "wire_stamp"], batch_size=WIRE_BATCH)
        return len(abandoned_checkouts)
    # One UPDATE joined to the arrays: Django's bulk_update would write a CASE per row and column.
    # Only rows still as they were read: a fill racing a writer leaves the writer's JSON alone.
    table = connection.ops.quote_name(AbandonedCheckout._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS ac SET wire = v.wire, wire_stamp = v.stamp
            FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[], %s::bigint[])
                AS v(id, wire, stamp, updated_at, event_sequence)
            WHERE ac.id = v.id AND ac.updated_at = v.updated_at AND ac.event_sequence = v.event_sequence""",  # noqa: S608  # nosec B608
            [
                [ac.pk for ac in abandoned_checkouts],
                [ac.wire for ac in abandoned_checkouts],
                [ac.wire_stamp for ac in abandoned_checkouts],
                [ac.updated_at for ac in abandoned_checkouts],
                [ac.event_sequence for ac in abandoned_checkouts],
            ],
        )
    return len(abandoned_checkouts)


def abandoned_checkouts_wire_refresh(ids: Iterable[UUID]) -> int:
    """Rebuild and store the JSON of these abandoned checkouts as they are now.

    Call it at the end of any write that changes an entity, in the same transaction (after
    the last change: the stamp cannot see a change that bumps neither updatedDate nor the
    event sequence). Three queries for up to `WIRE_BATCH` ids.
    """
    ids = list(ids)
    done = 0
    for start in range(0, len(ids), WIRE_BATCH):
        rows = list(
            abandoned_checkouts_with_activities(
                AbandonedCheckout.objects.filter(pk__in=ids[start : start + WIRE_BATCH])
                .select_related("store")
                .defer("wire", "wire_stamp")
            )
        )
        done += abandoned_checkouts_wire_store(rows)
    return done


def abandoned_checkouts_wire_stale(
    *, store_id: UUID | None = None, batch_size: int = WIRE_BATCH
) -> Iterator[tuple[int, list[UUID]]]:
    """(rows read, ids among them whose stored JSON is missing or stale), in primary-key order.

    Reads only the stamp's inputs (never the JSON itself), one keyset batch at a time.
    """
    stores = Store.objects.order_by("pk")
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    keys = [SortKey("created_at", True), SortKey("id", True)]
    for store in stores.only("pk", "language"):
        # Store by store in the (store, created_at, id) index's order: neighbouring rows on disk,
        # where primary-key order would read the table at random.
        queryset = AbandonedCheckout.objects.filter(store=store).order_by(*(key.order_by for key in keys))
        position = None
        while True:
            page = queryset.filter(keyset_after(keys, position)) if position else queryset
            rows = list(page.values_list("pk", "created_at", "updated_at", "event_sequence", "wire_stamp")[:batch_size])
            if not rows:
                break
            position = [rows[-1][1], rows[-1][0]]
            stale = [
                pk
                for pk, _, updated_at, sequence, stamp in rows
                if stamp != wire_stamp(updated_at=updated_at, event_sequence=sequence, language=store.language)
            ]
            yield len(rows), stale


def abandoned_checkouts_wire_fill(
    *, store_id: UUID | None = None, progress: Callable[[int], object] | None = None
) -> int:
    """Fill every missing or stale JSON, a batch per transaction; `progress(n)` after each batch."""
    filled = 0
    for seen, stale in abandoned_checkouts_wire_stale(store_id=store_id):
        if stale:
            with transaction.atomic():
                filled += abandoned_checkouts_wire_refresh(stale)
        if progress:
            progress(seen)
    return filled


def abandoned_checkout_wire_save(*, abandoned_checkout: AbandonedCheckout, entity: dict) -> None:
    """Store an entity a write has just built from the row as it now is (its updatedDate and
    event sequence current), in a transaction that already holds the row's checkout (a
    refresh from ingest) or locks it anyway (anonymise): see `WIRE_DROPPED`."""
    ac = abandoned_checkout
    wire = wire_encode(entity)
    stamp = wire_stamp(updated_at=ac.updated_at, event_sequence=ac.event_sequence, language=ac.store.language)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(wire=wire, wire_stamp=stamp)
    ac.wire, ac.wire_stamp = wire, stamp


# Rows a tick fills at most: a backlog (a migration, a bulk import) drains over a few ticks
# instead of one long task; `manage.py wire_refresh` does it all at once.
FILL_PER_TICK = 10 * WIRE_BATCH


def abandoned_checkouts_wire_fill_missing(*, limit: int = FILL_PER_TICK) -> int:
    """Store the JSON of rows that have none (the partial index `ac_wire_missing` finds them).

    Rows whose JSON went stale (a new public URL or store language) keep being built on
    read until `manage.py wire_refresh` runs: finding them means reading every stamp.
    """
    filled = 0
    while filled < limit:
        ids = list(AbandonedCheckout.objects.filter(wire_stamp="").values_list("pk", flat=True)[:WIRE_BATCH])
        if not ids:
            break
        with transaction.atomic():
            done = abandoned_checkouts_wire_refresh(ids)
        filled += done
        if done < len(ids) or AbandonedCheckout.objects.filter(pk__in=ids, wire_stamp="").exists():
            break  # rows that changed while being read: the next tick takes them again
    return filled
