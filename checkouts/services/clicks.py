"""Counting clicks on a recovery link: once per visitor within a window."""

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import hooks
from ..models import AbandonedCheckout, RecoveryLinkVisit, TimelineEvent


def recovery_link_click_record(
    *, abandoned_checkout_id: UUID, store_id: UUID, visitor: str, email_key: str = ""
) -> bool:
    """Count this visitor's click unless they were counted within COMEBACK_CLICK_WINDOW_MINUTES. True if counted.

    A buyer who opens the link three times, or a mail client that opens it once more, is one
    click. The visit row decides it atomically: the first click inserts it (the unique
    constraint settles a race between two processes), and a later one counts only if its
    conditional UPDATE moves `counted_at` past the window. A counted click from an email's own
    link (`email_key`, read from its signed token) is told to the automations, which credit it.
    """
    now = timezone.now()
    window = timedelta(minutes=settings.COMEBACK_CLICK_WINDOW_MINUTES)
    with transaction.atomic():
        try:
            with transaction.atomic():
                RecoveryLinkVisit.objects.create(
                    abandoned_checkout_id=abandoned_checkout_id, visitor=visitor, counted_at=now
                )
        except IntegrityError:
            fresh = RecoveryLinkVisit.objects.filter(
                abandoned_checkout_id=abandoned_checkout_id, visitor=visitor, counted_at__lte=now - window
            ).update(counted_at=now)
            if not fresh:
                return False
        counted = abandoned_checkout_click_record(abandoned_checkout_id=abandoned_checkout_id, store_id=store_id)
        if counted:
            # One timeline line per counted click, in the same transaction as the count.
            TimelineEvent.objects.create(
                store_id=store_id,
                abandoned_checkout_id=abandoned_checkout_id,
                kind=TimelineEvent.Kind.LINK_OPENED,
                created_at=now,
            )
            if email_key:
                hooks.recovery_link_clicked.send(
                    sender=AbandonedCheckout,
                    abandoned_checkout_id=abandoned_checkout_id,
                    email_key=email_key,
                    clicked_at=now,
                )
        return counted


def abandoned_checkout_click_record(*, abandoned_checkout_id: UUID, store_id: UUID) -> bool:
    """Count a click on a still-abandoned checkout's recovery link. False if there is none.

    A conditional UPDATE with F() + 1: concurrent clicks all count, and a recovered or
    deleted checkout is left alone. It changes no Wix field, so no event is written.
    """
    return bool(
        AbandonedCheckout.objects.for_store(store_id)
        .abandoned()
        .filter(pk=abandoned_checkout_id)
        .update(link_clicks=F("link_clicks") + 1, last_clicked_at=timezone.now())
    )
