"""Abandonment at a platform's own time: for connectors whose platform already decided (Wix).

A Wix abandoned checkout arrives abandoned, with the moment Wix marked it. Waiting for the sweep
would date it later, and a recovery that arrives in the same pull would find nothing to recover.
So the connector marks it here, through the sweep's own steps (the row built from the checkout,
the automations' hook, the `created` outbox event): one lifecycle, only the moment differs.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from ..models import Checkout, Store
from .sweep import CLAIMED_COLUMNS, abandoned_checkouts_from, abandoned_checkouts_write

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
        claimed = list(due.values_list(*CLAIMED_COLUMNS))
        if not claimed:
            return 0
        external_ids = [row[CLAIMED_COLUMNS.index("external_id")] for row in claimed]
        # One UPDATE for the page, each checkout at its own moment (the rows are locked above).
        due.update(
            abandoned_at=Case(
                *(When(external_id=external_id, then=Value(moments[external_id])) for external_id in external_ids),
                output_field=DateTimeField(),
            ),
            abandon_due_at=None,
        )
        abandoned = abandoned_checkouts_from(claimed, moments=[moments[external_id] for external_id in external_ids])
        recent = timezone.now() - AUTOMATIONS_WINDOW
        abandoned_checkouts_write(abandoned, notify=[ac for ac in abandoned if ac.created_at >= recent])
    return len(abandoned)
