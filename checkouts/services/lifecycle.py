"""An abandoned checkout's life: detected, refreshed, recovered, deleted or anonymised.

Each change writes its outbox events in its own transaction, and tells other apps through
`checkouts.hooks` inside that same transaction.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .. import hooks
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
from ..selectors import activities_latest
from ..wix import abandoned_checkout_to_wix
from .outbox import (
    entity_events_build,
    entity_events_record,
    outbox_payloads_replace_entity,
    sequence_advance,
    webhook_events_record,
)

logger = logging.getLogger(__name__)

# What replaces a buyer's words where a row must keep some text.
ERASED_REPR = "(erased)"


def abandoned_checkout_refresh(*, checkout: Checkout) -> bool:
    """Copy a changed checkout onto its still-abandoned abandoned checkout (an `updated` event)."""
    now = timezone.now()
    with transaction.atomic():
        updated = AbandonedCheckout.objects.filter(checkout=checkout, status=AbandonedCheckout.Status.ABANDONED).update(
            updated_at=now, event_sequence=sequence_advance(1), **checkout.snapshot()
        )
        if not updated:
            return False
        ac = AbandonedCheckout.objects.select_related("store").get(checkout=checkout)
        entity_events_record(
            abandoned_checkout=ac,
            slugs=[WebhookEvent.Type.UPDATED],
            activities=activities_latest(abandoned_checkout_id=ac.pk),
        )
    return True


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
            event_sequence=sequence_advance(2),
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
        entity_events_record(
            abandoned_checkout=ac,
            slugs=[WebhookEvent.Type.RECOVERED, WebhookEvent.Type.UPDATED],
            activities=activities_latest(abandoned_checkout_id=ac.pk),
        )
    logger.info("Abandoned checkout %s recovered (order %s)", abandoned_checkout_id, order_id or "-")
    return True


def abandoned_checkouts_recover_for_order(*, store: Store, checkout: Checkout) -> list[UUID]:
    """Recover what a completed checkout recovers under the store's recovery rule."""
    match = Q(checkout=checkout)
    if store.recovery_rule == Store.RecoveryRule.ANY_ORDER_WITHIN_DAYS and checkout.email_key:
        window_start = checkout.completed_at - timedelta(days=store.recovery_window_days)
        match |= Q(email_key=checkout.email_key, created_at__gte=window_start, created_at__lte=checkout.completed_at)
    candidates = AbandonedCheckout.objects.filter(match, store=store, status=AbandonedCheckout.Status.ABANDONED)
    return [
        pk
        for pk in candidates.values_list("pk", flat=True)
        if abandoned_checkout_recover(
            abandoned_checkout_id=pk, order_id=checkout.order_id, recovered_at=checkout.completed_at
        )
    ]


def _locked(*, abandoned_checkout_id: UUID, store: Store | None) -> AbandonedCheckout | None:
    """The row under a lock (in the caller's transaction), or None if gone or another store's."""
    queryset = AbandonedCheckout.objects.select_for_update().select_related("store")
    if store is not None:
        queryset = queryset.filter(store=store)
    return queryset.filter(pk=abandoned_checkout_id).first()


def abandoned_checkout_delete(*, abandoned_checkout_id: UUID, store: Store | None = None) -> bool:
    """Delete one abandoned checkout and write its `deleted` event. False if it was already gone."""
    with transaction.atomic():
        ac = _locked(abandoned_checkout_id=abandoned_checkout_id, store=store)
        if ac is None:
            return False
        events = entity_events_build(
            abandoned_checkout=ac,
            slugs=[WebhookEvent.Type.DELETED],
            stored=False,
            activities=activities_latest(abandoned_checkout_id=ac.pk),
        )
        hooks.abandoned_checkouts_deleting.send(sender=AbandonedCheckout, abandoned_checkout_ids=[ac.pk])
        ac.delete()
        webhook_events_record(events)
    return True


def abandoned_checkouts_delete(*, store: Store, ids: Iterable[UUID]) -> dict[UUID, bool]:
    """Delete several, each in its own transaction: one missing id does not stop the rest."""
    return {pk: abandoned_checkout_delete(abandoned_checkout_id=pk, store=store) for pk in ids}


def abandoned_checkout_anonymise(
    *, abandoned_checkout_id: UUID, store: Store | None = None, actor: AbstractBaseUser | None = None
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
    AbandonedCheckout.objects.filter(pk=ac.pk).update(
        **blank, storefront_checkout_url="", updated_at=now, event_sequence=sequence_advance(1)
    )
    # The row is locked, so its sequence moved by exactly that one.
    ac.event_sequence += 1
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
    counts["webhookEvents"] += outbox_payloads_replace_entity(entity_id=ac.pk, entity=entity)
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
    entity_events_record(abandoned_checkout=ac, slugs=[WebhookEvent.Type.UPDATED], entity=entity, anonymize=True)
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
