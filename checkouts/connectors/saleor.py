"""Saleor: checkout and order webhooks, signed as a detached JWS (RS256) with the instance's key.

Reference: /work/shared/reference/connectors.md §3. The key set comes from the JWKS address
configured for the connection (never one named in the request), is cached, and is fetched again
at most once a minute when a signature names an unknown `kid` or does not verify (a rotation).
The payload is what the subscription query in docs/connect/saleor.md selects.
"""

import hashlib
import json
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import urllib3
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from jwt import PyJWKSet, api_jws

from ..webhooks.ssrf import check_url
from . import Connector, SetupStep, register
from .mapping import Malformed, country_code, decimal_text, optional_text, required, required_text

EVENTS = ("checkout_created", "checkout_updated", "checkout_fully_paid", "order_created")
JWKS_TTL = 3600
# A signature naming an unknown key may refetch the key set, but not more often than this.
REFETCH_EVERY = 60
_http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=5), retries=False)


def jwks_url(connection) -> str:
    if connection.settings.get("jwks_url"):
        return connection.settings["jwks_url"]
    parts = urlsplit(connection.settings.get("api_url") or "")
    path = parts.path.rstrip("/")
    path = path[: -len("/graphql")] if path.endswith("/graphql") else path
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/.well-known/jwks.json", "", ""))


def _fetch(url: str) -> dict[str, Any]:
    try:
        check_url(url)  # the merchant typed this address: only public ones are fetched
        response = _http.request("GET", url)
        keys = json.loads(response.data) if response.status == 200 else {}
    except (urllib3.exceptions.HTTPError, ValueError):  # UnsafeURL is a ValueError
        keys = {}
    if isinstance(keys, dict) and isinstance(keys.get("keys"), list):
        cache.set(_cache_key(url), keys, JWKS_TTL)
        return keys
    return {"keys": []}


def _cache_key(url: str) -> str:
    return "connect:saleor:jwks:" + hashlib.sha256(url.encode()).hexdigest()[:32]


def _verify(raw: bytes, signature: str, keys: dict[str, Any]) -> bool:
    try:
        key = PyJWKSet.from_dict(keys)[jwt.get_unverified_header(signature)["kid"]]
        api_jws.decode_complete(signature, key=key, algorithms=["RS256"], detached_payload=raw)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return False
    return True


def signature_ok(*, connection, raw: bytes, signature: str | None) -> bool:
    if not raw or not signature:
        return False
    url = jwks_url(connection)
    keys = cache.get(_cache_key(url))
    if keys is not None and _verify(raw, signature, keys):
        return True
    # Unknown kid, a rotated key, or nothing cached yet: fetch once more, rate-limited per key set.
    if keys is None or cache.add(_cache_key(url) + ":refetch", 1, REFETCH_EVERY):
        return _verify(raw, signature, _fetch(url))
    return False


