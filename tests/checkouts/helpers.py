"""Building storefront events for tests."""

import uuid
from datetime import UTC, datetime, timedelta


def at(minutes: float = 0) -> datetime:
    """A fixed moment plus `minutes`, for events whose order matters."""
    return datetime(2026, 11, 28, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def checkout_body(external_id: str, *, email: str = "ada@example.com", total: str = "120.00", **extra) -> dict:
    body = {
        "id": external_id,
        "cartId": "cart-" + external_id[:8],
        "buyerInfo": {"email": email, "visitorId": str(uuid.uuid5(uuid.NAMESPACE_URL, external_id))},
        "contactDetails": {"firstName": "Ada", "lastName": "Lovelace", "phone": "+15555550100"},
        "buyerLanguage": "en",
        "currency": "USD",
        "subtotalPrice": {"amount": total},
        "totalPrice": {"amount": total},
        "lineItems": [
            {
                "id": "li-1",
                "quantity": 2,
                "productName": {"original": "Trail Backpack"},
                "catalogReference": {
                    "catalogItemId": "trail-backpack",
                    "appId": "215238eb-22a5-4c36-9e7b-e7c08025e04e",
                },
                "price": {"amount": total},
                "image": {"url": "https://shop.example.com/backpack.png", "width": 240, "height": 240},
            }
        ],
        "checkoutUrl": f"https://shop.example.com/checkout/{external_id}",
    }
    body.update(extra)
    return body


def updated_event(external_id: str, *, minutes: float = 0, event_id: str | None = None, **checkout) -> dict:
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "type": "checkout.updated",
        "occurredAt": iso(at(minutes)),
        "checkout": checkout_body(external_id, **checkout),
    }


def completed_event(
    external_id: str, *, minutes: float = 0, event_id: str | None = None, order_id: str = "order-1"
) -> dict:
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "type": "checkout.completed",
        "occurredAt": iso(at(minutes)),
        "checkout": {"id": external_id},
        "orderId": order_id,
    }
