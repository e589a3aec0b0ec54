"""Sending a recovery email by hand from the dashboard, for one checkout or a selection."""

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity, Store
from checkouts.models.privacy import email_digests
from checkouts.services import activity_record

from ..discount_selectors import discount_code_preview
from ..messages import defaults
from ..messages.render import (
    EmailTemplate,
    RenderedEmail,
    default_translations,
    message_language,
    pick_template,
    recovery_email,
    step_template,
)
from ..models import AutomationStep, Reason, SentEmail, Unsubscribe
from .contact import consented, contact_gate_load
from .discounts import NoCodeLeft, discount_codes_for_step


class ManualResult:
    SENT = "SENT"
    GUARDED = "GUARDED"  # one went out recently: nothing sent, nothing logged
    NOT_SENT = "NOT_SENT"  # logged as EMAIL_NOT_SENT with a reason
    NOT_FOUND = "NOT_FOUND"


@dataclass
class ManualSend:
    result: str
    reason: str = ""
    last_sent_at: datetime | None = None
    sent_email: SentEmail | None = None
    blocked: "Blocked | None" = None


@dataclass(frozen=True)
class Blocked:
    """Why no recovery email can go to a checkout at all, whatever anyone clicks."""

    reason: str
    since: datetime | None = None

    def message(self, zone) -> str:
        when = f"{timezone.localtime(self.since, zone):%Y-%m-%d}" if self.since else ""
        if self.reason == Reason.UNSUBSCRIBED:
            return f"Unsubscribed on {when}: no email can be sent."
        if self.reason == Reason.RECOVERED:
            return f"Recovered on {when}: no recovery email is sent after a recovery." if when else "Recovered."
        if self.reason == Reason.NO_CONSENT:
            return "The buyer did not accept marketing emails, which this store requires: no email can be sent."
        return "No email address (none was left, or the buyer's details were erased): no email can be sent."


