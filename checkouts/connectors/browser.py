"""Any storefront: comeback.js reads the GA4 e-commerce events on the page and beacons them here.

Reference: /work/shared/reference/connectors.md §4. The publishable key (`pk_<token>`) names the
connection; it only sends, only from the connection's listed origins, under a per-address rate
limit. A browser session is one checkout (`web-<session>`), separate from any platform connector's
checkouts, so a platform's server-side completion stays the authority over its own.
"""

import hashlib
import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone

from . import Connector, SetupStep, register
from .mapping import Malformed, decimal_text, optional_text

KEY_PREFIX = "pk_"
CHECKOUT_EVENTS = ("begin_checkout", "add_shipping_info", "add_payment_info")
MAX_EVENTS = 20
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def origins(connection) -> list[str]:
    return [
        line.strip().rstrip("/") for line in (connection.settings.get("origins") or "").splitlines() if line.strip()
    ]


def origin_problem(origin: str) -> str:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        return f"“{origin}” is not an origin: write the scheme and host only, e.g. https://shop.example.com."
    return ""


def events_for(*, body: Any, capture: bool, now=None) -> list[dict[str, Any]]:
    """The checkout events a beacon means; Malformed naming the field if it cannot be read."""
    if not isinstance(body, dict):
        raise Malformed("body", "Expected a JSON object.")
    session = body.get("session")
    if not isinstance(session, str) or not _SESSION.match(session):
        raise Malformed("session", "Expected 8 to 64 letters, digits, - or _.")
    beacons = body.get("events")
    if not isinstance(beacons, list) or not beacons or len(beacons) > MAX_EVENTS:
        raise Malformed("events", f"Expected a list of 1 to {MAX_EVENTS} events.")
    now = now or timezone.now()
    events = []
    for index, beacon in enumerate(beacons):
        where = f"events[{index}]"
        if not isinstance(beacon, dict) or beacon.get("name") not in (*CHECKOUT_EVENTS, "purchase"):
            raise Malformed(f"{where}.name", f"Expected one of {', '.join((*CHECKOUT_EVENTS, 'purchase'))}.")
        # The browser's clock is not trusted: arrival order, a microsecond apart within one beacon.
        occurred = (now + timedelta(microseconds=index)).isoformat()
        digest = hashlib.sha256(json.dumps(beacon, sort_keys=True).encode()).hexdigest()[:20]
        event = {"eventId": f"browser:{session}:{digest}", "occurredAt": occurred}
        ecommerce = beacon.get("ecommerce") if isinstance(beacon.get("ecommerce"), dict) else {}
        if beacon["name"] == "purchase":
            transaction = optional_text(ecommerce, "transaction_id") or str(ecommerce.get("transaction_id") or "")
            event |= {"type": "checkout.completed", "checkout": {"id": f"web-{session}"}}
            event["orderId"] = f"browser:{transaction}"[:100] if transaction else "browser"
        else:
            event |= {"type": "checkout.updated", "checkout": _snapshot(session, beacon, ecommerce, capture, where)}
        events.append(event)
    return events


def _snapshot(session: str, beacon: dict, ecommerce: dict, capture: bool, where: str) -> dict[str, Any]:
    items = ecommerce.get("items") or []
    if not isinstance(items, list) or len(items) > 300:
        raise Malformed(f"{where}.ecommerce.items", "Expected a list of at most 300 items.")
    lines = [_line(item, f"{where}.ecommerce.items[{i}]") for i, item in enumerate(items)]
    currency = optional_text(ecommerce, "currency").upper()
    if not currency:
        raise Malformed(f"{where}.ecommerce.currency", "Required (GA4 requires it with value).")
    if ecommerce.get("value") is not None:
        total = decimal_text(ecommerce["value"], f"{where}.ecommerce.value")
    else:
        total = str(sum((Decimal(line["price"]["amount"]) * line["quantity"] for line in lines), Decimal(0)))
    snapshot: dict[str, Any] = {
        "id": f"web-{session}",
        "currency": currency,
        "totalPrice": {"amount": decimal_text(total, f"{where}.ecommerce.value")},
        "lineItems": lines,
        "buyerInfo": {"visitorId": session},
    }
    if coupon := optional_text(ecommerce, "coupon"):
        snapshot["appliedDiscounts"] = [{"coupon": {"code": coupon[:50], "amount": {"amount": "0"}}}]
    if url := optional_text(beacon, "url"):
        snapshot["checkoutUrl"] = url[:2000]
    if lang := optional_text(beacon, "lang"):
        snapshot["buyerLanguage"] = lang[:16]
    # The merchant's "capture" switch is enforced here too: without it, a typed address is dropped.
    if capture and (email := optional_text(beacon, "email")):
        snapshot["buyerInfo"]["email"] = email[:254]
    if capture and (phone := optional_text(beacon, "phone")):
        snapshot["contactDetails"] = {"phone": phone[:50]}
    return snapshot


