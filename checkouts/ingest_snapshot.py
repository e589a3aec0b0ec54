"""A validated checkout snapshot, in Wix's vocabulary, as the model's field values."""

from decimal import Decimal
from typing import Any

import orjson

from .search_text import search_text_for
from .wix import conversion_rate, decimal_str, multi_currency_price


def _price(
    data: dict | None, currency: str, conversion: str, language: str, rate: Decimal | None = None
) -> dict[str, str] | None:
    if not data:
        return None
    return multi_currency_price(data["amount"], data.get("convertedAmount"), currency, conversion, language, rate)


def _line_item(item: dict, currency: str, conversion: str, language: str, rate: Decimal | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if item.get("id"):
        out["id"] = item["id"]
    out["quantity"] = item["quantity"]
    for key in ("catalogReference", "productName"):
        if item.get(key):
            out[key] = dict(item[key])
    out["price"] = _price(item["price"], currency, conversion, language, rate)
    if item.get("priceBeforeDiscounts"):
        out["priceBeforeDiscounts"] = _price(item["priceBeforeDiscounts"], currency, conversion, language, rate)
    if item.get("descriptionLines"):
        out["descriptionLines"] = [
            {key: dict(value) for key, value in line.items() if value} for line in item["descriptionLines"]
        ]
    for key in ("image", "physicalProperties"):
        if item.get(key):
            out[key] = dict(item[key])
    return out


def _json_safe(value: Any) -> Any:
    """`value` with its Decimals as Wix's decimal strings: through orjson (in C) when it can write the rest."""
    try:
        return orjson.loads(orjson.dumps(value, default=_decimal_text))
    except TypeError:
        return _json_safe_slowly(value)


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return decimal_str(value)
    raise TypeError(type(value).__name__)


def _json_safe_slowly(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict):
        return {key: _json_safe_slowly(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe_slowly(item) for item in value]
    return value


def snapshot_from_wix(checkout: dict[str, Any], *, language: str, search_text: bool = True) -> dict[str, Any]:
    """Model field values (CheckoutData) from a validated checkout in Wix's vocabulary.

    `search_text=False` leaves out `search_text`, for a caller that derives it afterwards anyway.
    """
    buyer = checkout.get("buyerInfo") or {}
    contact = checkout.get("contactDetails") or {}
    currency = checkout["currency"]
    conversion = checkout.get("conversionCurrency") or ""
    total = checkout["totalPrice"]
    subtotal = checkout.get("subtotalPrice") or {}
    shipping = checkout.get("shippingPrice") or {}
    tax = checkout.get("taxPrice") or {}
    email = buyer.get("email") or ""
    # Parts sent without their converted amount are converted at the rate the totals imply.
    rate = conversion_rate(total["amount"], total.get("convertedAmount"))
    values = {
        "cart_id": checkout.get("cartId") or "",
        "buyer_language": checkout.get("buyerLanguage") or "",
        "contact_id": buyer.get("contactId") or "",
        "visitor_id": buyer.get("visitorId") or "",
        "member_id": buyer.get("memberId") or "",
        "user_id": buyer.get("userId") or "",
        "buyer_email": email,
        "email_key": email.lower(),
        "first_name": contact.get("firstName") or "",
        "last_name": contact.get("lastName") or "",
        "phone": contact.get("phone") or "",
        "company": contact.get("company") or "",
        "vat_id": dict(contact["vatId"]) if contact.get("vatId") else None,
        "currency": currency,
        "conversion_currency": conversion if conversion != currency else "",
        "subtotal": subtotal.get("amount", Decimal(0)),
        "subtotal_converted": subtotal.get("convertedAmount"),
        "total": total["amount"],
        "total_converted": total.get("convertedAmount"),
        "shipping": shipping.get("amount"),
        "shipping_converted": shipping.get("convertedAmount"),
        "tax": tax.get("amount"),
        "tax_converted": tax.get("convertedAmount"),
        "marketing_consent": dict(checkout["marketingConsent"]) if checkout.get("marketingConsent") else None,
        "buyer_country": (checkout.get("buyerCountry") or "").upper(),
        "buyer_time_zone": checkout.get("buyerTimeZone") or "",
        "line_items": _json_safe(
            [_line_item(item, currency, conversion, language, rate) for item in checkout.get("lineItems") or []]
        ),
        "applied_discounts": applied_discounts_from_wix(
            checkout.get("appliedDiscounts") or [],
            currency=currency,
            conversion=conversion,
            language=language,
            rate=rate,
        ),
        "storefront_checkout_url": checkout.get("checkoutUrl") or "",
    }
    if search_text:
        values["search_text"] = search_text_for(
            first_name=values["first_name"],
            last_name=values["last_name"],
            buyer_email=email,
            phone=values["phone"],
        )
    return values


def applied_discounts_from_wix(
    discounts: list[dict], *, currency: str, conversion: str, language: str, rate: Decimal | None
) -> list[dict[str, Any]]:
    """The stored form of validated `appliedDiscounts`, priced as the checkout's other amounts."""
    return _json_safe([_discount(discount, currency, conversion, language, rate) for discount in discounts])


def _discount(discount: dict, currency: str, conversion: str, language: str, rate: Decimal | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in ("coupon", "merchantDiscount", "discountRule"):
        if discount.get(source):
            body = dict(discount[source])
            body["amount"] = _price(body["amount"], currency, conversion, language, rate)
            out[source] = body
    for key in ("discountType", "lineItemIds"):
        if discount.get(key):
            out[key] = discount[key]
    return out