def recovery_email_blocked(*, abandoned_checkout: AbandonedCheckout) -> Blocked | None:
    """Recovered, no address or unsubscribed: one query at most (the unsubscribe)."""
    ac = abandoned_checkout
    if ac.is_recovered:
        return Blocked(Reason.RECOVERED, ac.checkout_recovered_at)
    if not ac.buyer_email:
        return Blocked(Reason.NO_EMAIL)
    since = (
        Unsubscribe.objects.filter(store_id=ac.store_id, email_hash__in=email_digests(ac.email_key))
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return Blocked(Reason.UNSUBSCRIBED, since) if since else None


def recovery_email_unavailable(abandoned_checkout: AbandonedCheckout) -> str:
    """The dashboard's "Send recovery email" action: why it cannot work here, or ""."""
    blocked = recovery_email_blocked(abandoned_checkout=abandoned_checkout)
    return blocked.message(abandoned_checkout.store.zone) if blocked else ""


def store_email_template(*, store: Store, language: str) -> tuple[EmailTemplate, AutomationStep | None]:
    """The words for a hand-sent email: the store's first email step (its oldest automation's),
    so what the merchant edited is what goes out; the built-in default if it has none."""
    step = (
        AutomationStep.objects.filter(automation__store=store, action=AutomationStep.Action.EMAIL_BUYER, archived=False)
        .order_by("automation__created_at", "automation_id", "position", "id")
        .prefetch_related("translations")
        .first()
    )
    if step is not None:
        return step_template(step, language), step
    default = EmailTemplate(defaults.EMAIL_SUBJECT, defaults.EMAIL_BODY)
    return pick_template(default, default_translations(), language), None


def recovery_email_preview(*, abandoned_checkout: AbandonedCheckout) -> RenderedEmail:
    store = abandoned_checkout.store
    template, step = store_email_template(store=store, language=message_language(abandoned_checkout, store))
    code = discount_code_preview(step=step, abandoned_checkout=abandoned_checkout) if step else ""
    return recovery_email(
        abandoned_checkout=abandoned_checkout,
        store=store,
        template=template,
        idempotency_key="preview",
        discount_code=code,
    )


def last_recovery_email_at(*, abandoned_checkout_id) -> datetime | None:
    return (
        SentEmail.objects.filter(
            abandoned_checkout_id=abandoned_checkout_id, kind__in=[SentEmail.Kind.AUTOMATION, SentEmail.Kind.MANUAL]
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )


def recovery_email_send(*, store: Store, abandoned_checkout_id, user: AbstractBaseUser) -> ManualSend:
    """Send the recovery email now, unless one went to this checkout within the guard window.

    Takes the checkout's row lock first, like the dispatcher: nothing is sent once a recovery
    has committed, and two clicks (or a click and a due step) cannot both send. Then the
    buyer's contact-ledger row, like the dispatcher: the store's frequency cap counts this
    send, and one within the window (to any of the buyer's checkouts) stops it.
    """
    guard = timedelta(minutes=settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES)
    with transaction.atomic():
        ac = (
            AbandonedCheckout.objects.filter(store=store, pk=abandoned_checkout_id)
            .select_related("store")
            .select_for_update(of=("self",))
            .first()
        )
        if ac is None:
            return ManualSend(ManualResult.NOT_FOUND)
        last = last_recovery_email_at(abandoned_checkout_id=ac.pk)
        if last and last > timezone.now() - guard:
            return ManualSend(ManualResult.GUARDED, last_sent_at=last)
        blocked = recovery_email_blocked(abandoned_checkout=ac)
        if blocked:
            # Nothing was tried: no activity, so repeated clicks do not pile up in the timeline.
            return ManualSend(ManualResult.NOT_SENT, reason=blocked.reason, blocked=blocked)
        now = timezone.now()
        gate = contact_gate_load({ac.pk: ac})
        if gate.policy(ac.store).require_email_consent and not consented(ac, "email"):
            blocked = Blocked(Reason.NO_CONSENT)
            return ManualSend(ManualResult.NOT_SENT, reason=blocked.reason, blocked=blocked)
        if contacted := gate.last_contact(ac, now):
            return ManualSend(ManualResult.GUARDED, reason=Reason.RECENTLY_CONTACTED, last_sent_at=contacted)
        template, step = store_email_template(store=ac.store, language=message_language(ac, ac.store))
        key = f"manual-{ac.pk}-{uuid.uuid4().hex}"
        # The words are the automation step's, so is the code: the one this checkout was given,
        # else a new one from the automation's offer, recorded like a step's.
        codes = discount_codes_for_step(step=step, abandoned_checkout=ac, now=now)
        try:
            try:
                code = codes.code_for(step, ac) if step else ""
            except NoCodeLeft:
                return _not_sent(ac, Reason.NO_CODE_LEFT, user)
            try:
                email = recovery_email(
                    abandoned_checkout=ac, store=ac.store, template=template, idempotency_key=key, discount_code=code
                )
            except TemplateSyntaxError:
                return _not_sent(ac, Reason.TEMPLATE_ERROR, user)
            try:
                email.message().send()
            except (smtplib.SMTPException, OSError, ValueError):  # ValueError: an address the mailer refuses
                return _not_sent(ac, Reason.SEND_FAILED, user)
            if code:
                codes.mark_sent(step, ac, key=key)
        finally:
            # Writes the grant of a code sent; hands a pool code back if the email did not go.
            codes.save()
        sent = email.sent_email(
            store=ac.store,
            abandoned_checkout=ac,
            kind=SentEmail.Kind.MANUAL,
            sent_by=user if getattr(user, "pk", None) else None,
        )
        sent.save()
        gate.mark_contacted(ac, now)
        gate.save(now)
        activity_record(
            abandoned_checkout_id=ac.pk,
            type=Activity.Type.EMAIL_SENT,
            detail={
                "manual": True,
                "by": user.get_username(),
                "messageId": email.message_id,
                "label": f"By {user.get_username()}",
            },
        )
    return ManualSend(ManualResult.SENT, sent_email=sent)


def _not_sent(ac: AbandonedCheckout, reason: str, user: AbstractBaseUser) -> ManualSend:
    by = user.get_username()
    activity_record(
        abandoned_checkout_id=ac.pk,
        type=Activity.Type.EMAIL_NOT_SENT,
        reason=reason,
        detail={"manual": True, "by": by, "label": f"Tried by {by}"},
    )
    return ManualSend(ManualResult.NOT_SENT, reason=reason)


def recovery_emails_send_bulk(*, store: Store, ids, user: AbstractBaseUser) -> dict[str, int]:
    """Send to each selected checkout, each in its own transaction; returns counts per result."""
    counts = {ManualResult.SENT: 0, ManualResult.GUARDED: 0, ManualResult.NOT_SENT: 0, ManualResult.NOT_FOUND: 0}
    for pk in ids:
        counts[recovery_email_send(store=store, abandoned_checkout_id=pk, user=user).result] += 1
    return counts


def test_email_send(
    *, user: AbstractBaseUser, abandoned_checkout: AbandonedCheckout, template: EmailTemplate, discount_code: str = ""
) -> SentEmail:
    """The email as `abandoned_checkout`'s buyer would get it, sent to the merchant's own address
    (its unsubscribe link names that address, not the buyer's) and kept as a TEST email."""
    key = f"test-{uuid.uuid4().hex}"
    store = abandoned_checkout.store
    email = recovery_email(
        abandoned_checkout=abandoned_checkout,
        store=store,
        template=template,
        idempotency_key=key,
        to=user.email,
        discount_code=discount_code,
    )
    email.subject = f"[Test] {email.subject}"
    email.message().send()
    sent = email.sent_email(store=store, kind=SentEmail.Kind.TEST, sent_by=user)
    sent.save()
    return sent


def bulk_summary(counts: dict[str, int]) -> str:
    guard = settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES
    parts = [f"{counts[ManualResult.SENT]} sent"]
    if counts[ManualResult.GUARDED]:
        parts.append(f"{counts[ManualResult.GUARDED]} skipped (emailed in the last {guard} minutes)")
    if counts[ManualResult.NOT_SENT]:
        parts.append(f"{counts[ManualResult.NOT_SENT]} not sent (recovered, unsubscribed or no email)")
    if counts[ManualResult.NOT_FOUND]:
        parts.append(f"{counts[ManualResult.NOT_FOUND]} not found")
    return "Recovery emails: " + ", ".join(parts) + "."
