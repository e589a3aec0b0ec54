"""What buyers do with recovery emails: opens, clicks, and the email a recovery is credited to."""

from datetime import datetime, timedelta

from django.core import signing
from django.db.models import Q
from django.utils import timezone

from checkouts import signing as fast_signing
from checkouts.models import AbandonedCheckout

from ..models import EmailClick, RecoveryAttribution, SentEmail

# The emails written to a buyer about their checkout: staff copies and test sends are not.
RECOVERY_KINDS = [SentEmail.Kind.AUTOMATION, SentEmail.Kind.MANUAL]
OPEN_PIXEL_SALT = "automations.open-pixel"


def open_pixel_token(email_key: str) -> str:
    return fast_signing.sign(email_key, salt=OPEN_PIXEL_SALT)  # Signer(salt=...).sign, its key derived once


def open_pixel_key(token: str) -> str:
    """The email key a pixel token names, or "" for a token we did not make."""
    try:
        return signing.Signer(salt=OPEN_PIXEL_SALT).unsign(token)
    except signing.BadSignature:
        return ""


def sent_email_open_record(*, email_key: str) -> bool:
    """Note the first open of an email. True only for the first: later loads of the pixel
    (the buyer reading it again, a second device) change nothing. A conditional UPDATE, so two
    loads at once count once."""
    if not email_key:
        return False
    return bool(
        SentEmail.objects.filter(idempotency_key=email_key, kind__in=RECOVERY_KINDS, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
    )


def sent_email_click_record(*, abandoned_checkout_id, email_key: str, clicked_at: datetime) -> bool:
    """Credit a click the recovery link counted to the email its token names. False if that
    email is not one of this checkout's (a token moved onto another checkout's link)."""
    sent_email_id = (
        SentEmail.objects.filter(
            idempotency_key=email_key, abandoned_checkout_id=abandoned_checkout_id, kind__in=RECOVERY_KINDS
        )
        .values_list("pk", flat=True)
        .first()
    )
    if sent_email_id is None:
        return False
    EmailClick.objects.create(sent_email_id=sent_email_id, clicked_at=clicked_at)
    return True


def attribution_window(store) -> timedelta:
    return timedelta(days=store.attribution_window_days)


def recovery_attribute(*, abandoned_checkout: AbandonedCheckout) -> RecoveryAttribution | None:
    """Credit a just-recovered checkout to one of its recovery emails, or to none. At most two
    reads and one insert, whatever the number of emails or clicks.

    The rule, with T the recovery's time (`checkout_recovered_at`, the order's completion) and
    W the store's attribution window (`attribution_window_days`, 5 days unless changed):

    1. Clicked beats sent. Among the counted clicks on this checkout's recovery emails made
       between T − W and T (both ends included), the latest one's email is credited, "via CLICK".
       Only clicks through an email's own link count (it names the email); a click on a link
       without a token credits no email.
    2. Otherwise the email sent latest between T − W and T (both ends included) is credited,
       "via SEND".
    3. Otherwise nothing is: the buyer came back without a recent email.

    Clicks and sends after T never count. Ties go to the email sent later (then the larger id).
    Recovery emails are the automations' and those sent by hand; test sends and staff copies
    are not. The revenue credited is the checkout's total when it was recovered.
    """
    ac = abandoned_checkout
    end = ac.checkout_recovered_at
    if end is None:
        return None
    start = end - attribution_window(ac.store)
    emails = Q(abandoned_checkout_id=ac.pk, kind__in=RECOVERY_KINDS, sent_at__lte=end)
    clicked = (
        EmailClick.objects.filter(clicked_at__gte=start, clicked_at__lte=end)
        .filter(sent_email__in=SentEmail.objects.filter(emails))
        .order_by("-clicked_at", "-sent_email__sent_at", "-sent_email_id")
        .values_list("sent_email_id", flat=True)
        .first()
    )
    if clicked is not None:
        sent_email_id, via = clicked, RecoveryAttribution.Via.CLICK
    else:
        sent_email_id = (
            SentEmail.objects.filter(emails, sent_at__gte=start)
            .order_by("-sent_at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        via = RecoveryAttribution.Via.SEND
    if sent_email_id is None:
        return None
    attribution = RecoveryAttribution(
        abandoned_checkout_id=ac.pk,
        store_id=ac.store_id,
        sent_email_id=sent_email_id,
        via=via,
        revenue=ac.total,
        recovered_at=end,
    )
    # A checkout is recovered once (the lifecycle's compare-and-set); should it somehow be told
    # twice, the first credit stands rather than the recovery failing.
    RecoveryAttribution.objects.bulk_create([attribution], ignore_conflicts=True)
    return attribution
