"""Shopify: checkout and order webhooks, verified with the app's client secret, mapped to checkout events.

Reference: /work/shared/reference/connectors.md §2. One URL per connection takes every topic
(`X-Shopify-Topic` says which); `checkouts/delete` is acknowledged and ignored, because Shopify
sends it when a checkout is closed or purged, which says nothing about whether the buyer came back.
"""

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models.store import CURRENCIES
from ..serializer_compile import email_surely_valid
from . import Connector, SetupStep, register
from .mapping import Malformed, country_code, decimal_text, optional_text, required, required_text
from .shopify_backfill import DEFAULT_API_VERSION, backfill

CHECKOUT_TOPICS = ("checkouts/create", "checkouts/update")
TOPICS = (*CHECKOUT_TOPICS, "checkouts/delete", "orders/create")


def signature_ok(*, raw: bytes, header: str | None, secrets: list[str]) -> bool:
    """Base64 HMAC-SHA256 of the exact body, keyed with the client secret, compared in constant time.

    `secrets` is the current secret and, for an hour after a replacement, the old one: each is compared,
    none skipped once one matched, so the time taken does not say which secret signed.
    """
    return any(signatures_matched(raw=raw, header=header, secrets=secrets))


def signatures_matched(*, raw: bytes, header: str | None, secrets: list[str]) -> list[bool]:
    """For each of `secrets`, whether it signed the body (as `signature_ok`, every one compared)."""
    if not raw or not header:
        return [False] * len(secrets)
    try:
        given = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):
        return [False] * len(secrets)
    return [
        bool(secret) and hmac.compare_digest(hmac.new(secret.encode(), raw, hashlib.sha256).digest(), given)
        for secret in secrets
    ]


def delivery_check(*, topic: str, payload: Any) -> bool:
    """Refuse (Malformed) what `events_for` and ingest's delivery check would refuse, without mapping; whether
    the delivery means an event at all (`checkouts/delete` and an order with neither a checkout nor a cart
    token do not; one with only a cart token is stored, and the drain finds its checkout).

    The receiving request runs this, and stores the body; the inbox's drain maps it behind. It reads the
    same fields as the mapping, in the same order, naming the same field, at about a third of its cost
    (no snapshot is built); tests/checkouts/connectors/test_shopify.py holds the two to the same verdicts.
    """
    if not isinstance(payload, dict):
        raise Malformed("body", "Expected a JSON object.")
    if topic in CHECKOUT_TOPICS:
        occurred = required_text(payload, "updated_at")
        currency = _currency(payload.get("currency")) or _currency(payload.get("presentment_currency"))
        if not currency:
            raise Malformed("currency", "Required.")
        presentment = _currency(payload.get("presentment_currency"))
        converted = presentment != currency and bool(presentment)
        for code in (currency, presentment if converted else currency):
            if code not in CURRENCIES:  # ingest's rule, checked here so the drain does not refuse it
                raise Malformed("checkout.currency", f"'{code}' is not an ISO 4217 currency code.")
        customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
        email = optional_text(payload, "email") or optional_text(customer, "email")
        required_text(payload, "token")
        _price_check(payload, "total_price", converted, required_field=True)
        _line_items_check(_list(payload, "line_items"), converted)
        for index, code in enumerate(_list(payload, "discount_codes")):
            _discount(code, index)
        for source in ("subtotal_price", "total_tax"):
            if payload.get(source) is not None:
                _price_check(payload, source, converted)
        _moment(occurred)
        _email_check(email)
        return True
    if topic == "orders/create":
        if not (optional_text(payload, "checkout_token") or optional_text(payload, "cart_token")):
            return False
        email = optional_text(payload, "email") or optional_text(payload, "contact_email")
        occurred = required_text(payload, "created_at")
        required(payload, "id")
        for index, code in enumerate(_list(payload, "discount_codes")):
            _discount(code, index)
        _moment(occurred)
        _email_check(email)
        return True
    return False


def _moment(text: str) -> None:
    try:
        if parse_datetime(text) is not None:
            return
    except ValueError:
        pass
    raise Malformed("occurredAt", "Expected an ISO 8601 date and time.")


_email = EmailValidator()


def _email_check(email: str) -> None:
    if email and not email_surely_valid(email):
        try:
            _email(email)
        except ValidationError:
            raise Malformed("checkout.buyerInfo.email", "Enter a valid email address.") from None


