"""How the automations app hears about the checkout lifecycle (connected in AutomationsConfig.ready).

Each receiver runs inside the lifecycle's own transaction.
"""

from checkouts.models import AbandonedCheckout, Activity, Checkout, Store

from .models import Reason
from .services import automation_create_default, automations_schedule, scheduled_steps_cancel, scheduled_steps_orphan
from .services.discounts import discount_grants_redeem
from .services.engagement import recovery_attribute, sent_email_click_record
from .services.erasure import buyer_address_records_erase, buyer_automation_records_erase
from .services.records import tasks_close_recovered


def on_abandoned_checkouts_created(sender, *, abandoned_checkouts: list[AbandonedCheckout], **kwargs) -> list[Activity]:
    return automations_schedule(abandoned_checkouts=abandoned_checkouts, written=False)


def on_abandoned_checkout_recovered(
    sender, *, abandoned_checkout: AbandonedCheckout, order_checkout: Checkout | None = None, **kwargs
) -> None:
    scheduled_steps_cancel(abandoned_checkout=abandoned_checkout, reason=Reason.RECOVERED)
    tasks_close_recovered(abandoned_checkout=abandoned_checkout)
    discount_grants_redeem(abandoned_checkout=abandoned_checkout, order_checkout=order_checkout)
    recovery_attribute(abandoned_checkout=abandoned_checkout)


def on_recovery_link_clicked(sender, *, abandoned_checkout_id, email_key: str, clicked_at, **kwargs) -> None:
    sent_email_click_record(abandoned_checkout_id=abandoned_checkout_id, email_key=email_key, clicked_at=clicked_at)


def on_abandoned_checkouts_deleting(sender, *, abandoned_checkout_ids, **kwargs) -> None:
    scheduled_steps_orphan(abandoned_checkout_ids=abandoned_checkout_ids)


def on_abandoned_checkout_anonymising(sender, *, abandoned_checkout: AbandonedCheckout, **kwargs) -> dict[str, int]:
    return buyer_automation_records_erase(abandoned_checkout=abandoned_checkout)


def on_buyer_erasing(sender, *, store: Store, email_key: str, **kwargs) -> dict[str, int]:
    return buyer_address_records_erase(store=store, email_key=email_key)


def on_store_created(sender, *, store: Store, **kwargs) -> None:
    automation_create_default(store=store)