def _line(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise Malformed(where, "Expected an object.")
    name = optional_text(item, "item_name") or str(item.get("item_id") or "")
    if not name:
        raise Malformed(f"{where}.item_name", "item_name or item_id is required.")
    quantity = item.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise Malformed(f"{where}.quantity", "Expected a whole number of at least 1.")
    line: dict[str, Any] = {
        "id": str(item.get("item_id") or name)[:100],
        "quantity": quantity,
        "productName": {"original": name[:200]},
        "price": {"amount": decimal_text(item.get("price", 0), f"{where}.price")},
    }
    if variant := optional_text(item, "item_variant"):
        line["descriptionLines"] = [{"name": {"original": "Variant"}, "plainText": {"original": variant[:200]}}]
    if item.get("item_id"):
        line["physicalProperties"] = {"sku": str(item["item_id"])[:40]}
    return line


def publishable_key(connection) -> str:
    return KEY_PREFIX + connection.token


def snippet(connection) -> str:
    src = settings.COMEBACK_PUBLIC_URL + static("comeback.js")
    capture = ' data-capture="contact"' if connection.settings.get("capture") else ""
    return f'<script src="{src}" data-key="{publishable_key(connection)}"{capture} async></script>'


def _setup_steps(connection) -> list[SetupStep]:
    return [
        SetupStep(
            "Paste this tag into every page of your storefront, before </head> (most shop builders have a "
            "“custom code” or “header scripts” setting):",
            copy={"Script tag": snippet(connection)},
        ),
        SetupStep(
            "Make sure the storefront pushes the GA4 e-commerce events (begin_checkout, add_shipping_info, "
            "add_payment_info, purchase) to dataLayer: Google Tag Manager and most shop themes already do."
        ),
        SetupStep(
            "Consent: comeback.js sends nothing until the page's consent allows it: Google Consent Mode "
            '(analytics_storage granted; ad_user_data too for the email and phone), data-consent="granted" '
            "on the tag, or window.comeback.consent(true) from your cookie banner."
        ),
        SetupStep(
            "It only sends from these origins: " + (", ".join(origins(connection)) or "none yet") + ". "
            "Start a checkout on your store and leave it: it appears under Checkouts once idle."
        ),
    ]


def _test_events(connection) -> list[dict[str, Any]]:
    session = "test" + uuid.uuid4().hex[:20]
    item = {"item_id": "TEST-1", "item_name": "Test item", "item_variant": "Blue", "price": 20, "quantity": 2}
    beacon = {
        "session": session,
        "events": [
            {
                "name": "begin_checkout",
                "ecommerce": {"currency": connection.store.currency, "value": 40, "items": [item]},
                "email": "test-buyer@example.com",
            },
            {"name": "purchase", "ecommerce": {"transaction_id": f"test-{session}"}},
        ],
    }
    return events_for(body=beacon, capture=bool(connection.settings.get("capture")))


def _validate(values: dict[str, Any]) -> dict[str, str]:
    lines = [line.strip().rstrip("/") for line in (values.get("origins") or "").splitlines() if line.strip()]
    problems = [problem for problem in map(origin_problem, lines) if problem]
    if not lines:
        return {"origins": "List at least one origin, e.g. https://shop.example.com."}
    return {"origins": problems[0]} if problems else {}


register(
    Connector(
        platform="script",
        setup_steps=_setup_steps,
        test_events=_test_events,
        settings_fields={"origins": "Allowed origins, one per line (https://shop.example.com)"},
        flag_fields={"capture": "Pick up the email or phone typed in the checkout form, when the visitor consents"},
        required_fields=("origins",),
        validate_settings=_validate,
        summary="One script tag on any storefront: reads the GA4 events it already sends.",
    )
)