def _price_check(payload: dict, key: str, converted: bool, *, required_field: bool = False) -> None:
    if required_field or payload.get(key) is not None:
        decimal_text(payload.get(key), key)
    money_set = payload.get(f"{key}_set")
    if converted and isinstance(money_set, dict) and isinstance(money_set.get("presentment_money"), dict):
        decimal_text(money_set["presentment_money"].get("amount"), f"{key}_set")


# A price as Shopify writes it ("20.00"): certainly one `decimal_text` takes, so the check skips the Decimal.
# Anything else (JSON numbers, exponents, signs, spaces, junk) goes through `decimal_text` for its verdict.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")


def _amount_check(value: Any, field: str) -> None:
    if not (type(value) is str and _PLAIN_AMOUNT.fullmatch(value)):
        decimal_text(value, field)


def _line_items_check(items: list, converted: bool) -> None:
    # The receiving request runs this for up to 100 line items a delivery: the common item (a dict with a
    # title, a plain price and a whole quantity, nothing converted) is passed in one pass of plain lookups;
    # any other is checked field by field, naming the field, in the mapping's order.
    plain = _PLAIN_AMOUNT.fullmatch
    for index, item in enumerate(items):
        if type(item) is dict and not converted:
            title, price, quantity = item.get("title"), item.get("price"), item.get("quantity")
            if (
                type(title) is str
                and title
                and type(price) is str
                and plain(price)
                and type(quantity) is int
                and quantity >= 1
            ):
                continue
        _line_item_check(item, index, converted)


def _line_item_check(item: Any, index: int, converted: bool) -> None:
    if not isinstance(item, dict):
        raise Malformed(f"line_items[{index}]", "Expected an object.")
    title = item.get("title")
    if not ((type(title) is str and title) or optional_text(item, "presentment_title")):
        raise Malformed(f"line_items[{index}].title", "Required.")
    _amount_check(item.get("price"), f"line_items[{index}].price")
    quantity = item.get("quantity")
    if type(quantity) is not int or quantity < 1:
        raise Malformed(f"line_items[{index}].quantity", "Expected a whole number of at least 1.")
    price_set = item.get("price_set") if converted else None
    if isinstance(price_set, dict) and isinstance(price_set.get("presentment_money"), dict):
        _amount_check(price_set["presentment_money"].get("amount"), f"line_items[{index}]")


