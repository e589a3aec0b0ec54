"""The Wix wire shape of an abandoned checkout: the one JSON representation of the product.

The API, the webhooks and the exports all render through `abandoned_checkout_to_wix`, so
the shape is defined once. It follows Wix's REST conventions: camelCase REST names (no
leading underscores), ISO-8601 UTC timestamps with milliseconds and `Z`, money as decimal
strings inside MultiCurrencyPrice, unset optional fields omitted, and `activities`,
`lineItems` and `appliedDiscounts` always present.

Plain functions rather than DRF fields: a page of 100 checkouts renders in a few
milliseconds, and the same code serves webhook payloads built in bulk by the sweep.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel.core import Locale
from babel.numbers import get_currency_precision, get_currency_symbol, get_decimal_symbol, get_group_symbol
from django.conf import settings
from rest_framework import serializers

if TYPE_CHECKING:
    from .models import AbandonedCheckout, Activity, Store


# Cached: a sweep batch renders thousands of checkouts sharing one creation time.
@lru_cache(maxsize=1024)
def iso(value: datetime) -> str:
    """2023-05-03T08:26:07.512Z"""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decimal_str(value: Decimal) -> str:
    """255.0000 → "255", 10.5000 → "10.5": Wix's decimal strings, never exponent notation."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@lru_cache(maxsize=512)
def _currency_format(language: str) -> tuple[Locale, Any]:
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (ValueError, LookupError):
        locale = Locale.parse("en")
    return locale, locale.currency_formats["standard"]


@dataclass(frozen=True)
class _MoneyFormat:
    prefix: str
    suffix: str
    primary: int
    secondary: int
    decimal: str
    group: str
    quantum: Decimal


@lru_cache(maxsize=1024)
def _money_format(language: str, currency: str) -> _MoneyFormat | None:
    """CLDR's layout for one locale and currency, read once from Babel."""
    locale, pattern = _currency_format(language)
    prefix, suffix = pattern.prefix[0], pattern.suffix[0]
    if "¤¤" in prefix + suffix or "'" in prefix + suffix:
        return None  # unusual patterns: let Babel do the whole job
    symbol = get_currency_symbol(currency, locale)
    layout = _MoneyFormat(
        prefix=prefix.replace("¤", symbol),
        suffix=suffix.replace("¤", symbol),
        primary=pattern.grouping[0],
        secondary=pattern.grouping[1],
        decimal=get_decimal_symbol(locale),
        group=get_group_symbol(locale),
        quantum=Decimal(1).scaleb(-get_currency_precision(currency)),
    )
    # Locales with rules this layout does not model (minimum grouping digits, ...) keep Babel.
    for probe in _PROBES:
        if _apply(layout, probe) != pattern.apply(probe, locale, currency=currency, currency_digits=True):
            return None
    return layout


_PROBES = [Decimal(v) for v in ("0", "7.5", "999.995", "1000", "12345.678", "1234567.891", "123456789012.5")]


def _apply(layout: _MoneyFormat, amount: Decimal) -> str:
    text = format(amount.quantize(layout.quantum, ROUND_HALF_EVEN), "f")
    whole, _, fraction = text.partition(".")
    if len(whole) > layout.primary:
        head, tail = whole[: -layout.primary], whole[-layout.primary :]
        groups = [tail]
        while len(head) > layout.secondary:
            groups.append(head[-layout.secondary :])
            head = head[: -layout.secondary]
        groups.append(head)
        whole = layout.group.join(reversed(groups))
    number = f"{whole}{layout.decimal}{fraction}" if fraction else whole
    return f"{layout.prefix}{number}{layout.suffix}"


def format_money(amount: Decimal, currency: str, language: str = "en") -> str:
    """$255.00 for USD in English, 255,00 € for EUR in German (Babel's CLDR data).

    Babel's own `format_currency` costs ~60 µs a call, and a page of 100 checkouts with
    their line items needs hundreds: the layout is read from Babel once per locale and
    currency and applied here (tests check it against Babel for many locales).
    """
    language = language or "en"
    layout = _money_format(language, currency)
    if layout is None or amount < 0:
        locale, pattern = _currency_format(language)
        return pattern.apply(amount, locale, currency=currency, currency_digits=True)
    return _apply(layout, amount)


def multi_currency_price(
    amount: Decimal,
    converted: Decimal | None,
    currency: str,
    conversion_currency: str,
    language: str,
    rate: Decimal | None = None,
) -> dict[str, str]:
    """Wix's MultiCurrencyPrice. `convertedAmount` is the amount in the buyer's currency: as given, or
    at the checkout's own `rate` (its converted total over its total). With neither, nothing was
    converted: the converted amount is the amount, in the store's currency, never the store's amount
    dressed in the buyer's currency symbol.
    """
    if converted is None and rate is not None and conversion_currency and conversion_currency != currency:
        converted = (amount * rate).quantize(Decimal(1).scaleb(-get_currency_precision(conversion_currency)))
    text, formatted = decimal_str(amount), format_money(amount, currency, language)
    if converted is None:  # the amount itself, in the same currency: the same two strings
        return {
            "amount": text,
            "convertedAmount": text,
            "formattedAmount": formatted,
            "formattedConvertedAmount": formatted,
        }
    return {
        "amount": text,
        "convertedAmount": decimal_str(converted),
        "formattedAmount": formatted,
        "formattedConvertedAmount": format_money(converted, conversion_currency or currency, language),
    }


