"""Erasing a buyer from what automations kept about them."""

from checkouts.models import AbandonedCheckout

from ..models import Notification, SentEmail, Task

ERASED = "(erased)"


def sent_records_erase(*, abandoned_checkout: AbandonedCheckout) -> None:
    """Blank the sent emails, staff notifications and task titles about one checkout's buyer.

    The rows stay (the merchant's counts hold); their words go. Unsubscribes are kept on purpose:
    they are what stops the address being written to again.
    """
    SentEmail.objects.filter(abandoned_checkout=abandoned_checkout).update(
        to_email="", subject=ERASED, text_body="", html_body=""
    )
    Notification.objects.filter(abandoned_checkout=abandoned_checkout).update(text=ERASED)
    Task.objects.filter(abandoned_checkout=abandoned_checkout).update(title=ERASED)
