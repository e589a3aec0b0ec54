"""Keeping each abandoned checkout's ready Wix JSON (`checkouts.wire`) in step with its row."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from uuid import UUID

from django.db import transaction

from ..models import AbandonedCheckout
from ..selectors import abandoned_checkouts_with_activities
from ..wire import wire_build, wire_encode, wire_stamp

# Rows built and written per UPDATE: Django's bulk_update writes a CASE per row, so a batch
# stays small enough for that statement to be cheap, and large enough to amortise it.
WIRE_BATCH = 500


def abandoned_checkouts_wire_store(abandoned_checkouts: Sequence[AbandonedCheckout]) -> int:
    """Store the JSON of instances that are current: read (or written) in this transaction,
    with their store and their `latest_activities`. One UPDATE per `WIRE_BATCH` rows."""
    for ac in abandoned_checkouts:
        ac.wire, ac.wire_stamp = wire_build(ac, store=ac.store)
    AbandonedCheckout.objects.bulk_update(abandoned_checkouts, ["wire", "wire_stamp"], batch_size=WIRE_BATCH)
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
    queryset = AbandonedCheckout.objects.order_by("pk")
    if store_id is not None:
        queryset = queryset.filter(store_id=store_id)
    columns = ("pk", "updated_at", "event_sequence", "store__language", "wire_stamp")
    last = None
    while True:
        page = queryset.filter(pk__gt=last) if last is not None else queryset
        rows = list(page.values_list(*columns)[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        stale = [
            pk
            for pk, updated_at, sequence, language, stamp in rows
            if stamp != wire_stamp(updated_at=updated_at, event_sequence=sequence, language=language)
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
    event sequence current): the activity, recovery, refresh and anonymise paths."""
    ac = abandoned_checkout
    wire = wire_encode(entity)
    stamp = wire_stamp(updated_at=ac.updated_at, event_sequence=ac.event_sequence, language=ac.store.language)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(wire=wire, wire_stamp=stamp)
    ac.wire, ac.wire_stamp = wire, stamp