def events_for(*, event: str, payload: Any, delivery_id: str, connection) -> list[dict[str, Any]]:
    """The checkout events one delivery means; Malformed naming the field if it cannot be read."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict) and len(payload["data"]) == 1:
        payload = next(iter(payload["data"].values()))  # the newer per-event subscription roots wrap it
    if not isinstance(payload, dict):
        raise Malformed("body", "Expected a JSON object.")
    base = {"eventId": f"saleor:{delivery_id}"}
    if event in ("checkout_created", "checkout_updated"):
        checkout = _object(payload, "checkout")
        snapshot = checkout_snapshot(checkout, connection)
        return [
            {
                **base,
                "type": "checkout.updated",
                "occurredAt": required_text(checkout, "updatedAt"),
                "checkout": snapshot,
            }
        ]
    if event == "checkout_fully_paid":
        checkout = _object(payload, "checkout")
        occurred = optional_text(checkout, "updatedAt") or required_text(payload, "issuedAt")
        return [
            {
                **base,
                "type": "checkout.completed",
                "occurredAt": occurred,
                "checkout": {"id": required_text(checkout, "id")},
            }
        ]
    order = _object(payload, "order")
    if not order.get("checkoutId"):
        return []  # a draft order: no checkout to complete
    ref: dict[str, Any] = {"id": required_text(order, "checkoutId")}
    if email := optional_text(order, "userEmail"):
        ref["buyerInfo"] = {"email": email}
    occurred = optional_text(order, "created") or required_text(payload, "issuedAt")
    order_id = str(order.get("number") or order.get("id") or "")[:100]
    return [{**base, "type": "checkout.completed", "occurredAt": occurred, "checkout": ref, "orderId": order_id}]


def checkout_snapshot(checkout: dict[str, Any], connection) -> dict[str, Any]:
    channel = checkout.get("channel") if isinstance(checkout.get("channel"), dict) else {}
    user = checkout.get("user") if isinstance(checkout.get("user"), dict) else {}
    billing = checkout.get("billingAddress") if isinstance(checkout.get("billingAddress"), dict) else {}
    currency = optional_text(channel, "currencyCode") or optional_text(_gross(checkout, "totalPrice"), "currency")
    if not currency:
        raise Malformed("checkout.channel.currencyCode", "Required.")
    snapshot: dict[str, Any] = {
        "id": required_text(checkout, "id"),
        "currency": currency,
        "totalPrice": {
            "amount": decimal_text(required(_gross(checkout, "totalPrice"), "amount"), "checkout.totalPrice")
        },
        "buyerInfo": {"email": optional_text(checkout, "email") or optional_text(user, "email")},
        "contactDetails": {
            "firstName": optional_text(user, "firstName") or optional_text(billing, "firstName"),
            "lastName": optional_text(user, "lastName") or optional_text(billing, "lastName"),
            "phone": optional_text(billing, "phone"),
        },
        "lineItems": [_line(line, i) for i, line in enumerate(checkout.get("lines") or [])],
    }
    if user.get("id"):
        snapshot["buyerInfo"]["userId"] = str(user["id"])[:100]
    if (subtotal := _gross(checkout, "subtotalPrice")).get("amount") is not None:
        snapshot["subtotalPrice"] = {"amount": decimal_text(subtotal["amount"], "checkout.subtotalPrice")}
    if language := optional_text(checkout, "languageCode"):
        # LanguageCodeEnum: PT_BR → pt-BR.
        lang, _, region = language.partition("_")
        snapshot["buyerLanguage"] = f"{lang.lower()}-{region}"[:16] if region else lang.lower()[:16]
    if country := country_code(checkout.get("shippingAddress"), billing, key="country"):
        snapshot["buyerCountry"] = country
    if code := optional_text(checkout, "voucherCode"):
        discount = checkout.get("discount") if isinstance(checkout.get("discount"), dict) else {}
        amount = decimal_text(discount.get("amount", 0), "checkout.discount.amount")
        snapshot["appliedDiscounts"] = [{"coupon": {"code": code[:50], "amount": {"amount": amount}}}]
    template = connection.settings.get("checkout_url") or ""
    if template and checkout.get("token"):
        snapshot["checkoutUrl"] = template.replace("{token}", str(checkout["token"]))
    consent = {item.get("key"): item.get("value") for item in checkout.get("metadata") or [] if isinstance(item, dict)}
    if consent.get("marketing_consent") in ("granted", "denied"):
        snapshot["marketingConsent"] = {"email": consent["marketing_consent"] == "granted"}
    return snapshot


def _object(payload: dict, key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise Malformed(key, "Required (is the subscription query the one in the docs?).")
    return value


def _gross(checkout: dict, key: str) -> dict[str, Any]:
    price = checkout.get(key) if isinstance(checkout.get(key), dict) else {}
    return price.get("gross") if isinstance(price.get("gross"), dict) else {}


def _line(line: Any, index: int) -> dict[str, Any]:
    where = f"checkout.lines[{index}]"
    if not isinstance(line, dict):
        raise Malformed(where, "Expected an object.")
    variant = line.get("variant") if isinstance(line.get("variant"), dict) else {}
    product = variant.get("product") if isinstance(variant.get("product"), dict) else {}
    unit = line.get("undiscountedUnitPrice") if isinstance(line.get("undiscountedUnitPrice"), dict) else {}
    name = optional_text(product, "name") or optional_text(variant, "name")
    if not name:
        raise Malformed(f"{where}.variant.product.name", "Required.")
    item: dict[str, Any] = {
        "id": str(line.get("id") or index)[:100],
        "quantity": line.get("quantity"),
        "productName": {"original": name[:200]},
        "price": {"amount": decimal_text(unit.get("amount", 0), f"{where}.undiscountedUnitPrice.amount")},
    }
    if variant_name := optional_text(variant, "name"):
        item["descriptionLines"] = [{"name": {"original": "Variant"}, "plainText": {"original": variant_name[:200]}}]
    if sku := optional_text(variant, "sku"):
        item["physicalProperties"] = {"sku": sku[:40]}
    thumbnail = product.get("thumbnail") if isinstance(product.get("thumbnail"), dict) else {}
    if url := optional_text(thumbnail, "url"):
        item["image"] = {"url": url}
    return item


def webhook_url(connection) -> str:
    return settings.COMEBACK_PUBLIC_URL + reverse("connect:saleor", args=[connection.token])


def _setup_steps(connection) -> list[SetupStep]:
    return [
        SetupStep(
            "In your Saleor dashboard, open Configuration › Webhooks & Events (or your app's settings) and add a "
            "webhook with this target URL, for the async events CHECKOUT_CREATED, CHECKOUT_UPDATED, "
            "CHECKOUT_FULLY_PAID and ORDER_CREATED. Leave the secret key empty: Saleor then signs with its key.",
            copy={"Target URL": webhook_url(connection)},
        ),
        SetupStep(
            "Paste the subscription query from Comeback's Saleor guide (docs/connect/saleor.md) as the webhook's "
            "payload query: it selects exactly the fields Comeback reads. The app needs MANAGE_CHECKOUTS and "
            "MANAGE_ORDERS.",
        ),
        SetupStep(
            "Comeback checks every delivery against the key set at this address:",
            copy={"JWKS URL": jwks_url(connection)},
        ),
        SetupStep("Send a test event (above), then start a checkout on your storefront and leave it."),
    ]


def _test_events(connection) -> list[dict[str, Any]]:
    token = str(uuid.uuid4())
    now = timezone.now().isoformat()
    checkout = {
        "id": f"comeback-test-{token}",
        "token": token,
        "updatedAt": now,
        "email": "test-buyer@example.com",
        "channel": {"slug": "default-channel", "currencyCode": connection.store.currency},
        "totalPrice": {"gross": {"amount": 42.5, "currency": connection.store.currency}},
        "lines": [
            {
                "id": "test",
                "quantity": 2,
                "undiscountedUnitPrice": {"amount": 20.0},
                "variant": {"sku": "TEST-1", "name": "Blue", "product": {"name": "Test item"}},
            }
        ],
    }
    return [
        *events_for(
            event="checkout_updated",
            payload={"checkout": checkout},
            delivery_id=f"test-{token}-1",
            connection=connection,
        ),
        *events_for(
            event="checkout_fully_paid",
            payload={"checkout": checkout},
            delivery_id=f"test-{token}-2",
            connection=connection,
        ),
    ]


def _validate(values: dict[str, Any]) -> dict[str, str]:
    parts = urlsplit(values.get("api_url") or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return {"api_url": "Paste the instance's GraphQL API address, e.g. https://shop.example.com/graphql/."}
    if "{token}" not in (values.get("checkout_url") or "{token}"):
        return {"checkout_url": "Put {token} where the checkout's token goes."}
    return {}


register(
    Connector(
        platform="saleor",
        setup_steps=_setup_steps,
        test_events=_test_events,
        settings_fields={
            "api_url": "GraphQL API URL (https://shop.example.com/graphql/)",
            "jwks_url": "JWKS URL (leave empty to use the API URL's /.well-known/jwks.json)",
            "checkout_url": "Storefront checkout URL, with {token} (for the recovery link)",
        },
        required_fields=("api_url",),
        validate_settings=_validate,
        summary="Checkout and order webhooks, signed with the instance's key.",
    )
)
