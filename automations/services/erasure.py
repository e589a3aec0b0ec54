"""Erasing a buyer from what automations kept about them."""

from checkouts.models import AbandonedCheckout, Store
from checkouts.models.privacy import email_digests
from checkouts.services.privacy import admin_log_erase

from ..models import Notification, Reason, ScheduledStep, SentEmail, Task, Unsubscribe
from .contact import contact_ledger_erase
from .scheduling import scheduled_steps_cancel

ERASED = "(erased)"


def sent_records_erase(*, abandoned_checkout: AbandonedCheckout) -> dict[str, int]:
    """Blank the sent emails, staff notifications and task titles about one checkout's buyer.

    The rows stay (the merchant's counts hold); their words go. Returns the rows blanked per kind.
    """
    return {
        "sentEmails": _erase(
            SentEmail, SentEmail.objects.filter(abandoned_checkout=abandoned_checkout), _SENT_EMAIL_BLANK
        ),
        "notifications": _erase(
            Notification, Notification.objects.filter(abandoned_checkout=abandoned_checkout), {"text": ERASED}
        ),
        "tasks": _erase(Task, Task.objects.filter(abandoned_checkout=abandoned_checkout), {"title": ERASED}),
        # A failed send's error can quote the address ("550 <ada@…>: no such user").
        "scheduledSteps": ScheduledStep.objects.filter(abandoned_checkout=abandoned_checkout)
        .exclude(last_error="")
        .update(last_error=""),
    }


def buyer_automation_records_erase(*, abandoned_checkout: AbandonedCheckout) -> dict[str, int]:
    """Everything automations do when one of a buyer's checkouts is anonymised.

    Runs before the checkout's own columns are blanked, so its address is still there to
    find the buyer's unsubscribe by.
    """
    cancelled = scheduled_steps_cancel(abandoned_checkout=abandoned_checkout, reason=Reason.BUYER_ERASED)
    return {
        "scheduledStepsCancelled": cancelled,
        **sent_records_erase(abandoned_checkout=abandoned_checkout),
        "unsubscribes": _unsubscribes_blank(
            store_id=abandoned_checkout.store_id,
            email=abandoned_checkout.email_key or abandoned_checkout.buyer_email,
        ),
        # Opt-outs of texts keep their keyed hash, as unsubscribes do: they still block.
        "contactLedger": contact_ledger_erase(
            store_id=abandoned_checkout.store_id,
            email=abandoned_checkout.email_key or abandoned_checkout.buyer_email,
            phone=abandoned_checkout.phone,
        ),
    }


def buyer_address_records_erase(*, store: Store, email_key: str) -> dict[str, int]:
    """What is kept by address rather than by checkout: emails sent by hand, and the unsubscribe.

    The unsubscribe keeps its keyed hash, so the address stays unsubscribed after the erasure
    (writing to an erased buyer again would be worse than remembering a hash of them). The
    contact ledger's row goes, unless the buyer was contacted within the store's window: then
    its hash and time stay until the window is over (and the daily prune deletes it).
    """
    return {
        "sentEmails": _erase(
            SentEmail, SentEmail.objects.filter(store=store, to_email__iexact=email_key), _SENT_EMAIL_BLANK
        ),
        "unsubscribes": _unsubscribes_blank(store_id=store.pk, email=email_key),
        "contactLedger": contact_ledger_erase(store_id=store.pk, email=email_key),
    }


def _unsubscribes_blank(*, store_id, email: str) -> int:
    """Blank the address of the store's unsubscribe of `email`, keeping the keyed hash that still blocks it.

    Found by the hash, as lookups are, so a row is blanked once whichever path gets there first.
    """
    if not email.strip():
        return 0
    return _erase(
        Unsubscribe,
        Unsubscribe.objects.filter(store_id=store_id, email_hash__in=email_digests(email)),
        {"email": ""},
    )


_SENT_EMAIL_BLANK = {"to_email": "", "subject": ERASED, "text_body": "", "html_body": ""}


def _erase(model, queryset, blank: dict) -> int:
    """Blank `blank`'s fields on the rows not blanked yet, and their lines in the admin log."""
    ids = list(queryset.exclude(**blank).values_list("pk", flat=True))
    if not ids:
        return 0
    admin_log_erase(model=model, ids=ids)
    return model.objects.filter(pk__in=ids).update(**blank)
