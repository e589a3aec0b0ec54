"""How the automations app hears about the checkout lifecycle (connected in AutomationsConfig.ready).

Each receiver runs inside the lifecycle's own transaction.
"""

from checkouts.models import AbandonedCheckout, Store

from .models import Reason
from .services import automation_create_default, automations_schedule, scheduled_steps_cancel, scheduled_steps_orphan
from .services.erasure import sent_records_erase


def on_abandoned_checkouts_created(sender, *, abandoned_checkouts: list[AbandonedCheckout], **kwargs) -> None:
    automations_schedule(abandoned_checkouts=abandoned_checkouts)


def on_abandoned_checkout_recovered(sender, *, abandoned_checkout: AbandonedCheckout, **kwargs) -> None:
    scheduled_steps_cancel(abandoned_checkout=abandoned_checkout, reason=Reason.RECOVERED)


def on_abandoned_checkouts_deleting(sender, *, abandoned_checkout_ids, **kwargs) -> None:
    scheduled_steps_orphan(abandoned_checkout_ids=abandoned_checkout_ids)


def on_abandoned_checkout_anonymising(sender, *, abandoned_checkout: AbandonedCheckout, **kwargs) -> None:
    scheduled_steps_cancel(abandoned_checkout=abandoned_checkout, reason=Reason.BUYER_ERASED)
    sent_records_erase(abandoned_checkout=abandoned_checkout)


def on_store_created(sender, *, store: Store, **kwargs) -> None:
    automation_create_default(store=store)
