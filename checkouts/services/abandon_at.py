"""Abandonment at a platform's own time: for connectors whose platform already decided (Wix).

A Wix abandoned checkout arrives abandoned, with the moment Wix marked it. Waiting for the sweep
would date it later, and a recovery that arrives in the same pull would find nothing to recover.
So the connector marks it here, through the sweep's own steps (the row built from the checkout,
the automations' hook, the `created` outbox event): one lifecycle, only the moment differs.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .. import hooks
from ..bulk import bulk_insert
from ..models import AbandonedCheckout, Checkout, Store, WebhookEvent
from .lifecycle import _CLAIMED, _abandoned_from_checkout
from .outbox import webhook_event_build, webhook_events_record

# An abandonment older than this (a backfill of a site's history) is recorded, but the store's
# automations do not start on it: nobody wants a recovery email for last year's cart.
AUTOMATIONS_WINDOW = timedelta(days=1)


def checkouts_abandon_at(*, store: Store, moments: dict[str, datetime]) -> int:
    """Mark the store's checkouts (external id → when the platform abandoned them) abandoned at that moment.

    Only checkouts not yet abandoned nor completed: the conditional UPDATE under the row locks makes a
    repeat, or a race with the sweep, a no-op. Returns how many were abandoned now.
    """
    if not moments:
        return 0
    with transaction.atomic():
        due = Checkout.objects.select_for_update().filter(
            store=store, external_id__in=list(moments), abandoned_at__isnull=True, completed_at__isnull=True
        )
        rows = list(due.values(*_CLAIMED))
        if not rows:
            return 0
        for row in rows:
            Checkout.objects.filter(pk=row["id"]).update(abandoned_at=moments[row["external_id"]], abandon_due_at=None)
        abandoned = [_abandoned_from_checkout(row, now=moments[row["external_id"]], store=store) for row in rows]
        recent = timezone.now() - AUTOMATIONS_WINDOW
        fresh = [ac for ac in abandoned if ac.created_at >= recent]
        if fresh:
            hooks.abandoned_checkouts_created.send(sender=AbandonedCheckout, abandoned_checkouts=fresh)
        bulk_insert(AbandonedCheckout, abandoned)
        for ac in abandoned:
            ac._state.adding = False
        webhook_events_record(
            [
                webhook_event_build(abandoned_checkout=ac, slug=WebhookEvent.Type.CREATED, sequence=1, store=store)
                for ac in abandoned
            ]
        )
    return len(abandoned)
