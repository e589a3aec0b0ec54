"""Turning an abandoned checkout's stored Wix-shaped JSON into what the pages show."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..models import AbandonedCheckout, Activity, Store
from ..templatetags.dashboard import dashboard_language
from ..wix import checkout_url, format_money

# The list shows this many product names per row before "+ N more".
NAMES_PER_ROW = 2
ACTIVITY_LABELS = dict(Activity.Type.choices)
# A colour swatch is drawn only for a plain hex code: the value goes into an SVG attribute.
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")


def _text(value: Any) -> str:
    """Wix's {original, translated} strings, or a plain string."""
    if isinstance(value, dict):
        return str(value.get("translated") or value.get("original") or "")
    return str(value or "")


def _quantity(item: dict) -> int:
    quantity = item.get("quantity")
    return quantity if isinstance(quantity, int) and quantity > 0 else 1


@dataclass(frozen=True)
class ItemsSummary:
    units: int
    names: list[str]
    more: int
    image_url: str
    image_alt: str


def items_summary(line_items: Any) -> ItemsSummary:
    items = [item for item in line_items if isinstance(item, dict)] if isinstance(line_items, list) else []
    names = [_text(item.get("productName")) or "Item" for item in items]
    first_image = next((item.get("image") for item in items if isinstance(item.get("image"), dict)), None) or {}
    return ItemsSummary(
        units=sum(_quantity(item) for item in items),
        names=names[:NAMES_PER_ROW],
        more=max(0, len(names) - NAMES_PER_ROW),
        image_url=str(first_image.get("url") or ""),
        image_alt=str(first_image.get("altText") or (names[0] if names else "")),
    )


def decorate_rows(rows: list[AbandonedCheckout]) -> list[AbandonedCheckout]:
    """Attach what a list row shows but the model does not hold (no queries)."""
    for row in rows:
        row.items = items_summary(row.line_items)
        row.recovery_url = checkout_url(row.pk, row.store_id)
        row.last_activity_label = ACTIVITY_LABELS.get(row.last_activity_type, row.last_activity_type)
    return rows


def _price(value: Any, currency: str, store: Store) -> str:
    """A MultiCurrencyPrice in the reader's language; its stored formattedAmount (the storefront's
    language) only when the amount itself cannot be read."""
    if not isinstance(value, dict):
        return ""
    try:
        return format_money(Decimal(str(value.get("amount"))), currency, dashboard_language())
    except (InvalidOperation, ValueError, TypeError):
        return str(value.get("formattedAmount") or "")


def _line_total(value: Any, quantity: int, currency: str) -> str:
    """Quantity × unit price in the checkout's currency; empty when the price cannot be read."""
    if not isinstance(value, dict):
        return ""
    try:
        return format_money(Decimal(str(value.get("amount"))) * quantity, currency, dashboard_language())
    except (InvalidOperation, ValueError, TypeError):
        return ""


@dataclass(frozen=True)
class Option:
    name: str
    value: str
    color: str = ""


@dataclass(frozen=True)
class LineItemView:
    name: str
    quantity: int
    price: str
    price_before: str
    line_total: str
    image_url: str
    image_alt: str
    sku: str
    options: list[Option] = field(default_factory=list)


def line_items_view(ac: AbandonedCheckout, store: Store) -> list[LineItemView]:
    views = []
    for item in ac.line_items if isinstance(ac.line_items, list) else []:
        if not isinstance(item, dict):
            continue
        options = []
        for line in item.get("descriptionLines") or []:
            if not isinstance(line, dict):
                continue
            color = line.get("colorInfo") if isinstance(line.get("colorInfo"), dict) else None
            value = _text(color) if color else _text(line.get("plainText") or line.get("plainTextValue"))
            code = str(color.get("code") or "") if color else ""
            options.append(Option(_text(line.get("name")), value, code if HEX_COLOR.fullmatch(code) else ""))
        image = item.get("image") if isinstance(item.get("image"), dict) else {}
        price = _price(item.get("price"), ac.currency, store)
        before = _price(item.get("priceBeforeDiscounts"), ac.currency, store)
        quantity = _quantity(item)
        physical = item.get("physicalProperties") if isinstance(item.get("physicalProperties"), dict) else {}
        views.append(
            LineItemView(
                name=_text(item.get("productName")) or "Item",
                quantity=quantity,
                price=price,
                price_before=before if before and before != price else "",
                line_total=_line_total(item.get("price"), quantity, ac.currency),
                image_url=str(image.get("url") or ""),
                image_alt=str(image.get("altText") or _text(item.get("productName"))),
                sku=str(physical.get("sku") or ""),
                options=options,
            )
        )
    return views


@dataclass(frozen=True)
class DiscountView:
    label: str
    kind: str
    amount: str


_DISCOUNT_KINDS = {"GLOBAL": "Whole order", "SPECIFIC_ITEMS": "Some items", "SHIPPING": "Shipping"}


def discounts_view(ac: AbandonedCheckout, store: Store) -> list[DiscountView]:
    views = []
    for discount in ac.applied_discounts if isinstance(ac.applied_discounts, list) else []:
        if not isinstance(discount, dict):
            continue
        coupon, merchant, rule = (discount.get(key) for key in ("coupon", "merchantDiscount", "discountRule"))
        if isinstance(coupon, dict):
            label = f"Coupon {coupon.get('code') or ''}".strip()
            if coupon.get("name"):
                label += f" ({coupon['name']})"
            source = coupon
        elif isinstance(rule, dict):
            label, source = _text(rule.get("name")) or "Automatic discount", rule
        elif isinstance(merchant, dict):
            percentage = merchant.get("percentage")
            label = f"Merchant discount {percentage}%" if percentage else "Merchant discount"
            source = merchant
        else:
            continue
        kind = _DISCOUNT_KINDS.get(str(discount.get("discountType") or ""), "")
        views.append(DiscountView(label, kind, _price(source.get("amount"), ac.currency, store)))
    return views
