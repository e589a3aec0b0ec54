"""How the webhook pages plug into the dashboard: a settings tab and the checkout timeline."""

from django.urls import reverse
from django.utils.text import Truncator

from ..extensions import NavItem, TimelineEntry, register_nav, register_timeline_source
from ..models import Membership, WebhookDelivery
from .selectors import webhook_deliveries_for_entity

_STATUS = {
    WebhookDelivery.State.SUCCEEDED: "ok",
    WebhookDelivery.State.PENDING: "warning",
    WebhookDelivery.State.DELIVERING: "warning",
    WebhookDelivery.State.FAILED: "error",
    WebhookDelivery.State.CANCELLED: "error",
}


def delivery_timeline(abandoned_checkout) -> list[TimelineEntry]:
    """The checkout's webhook deliveries as timeline entries (one query)."""
    entries = []
    for delivery in webhook_deliveries_for_entity(
        store_id=abandoned_checkout.store_id, entity_id=abandoned_checkout.pk
    ):
        detail = f"{delivery.get_state_display()} · {delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}"
        if delivery.last_status_code:
            detail += f" · HTTP {delivery.last_status_code}"
        elif delivery.last_error:
            detail += f" · {Truncator(delivery.last_error).chars(80)}"
        url = delivery.endpoint.url
        entries.append(
            TimelineEntry(
                at=delivery.last_attempt_at or delivery.created_at,
                kind="delivery",
                title=f"Webhook “{delivery.event_type}” #{delivery.sequence} → {Truncator(url).chars(60)}",
                detail=detail,
                status=_STATUS[delivery.state],
                url=reverse("webhooks:detail", args=[delivery.endpoint_id]),
            )
        )
    return entries


def register() -> None:
    """Called from CheckoutsConfig.ready."""
    from . import admin, tasks  # noqa: F401  (register the admin pages and the Celery tasks)

    register_nav(NavItem("Webhooks", "webhooks:list", min_role=Membership.Role.MANAGER, order=40, section="settings"))
    register_timeline_source(delivery_timeline)
