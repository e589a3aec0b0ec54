"""Privacy: erasing one buyer from a store on request, and deleting old abandoned checkouts.

An erasure goes through the same anonymise path as the "Anonymise" button, once per
abandoned checkout of the buyer, then erases the checkouts that were never abandoned and
tells other apps (`hooks.buyer_erasing`) to erase what they keep by address. It ends with
an `ErasureRecord` that holds counts and a keyed hash of the address, never the address.
"""

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from .. import hooks
from ..models import AbandonedCheckout, Checkout, CheckoutData, ErasureRecord, Store, WebhookEvent
from ..models.privacy import email_digest
from .erasure import abandoned_checkout_anonymise_locked, admin_log_erase

logger = logging.getLogger(__name__)

# Rows locked and anonymised per query: bounds each IN list and each SELECT ... FOR UPDATE,
# while the whole erasure still commits (or rolls back) as one.
ERASE_BATCH = 500
# Abandoned checkouts deleted per retention transaction: each holds its locks for well under a
# second, so the sweep and the dashboard never wait long behind it.
RETENTION_BATCH = 1000


class ErasureError(ValueError):
    """The request cannot be carried out (no address given)."""


def buyer_erase(
    *, store: Store, email: str, actor: AbstractBaseUser | None = None, actor_label: str = ""
) -> ErasureRecord:
    """Remove or anonymise everything `store` holds about the buyer with this address.

    One transaction: every matching checkout and abandoned checkout is locked (checkouts
    first, the order ingest locks them in), anonymised, and its pending steps cancelled;
    then the record is written. Only this store's rows are read or touched.
    """
    email_key = email.strip().lower()
    if not email_key:
        raise ErasureError("Enter the buyer's email address.")
    now = timezone.now()
    counts: Counter = Counter()
    with transaction.atomic():
        checkout_ids = _locked_ids(Checkout.objects.filter(store=store, email_key=email_key))
        ac_ids = _locked_ids(
            AbandonedCheckout.objects.filter(store=store).filter(
                models.Q(email_key=email_key) | models.Q(checkout_id__in=checkout_ids)
            )
        )
        for chunk in _chunks(ac_ids, ERASE_BATCH):
            for ac in AbandonedCheckout.objects.select_related("store").filter(pk__in=chunk).order_by("pk"):
                counts.update(
                    abandoned_checkout_anonymise_locked(
                        abandoned_checkout=ac, now=now, actor=actor, actor_label=actor_label
                    )
                )
        erased_checkouts = set(
            AbandonedCheckout.objects.filter(pk__in=ac_ids, checkout_id__isnull=False).values_list(
                "checkout_id", flat=True
            )
        )
        for chunk in _chunks([pk for pk in checkout_ids if pk not in erased_checkouts], ERASE_BATCH):
            # Open or completed checkouts that never became abandoned ones. An open one is
            # taken off the sweep's list: with its buyer gone there is nobody to win back.
            counts["checkouts"] += Checkout.objects.filter(pk__in=chunk).update(
                **CheckoutData.PERSONAL_FIELDS, storefront_checkout_url="", abandon_due_at=None
            )
        for _, response in hooks.buyer_erasing.send(sender=Store, store=store, email_key=email_key):
            if isinstance(response, dict):
                counts.update(response)
        record = ErasureRecord.objects.create(
            store=store,
            email_hash=email_digest(email_key),
            erased_at=now,
            actor=actor if actor is not None and actor.pk else None,
            actor_label=actor_label or (actor.get_username() if actor is not None else ""),
            counts={kind: count for kind, count in sorted(counts.items()) if count},
        )
    logger.info("Erased a buyer from store %s: erasure %s, %d rows", store.pk, record.pk, record.total)
    return record


def buyer_erase_preview(*, store: Store, email: str) -> dict[str, int]:
    """How many checkouts and abandoned checkouts an erasure of `email` would touch (no writes)."""
    email_key = email.strip().lower()
    checkouts = Checkout.objects.filter(store=store, email_key=email_key)
    return {
        "checkouts": checkouts.count(),
        "abandonedCheckouts": AbandonedCheckout.objects.filter(store=store)
        .filter(models.Q(email_key=email_key) | models.Q(checkout__in=checkouts))
        .count(),
    }


