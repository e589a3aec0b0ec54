"""Wix, both ways: webhooks pushed to a per-connection URL (JWT, the app's public key) and a pull sync
through the Query method (API key + site id). Both map through `mapping` into ordinary checkout events.
"""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse

from .. import Connector, SetupStep, register

if TYPE_CHECKING:
    from ...models import Connection

DEFAULT_BASE_URL = "https://www.wixapis.com"


def webhook_url(connection: "Connection") -> str:
    return settings.COMEBACK_PUBLIC_URL + reverse("connect-wix-webhook", args=[connection.token])


def setup_steps(connection: "Connection") -> list[SetupStep]:
    return [
        SetupStep(
            "In the Wix app dashboard (dev.wix.com → your app → Webhooks), subscribe to "
            "eCommerce › Abandoned Checkout Created and Abandoned Checkout Recovered, with this callback URL.",
            copy={"Callback URL": webhook_url(connection)},
        ),
        SetupStep(
            "On the same Webhooks page, click “Get Public Key”, copy the whole key (with its BEGIN/END lines) "
            "and paste it into this connection's Public key field. Deliveries are refused until it is there."
        ),
        SetupStep(
            "To bring over the site's existing abandoned checkouts and keep them in sync, create an API key in "
            "Wix (Account settings › API Keys, with the eCommerce “Read Orders” permission), and paste it with "
            "the site id (the GUID in your dashboard URL after /dashboard/) into this connection's settings."
        ),
        SetupStep("Press “Send a test event”: a test checkout appears in Checkouts within a minute."),
    ]


def test_events(connection: "Connection") -> list[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=0)
    checkout = {
        "id": f"wix-test-{connection.token[:8]}",
        "buyerInfo": {"email": "test.buyer@example.com"},
        "contactDetails": {"firstName": "Test", "lastName": "Buyer"},
        "currency": connection.store.currency,
        "totalPrice": {"amount": "42.50"},
        "subtotalPrice": {"amount": "40.00"},
        "lineItems": [{"quantity": 2, "productName": {"original": "Test mug"}, "price": {"amount": "20.00"}}],
    }
    return [
        {
            "eventId": f"wix-test:{connection.token[:8]}:{now.isoformat()}",
            "type": "checkout.updated",
            "occurredAt": (now - timedelta(seconds=1)).isoformat(),
            "checkout": checkout,
        }
    ]


CONNECTOR = register(
    Connector(
        platform="wix",
        setup_steps=setup_steps,
        test_events=test_events,
        settings_fields={
            "site_id": "Wix site id (for the pull sync, with the API key as the secret)",
            "base_url": f"API base URL (default {DEFAULT_BASE_URL})",
            "instance_id": "App instance id (optional: webhooks from any other instance are refused)",
        },
    )
)
