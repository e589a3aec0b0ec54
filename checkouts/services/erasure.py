"""Removing an abandoned checkout, or the buyer's personal data in it (anonymising).

Both lock the row first, tell other apps through `checkouts.hooks` in the same transaction,
and write the outbox events of what changed (`deleted`, or an `updated` event flagged as an
anonymize request, with every earlier payload of the entity replaced).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
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
from ..selectors import activities_latest
from ..wix import abandoned_checkout_to_wix
from .outbox import (
    entity_events_build,
    entity_events_record,
    outbox_payloads_replace_entity,
    sequence_advance,
    webhook_events_record,
)
from .wire import abandoned_checkout_wire_save

# What replaces a buyer's words where a row must keep some text.
ERASED_REPR = "(erased)"


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