def _locked_ids(queryset: models.QuerySet) -> list:
    """Lock the rows (in the caller's transaction) a batch at a time, keyset by id; return their ids."""
    ids: list = []
    last = None
    while True:
        batch = queryset.order_by("pk")
        if last is not None:
            batch = batch.filter(pk__gt=last)
        chunk = list(batch.select_for_update(of=("self",)).values_list("pk", flat=True)[:ERASE_BATCH])
        ids.extend(chunk)
        if len(chunk) < ERASE_BATCH:
            return ids
        last = chunk[-1]


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Retention ------------------------------------------------------------------------------


def retention_cutoff(*, days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def abandoned_checkouts_expired(*, cutoff: datetime) -> models.QuerySet[AbandonedCheckout]:
    """Abandoned checkouts abandoned before `cutoff`, across every store."""
    return AbandonedCheckout.objects.filter(created_at__lt=cutoff)


def abandoned_checkouts_retention_apply(
    *,
    days: int | None = None,
    now: datetime | None = None,
    batch_size: int = RETENTION_BATCH,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete abandoned checkouts abandoned more than `days` ago (default the setting), a batch per transaction.

    Returns how many were deleted (or, with `dry_run`, would be). Each batch is keyset by id
    and deleted with one statement per table, whatever its size. With it go what belongs to
    the checkout: its activities, enrollments, tasks, notifications and sent emails (foreign
    key cascades), its outbox events and their deliveries, and the storefront checkout it was
    made from. Steps still pending end SKIPPED (CHECKOUT_DELETED), as on a single delete.

    Silent on purpose: no `deleted` webhook events. Retention is housekeeping, not a merchant
    deleting a checkout, and thousands of events a night would flood every endpoint.
    """
    days = settings.COMEBACK_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = retention_cutoff(days=days, now=now)
    if dry_run:
        return abandoned_checkouts_expired(cutoff=cutoff).count()
    deleted = 0
    last: UUID | None = None
    while True:
        batch_deleted, last = _retention_batch(cutoff=cutoff, after=last, batch_size=batch_size)
        deleted += batch_deleted
        if progress is not None and batch_deleted:
            progress(batch_deleted)
        if last is None:
            break
    if deleted:
        logger.info("Retention deleted %d abandoned checkouts abandoned before %s", deleted, cutoff.isoformat())
    return deleted


def _retention_batch(*, cutoff: datetime, after: UUID | None, batch_size: int) -> tuple[int, UUID | None]:
    """Delete one batch; return (deleted, last id seen), the id None when there is nothing left."""
    with transaction.atomic():
        queryset = abandoned_checkouts_expired(cutoff=cutoff).order_by("pk")
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        # SKIP LOCKED: a row an erasure or the dispatcher holds right now is left for tomorrow.
        rows = list(
            queryset.select_for_update(skip_locked=True, of=("self",)).values_list("pk", "checkout_id")[:batch_size]
        )
        if not rows:
            return 0, None
        ids = [pk for pk, _ in rows]
        checkout_ids = [checkout_id for _, checkout_id in rows if checkout_id is not None]
        hooks.abandoned_checkouts_deleting.send(sender=AbandonedCheckout, abandoned_checkout_ids=ids)
        WebhookEvent.objects.filter(entity_id__in=ids).delete()
        admin_log_erase(model=AbandonedCheckout, ids=ids)
        deleted = AbandonedCheckout.objects.filter(pk__in=ids).delete()[1].get(AbandonedCheckout._meta.label, 0)
        # The storefront's checkout goes too unless it has moved on since (a newer snapshot).
        Checkout.objects.filter(pk__in=checkout_ids, last_activity_at__lt=cutoff).delete()
    return deleted, ids[-1] if len(ids) == batch_size else None
