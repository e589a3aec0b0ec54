"""An abandoned checkout's life after the sweep made it: refreshed from its checkout, recovered.

The sweep that makes them is `sweep.py`; deleting and anonymising, `erasure.py`.

Each change writes its outbox events in its own transaction, and tells other apps through
`checkouts.hooks` inside that same transaction.
"""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.db.models import F, Q, TextField, Value, prefetch_related_objects
from django.db.models.functions import Concat
from django.utils import timezone

from .. import hooks
from ..models import (
    AbandonedCheckout,
    Checkout,
    CheckoutData,
    Store,
    WebhookEvent,
)
from ..search_text import search_text_for
from ..selectors import activities_latest, latest_activities_prefetch
from .outbox import (
    entity_events_build,
    entity_events_record,
    sequence_advance,
    webhook_events_record,
)
from .wire import WIRE_DROPPED, abandoned_checkouts_wire_refresh

logger = logging.getLogger(__name__)

_SNAPSHOT = CheckoutData.SNAPSHOT_FIELDS


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
            .abandoned()
            .filter(checkout_id__in=by_id)
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
                event
                for ac in rows
                for event in entity_events_build(
                    abandoned_checkout=ac, slugs=[WebhookEvent.Type.UPDATED], activities=ac.latest_activities
                )
            ]
        )
        # Stored while this transaction still holds the checkouts (the ingest's locks): see WIRE_DROPPED.
        abandoned_checkouts_wire_refresh([ac.pk for ac in rows])
    return len(rows)


def abandoned_checkout_recover(
    *,
    abandoned_checkout_id: UUID,
    order_id: str = "",
    recovered_at: datetime | None = None,
    order_checkout: Checkout | None = None,
) -> bool:
    """Mark an abandoned checkout RECOVERED. Exactly one concurrent caller wins (returns True).

    `order_checkout` is the completed checkout that recovers it, when there is one: receivers
    read what the order carried (its discount codes, its total).

    The conditional UPDATE is the compare-and-set: only the caller whose UPDATE changed the
    row writes the `recovered` and `updated` events and tells the automations to stop.
    """
    now = timezone.now()
    with transaction.atomic():
        won = (
            AbandonedCheckout.objects.abandoned()
            .filter(pk=abandoned_checkout_id)
            .update(
                status=AbandonedCheckout.Status.RECOVERED,
                checkout_recovered_at=recovered_at or now,
                recovered_order_id=order_id,
                updated_at=now,
                event_sequence=sequence_advance(2),
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
        )
        if not won:
            return False
        # The UPDATE holds the row lock until commit, so this read is the row we just wrote.
        ac = AbandonedCheckout.objects.select_related("store").get(pk=abandoned_checkout_id)
        if ac.checkout_recovered_at < ac.created_at:
            # The order happened before the sweep noticed; the recovery is no earlier than the abandonment.
            ac.checkout_recovered_at = ac.created_at
            AbandonedCheckout.objects.filter(pk=ac.pk).update(checkout_recovered_at=ac.created_at)
        hooks.abandoned_checkout_recovered.send(
            sender=AbandonedCheckout, abandoned_checkout=ac, order_checkout=order_checkout
        )
        entity_events_record(
            abandoned_checkout=ac,
            slugs=[WebhookEvent.Type.RECOVERED, WebhookEvent.Type.UPDATED],
            activities=activities_latest(abandoned_checkout_id=ac.pk),
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
        AbandonedCheckout.objects.for_store(store)
        .abandoned()
        .filter(match)
        .values_list("pk", "checkout_id", "email_key", "created_at")
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
                abandoned_checkout_id=pk,
                order_id=checkout.order_id,
                recovered_at=checkout.completed_at,
                order_checkout=checkout,
            ):
                recovered[checkout.pk].append(pk)
    return recovered
