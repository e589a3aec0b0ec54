"""A Wix abandoned checkout (REST shape, as its webhooks and Query method send it) as checkout events.

One map for push and pull, so a webhook and a pulled page describing the same state produce the
same events (same ids, same bodies) and the ingest service sees the second as a replay. The
checkout is keyed by the cart id, as the legacy Stores cart events are, so both feeds of one
site meet on one checkout.
"""

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

# Wix Stores' app id: what a catalog reference without one most likely points at.
WIX_STORES_APP_ID = "215238eb-22a5-4c36-9e7b-e7c08025e04e"
SNAPSHOT_KEYS = (
    "cartId",
    "buyerLanguage",
    "buyerInfo",
    "contactDetails",
    "currency",
    "conversionCurrency",
    "subtotalPrice",
    "totalPrice",
    "appliedDiscounts",
    "checkoutUrl",
)


class NotMappable(ValueError):
    """The entity lacks what a checkout needs (an id, dates); the message names the field."""


def checkout_id(entity: dict[str, Any]) -> str:
    return str(entity.get("cartId") or entity.get("checkoutId") or entity.get("id") or "")


def moment(entity: dict[str, Any], field: str) -> datetime:
    value = entity.get(field)
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise NotMappable(f"{field} must be an ISO-8601 date-time.")
    return parsed


def abandoned_checkout_events(entity: Any) -> tuple[list[dict[str, Any]], datetime | None]:
    """(events for the ingest service, when Wix abandoned it) for one Wix abandoned checkout."""
    if not isinstance(entity, dict) or not checkout_id(entity) or not isinstance(entity.get("id"), str):
        raise NotMappable("abandonedCheckout.id is required.")
    created, updated = moment(entity, "createdDate"), moment(entity, "updatedDate")
    external_id = checkout_id(entity)
    snapshot = {key: entity[key] for key in SNAPSHOT_KEYS if entity.get(key) not in (None, "", {}, [])}
    snapshot["id"] = external_id
    snapshot["lineItems"] = [_line_item(item) for item in entity.get("lineItems") or [] if isinstance(item, dict)]
    events = [
        {
            "eventId": f"wix:{entity['id']}:{updated.isoformat()}",
            "type": "checkout.updated",
            # Ordered by Wix's own clock: a late resend never overwrites a newer state.
            "occurredAt": updated.isoformat(),
            "checkout": snapshot,
        }
    ]
    if entity.get("status") == "RECOVERED":
        recovered = moment(entity, "checkoutRecoveredDate") if entity.get("checkoutRecoveredDate") else updated
        events.append(
            {
                "eventId": f"wix:{entity['id']}:recovered",
                "type": "checkout.completed",
                "occurredAt": recovered.isoformat(),
                "checkout": {"id": external_id},
            }
        )
    return events, created


def _line_item(item: dict[str, Any]) -> dict[str, Any]:
    """Wix's line item, minus what Comeback's ingest schema would refuse from a real Wix site."""
    out = dict(item)
    reference = out.get("catalogReference")
    if isinstance(reference, dict) and not reference.get("appId"):
        out["catalogReference"] = {**reference, "appId": WIX_STORES_APP_ID}
    image = out.get("image")
    if isinstance(image, dict) and not image.get("url"):
        del out["image"]  # a bare media id is no picture the dashboard can show
    return out