def conversion_rate(amount: Decimal, converted: Decimal | None) -> Decimal | None:
    """The rate a checkout's converted total implies, for its parts that came without their own."""
    return converted / amount if converted is not None and amount else None


# A Wix Media Manager file id (`<owner>_<hash>~mv2.<ext>`), and the URL Wix serves it at.
WIX_MEDIA_ID = re.compile(r"[0-9A-Za-z]+_[0-9A-Za-z]+~mv2\.[0-9A-Za-z]+")
WIX_MEDIA_URL = re.compile(r"https://static\.wixstatic\.com/media/([^/?#]+)")


def image_to_wix(image: dict[str, Any]) -> dict[str, Any]:
    """A line item's image as Wix's SDK can use it.

    The SDK turns an image with an `id` into `wix:image://v1/<id>/…`, dropping its URL. So the id
    is only sent when it is a Wix media id (given, or read from a static.wixstatic.com URL); any
    other id (a storefront's own product key) is left out and the SDK keeps the real URL.
    """
    out = {key: value for key, value in image.items() if key != "id"}
    media_id = str(image.get("id") or "")
    if not WIX_MEDIA_ID.fullmatch(media_id):
        served = WIX_MEDIA_URL.match(str(image.get("url") or ""))
        media_id = served.group(1) if served and WIX_MEDIA_ID.fullmatch(served.group(1)) else ""
    return {"id": media_id, **out} if media_id else out


def line_item_to_wix(item: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(item.get("image"), dict):
        return item
    return {**item, "image": image_to_wix(item["image"])}


def checkout_url(abandoned_checkout_id, store_id) -> str:
    """The recovery link: our Redirect To Checkout route, as Wix builds it."""
    return (
        f"{settings.COMEBACK_PUBLIC_URL}/ecom/v1/abandoned-checkout/{abandoned_checkout_id}"
        f"/redirect-to-checkout?metasiteId={store_id}"
    )


def activity_to_wix(activity: "Activity") -> dict[str, str]:
    return {"createdDate": iso(activity.created_at), "type": activity.type}


def _set(target: dict, key: str, value: Any) -> None:
    if value not in ("", None):
        target[key] = value


def buyer_info(data: Any) -> dict[str, str]:
    info: dict[str, str] = {}
    _set(info, "contactId", data.contact_id)
    _set(info, "email", data.buyer_email)
    # visitorId / memberId / userId are a oneof in Wix: the most specific identity wins.
    if data.user_id:
        info["userId"] = data.user_id
    elif data.member_id:
        info["memberId"] = data.member_id
    elif data.visitor_id:
        info["visitorId"] = data.visitor_id
    return info


def contact_details(data: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    _set(details, "firstName", data.first_name)
    _set(details, "lastName", data.last_name)
    _set(details, "phone", data.phone)
    _set(details, "company", data.company)
    _set(details, "vatId", data.vat_id)
    return details


def abandoned_checkout_to_wix(
    abandoned_checkout: "AbandonedCheckout",
    activities: Iterable["Activity"] | None = None,
    *,
    store: "Store | None" = None,
) -> dict[str, Any]:
    """Render one abandoned checkout exactly as Wix's REST API does.

    `activities` are the latest ones, newest first (as the selectors prefetch them); they
    are emitted oldest first, at most 20, like Wix's log. When omitted, the prefetched
    `latest_activities` attribute is used.
    """
    ac = abandoned_checkout
    store = store or ac.store
    language = store.language
    if activities is None:
        activities = getattr(ac, "latest_activities", ())
    activity_list = list(activities)[:20]
    activity_list.reverse()

    body: dict[str, Any] = {
        "id": str(ac.id),
        "createdDate": iso(ac.created_at),
        "updatedDate": iso(ac.updated_at),
    }
    _set(body, "checkoutId", ac.checkout_external_id)
    _set(body, "cartId", ac.cart_id)
    body["status"] = ac.status
    _set(body, "buyerLanguage", ac.buyer_language)
    body["buyerInfo"] = buyer_info(ac)
    body["contactDetails"] = contact_details(ac)
    body["currency"] = ac.currency
    _set(body, "conversionCurrency", ac.conversion_currency)
    body["checkoutUrl"] = checkout_url(ac.id, ac.store_id)
    rate = conversion_rate(ac.total, ac.total_converted)
    body["totalPrice"] = multi_currency_price(
        ac.total, ac.total_converted, ac.currency, ac.conversion_currency, language
    )
    body["activities"] = [activity_to_wix(activity) for activity in activity_list]
    if ac.checkout_recovered_at:
        body["checkoutRecoveredDate"] = iso(ac.checkout_recovered_at)
    body["subtotalPrice"] = multi_currency_price(
        ac.subtotal, ac.subtotal_converted, ac.currency, ac.conversion_currency, language, rate
    )
    body["lineItems"] = [line_item_to_wix(item) for item in ac.line_items or []]
    body["appliedDiscounts"] = ac.applied_discounts or []
    return body


class AbandonedCheckoutWixSerializer(serializers.BaseSerializer):
    """DRF face of `abandoned_checkout_to_wix`, for views and the OpenAPI schema."""

    def to_representation(self, instance: "AbandonedCheckout") -> dict[str, Any]:
        return abandoned_checkout_to_wix(instance, store=self.context.get("store"))