def events_for(
    *, topic: str, payload: Any, webhook_id: str, checkout_for_cart: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """The checkout events one delivery means ([] for a topic that changes nothing); Malformed if unreadable.

    An order names its checkout by `checkout_token`; one without it but with a `cart_token` completes the
    checkout `checkout_for_cart` gives for that cart (the drain's `checkout_token_for_cart`: the store's
    one open checkout with that cart id, "" if none or several), and nothing if it gives none.
    """
    if not isinstance(payload, dict):
        raise Malformed("body", "Expected a JSON object.")
    if topic in CHECKOUT_TOPICS:
        occurred = required_text(payload, "updated_at")
        return [
            {
                "eventId": f"shopify:{webhook_id}",
                "type": "checkout.updated",
                "occurredAt": occurred,
                "checkout": checkout_snapshot(payload),
            }
        ]
    if topic == "orders/create":
        token = optional_text(payload, "checkout_token")
        cart = "" if token else optional_text(payload, "cart_token")
        if not (token or cart):
            return []  # a draft or POS order: no checkout to complete
        email = optional_text(payload, "email") or optional_text(payload, "contact_email")
        occurred = required_text(payload, "created_at")
        order_id = str(required(payload, "id"))[:100]
        # What the order used, even none: a recovery is credited to the discount code it carries.
        discounts = (
            [_discount(code, index) for index, code in enumerate(_list(payload, "discount_codes"))]
            if "discount_codes" in payload
            else None
        )
        if cart:
            token = checkout_for_cart(cart[:100]) if checkout_for_cart else ""
            if not token:
                return []  # no one checkout of this store has that cart: complete none rather than guess
        checkout: dict[str, Any] = {"id": token}
        if email:
            checkout["buyerInfo"] = {"email": email}
        if discounts is not None:
            checkout["appliedDiscounts"] = discounts
        return [
            {
                "eventId": f"shopify:{webhook_id}",
                "type": "checkout.completed",
                "occurredAt": occurred,
                "checkout": checkout,
                "orderId": order_id,
            }
        ]
    return []


def checkout_snapshot(payload: dict[str, Any]) -> dict[str, Any]:
    """A Shopify checkout (webhook shape) in the ingest vocabulary (Wix's names)."""
    currency = _currency(payload.get("currency")) or _currency(payload.get("presentment_currency"))
    if not currency:
        raise Malformed("currency", "Required.")
    presentment = _currency(payload.get("presentment_currency"))
    converted = presentment if presentment and presentment != currency else ""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    billing = payload.get("billing_address") if isinstance(payload.get("billing_address"), dict) else {}
    email = optional_text(payload, "email") or optional_text(customer, "email")
    snapshot: dict[str, Any] = {
        "id": required_text(payload, "token"),
        "currency": currency,
        "totalPrice": _price(payload, "total_price", converted, required_field=True),
        "buyerInfo": {"email": email or ""},
        "contactDetails": {
            "firstName": optional_text(customer, "first_name") or optional_text(billing, "first_name"),
            "lastName": optional_text(customer, "last_name") or optional_text(billing, "last_name"),
            "phone": optional_text(payload, "phone")
            or optional_text(customer, "phone")
            or optional_text(billing, "phone"),
        },
        "lineItems": [_line_item(item, index, converted) for index, item in enumerate(_list(payload, "line_items"))],
        "appliedDiscounts": [_discount(code, index) for index, code in enumerate(_list(payload, "discount_codes"))],
    }
    if customer.get("id") is not None:
        snapshot["buyerInfo"]["contactId"] = str(customer["id"])[:100]
    if converted:
        snapshot["conversionCurrency"] = converted
    if payload.get("cart_token"):
        snapshot["cartId"] = str(payload["cart_token"])[:100]
    if locale := optional_text(payload, "customer_locale"):
        snapshot["buyerLanguage"] = locale[:16]
    if country := country_code(payload.get("shipping_address"), billing, key="country_code"):
        snapshot["buyerCountry"] = country
    if url := optional_text(payload, "abandoned_checkout_url"):
        snapshot["checkoutUrl"] = url
    for source, target in (("subtotal_price", "subtotalPrice"), ("total_tax", "taxPrice")):
        if payload.get(source) is not None:
            snapshot[target] = _price(payload, source, converted)
    consent = {
        key: payload[name]
        for key, name in (("email", "buyer_accepts_marketing"), ("sms", "buyer_accepts_sms_marketing"))
        if isinstance(payload.get(name), bool)
    }
    if consent:
        snapshot["marketingConsent"] = consent
    return snapshot


def _currency(value: Any) -> str:
    # An old REST doc shows `currency` as an object: read its code then.
    if isinstance(value, dict):
        value = value.get("currency") or value.get("code")
    return value.upper() if isinstance(value, str) and len(value) == 3 else ""


def _list(payload: dict, key: str) -> list:
    value = payload.get(key) or []
    if not isinstance(value, list):
        raise Malformed(key, "Expected a list.")
    return value


def _price(payload: dict, key: str, converted: str, *, required_field: bool = False) -> dict[str, str]:
    """`{"amount"}` from the decimal string, plus the presentment amount when a `<key>_set` gives it."""
    amount = decimal_text(payload.get(key), key) if required_field or payload.get(key) is not None else "0"
    price = {"amount": amount}
    money_set = payload.get(f"{key}_set")
    if converted and isinstance(money_set, dict) and isinstance(money_set.get("presentment_money"), dict):
        price["convertedAmount"] = decimal_text(money_set["presentment_money"].get("amount"), f"{key}_set")
    return price


def _line_item(item: Any, index: int, converted: str) -> dict[str, Any]:
    where = f"line_items[{index}]"
    if not isinstance(item, dict):
        raise Malformed(where, "Expected an object.")
    title = optional_text(item, "title") or optional_text(item, "presentment_title")
    if not title:
        raise Malformed(f"{where}.title", "Required.")
    line: dict[str, Any] = {
        "id": str(item.get("key") or item.get("id") or item.get("variant_id") or index)[:100],
        "quantity": item.get("quantity"),
        "productName": {"original": title[:200]},
        "price": {"amount": decimal_text(item.get("price"), f"{where}.price")},
    }
    if not isinstance(line["quantity"], int) or isinstance(line["quantity"], bool) or line["quantity"] < 1:
        raise Malformed(f"{where}.quantity", "Expected a whole number of at least 1.")
    price_set = item.get("price_set")
    if converted and isinstance(price_set, dict) and isinstance(price_set.get("presentment_money"), dict):
        line["price"]["convertedAmount"] = decimal_text(price_set["presentment_money"].get("amount"), where)
    if variant := optional_text(item, "variant_title"):
        line["descriptionLines"] = [{"name": {"original": "Variant"}, "plainText": {"original": variant[:200]}}]
    if sku := optional_text(item, "sku"):
        line["physicalProperties"] = {"sku": sku[:40]}
    if item.get("product_id") is not None:
        options = {"variantId": str(item["variant_id"])} if item.get("variant_id") is not None else {}
        line["catalogReference"] = {
            "catalogItemId": str(item["product_id"])[:36],
            "appId": "shopify",
            "options": options,
        }
    if image := optional_text(item, "image_url"):
        line["image"] = {"url": image}
    return line


def _discount(code: Any, index: int) -> dict[str, Any]:
    if not isinstance(code, dict) or not optional_text(code, "code"):
        raise Malformed(f"discount_codes[{index}].code", "Required.")
    amount = decimal_text(code.get("amount") or "0", f"discount_codes[{index}].amount")
    return {"coupon": {"code": code["code"][:50], "amount": {"amount": amount}}}


def webhook_url(connection) -> str:
    return settings.COMEBACK_PUBLIC_URL + reverse("connect:shopify", args=[connection.token])


def _setup_steps(connection) -> list[SetupStep]:
    return [
        SetupStep(
            "In your Shopify admin, open Settings › Apps and sales channels › Develop apps, create an app, give "
            "its Admin API the read_orders scope (read_customers too, for names and emails in backfills) and "
            "install it. Paste its API secret key (client secret) and Admin API access token here."
        ),
        SetupStep(
            "In the app's configuration (or Settings › Notifications › Webhooks), subscribe this address, format "
            "JSON, to checkouts/create, checkouts/update, checkouts/delete and orders/create.",
            copy={"Webhook URL": webhook_url(connection)},
        ),
        SetupStep(
            "Webhooks made on the Notifications page are signed with that page's key, not the app's: if you used "
            "it, paste that key as the client secret instead."
        ),
        SetupStep(
            "Send a test event (above), then start a checkout on your store and leave it: it appears under "
            "Checkouts once it has been idle for your abandonment delay."
        ),
    ]


def _test_events(connection) -> list[dict[str, Any]]:
    token = f"comeback-test-{uuid.uuid4().hex[:12]}"
    now = timezone.now().isoformat()
    checkout = {
        "token": token,
        "email": "test-buyer@example.com",
        "currency": connection.store.currency,
        "updated_at": now,
        "total_price": "42.50",
        "subtotal_price": "40.00",
        "line_items": [
            {
                "key": "test",
                "title": "Test item",
                "variant_title": "Blue",
                "sku": "TEST-1",
                "quantity": 2,
                "price": "20.00",
            }
        ],
    }
    order = {"id": f"test-{token}", "checkout_token": token, "created_at": now}
    return [
        *events_for(topic="checkouts/update", payload=checkout, webhook_id=f"test-{token}-1"),
        *events_for(topic="orders/create", payload=order, webhook_id=f"test-{token}-2"),
    ]


def _validate(values: dict[str, Any]) -> dict[str, str]:
    domain = values.get("shop_domain") or ""
    if domain and not domain.endswith(".myshopify.com"):
        return {"shop_domain": "Use the shop's myshopify.com domain, e.g. acme.myshopify.com."}
    return {}


register(
    Connector(
        platform="shopify",
        setup_steps=_setup_steps,
        test_events=_test_events,
        settings_fields={
            "shop_domain": "Shop domain (acme.myshopify.com)",
            "api_version": f"Admin API version (default {DEFAULT_API_VERSION})",
            "api_base_url": "Admin API base URL (leave empty to use the shop's own)",
        },
        credentials={
            "secret": "Client secret (API secret key) that signs webhooks",
            "secondary_secret": "Admin API access token (for backfills)",
        },
        validate_settings=_validate,
        backfill=backfill,
        summary="Checkout and order webhooks, plus a backfill of abandoned checkouts.",
    )
)
