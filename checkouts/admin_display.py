"""How the admin shows values: money in its currency (Babel), times in the store's zone, codes by name."""

from collections.abc import Callable
from datetime import datetime

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .models import AbandonedCheckout, Activity, Store
from .templatetags.dashboard import exact_text, money_text
from .views.present import line_items_view

ACTIVITY_LABELS = dict(Activity.Type.choices)
# Reason codes are the automations app's; it adds their labels here from its admin module.
REASON_LABELS: dict[str, str] = {}


def _store_of(obj, store_attr: str) -> Store | None:
    for hop in store_attr.split("__") if store_attr else []:
        obj = getattr(obj, hop, None)
    return obj if isinstance(obj, Store) else None


def local_time(field: str, description: str | None = None, *, store_attr: str = "store") -> Callable:
    """A list column showing `field` in the row's store's time zone and language."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj) -> str:
        value: datetime | None = getattr(obj, field)
        return exact_text(value, _store_of(obj, store_attr)) if value else "–"

    column.__name__ = f"{field}_local"
    return column


def money(field: str, description: str | None = None, *, currency_field: str | None = "currency") -> Callable:
    """A list column showing an amount formatted in its currency (the store's if the row has none)."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj) -> str:
        store = _store_of(obj, "store")
        currency = getattr(obj, currency_field, "") if currency_field else ""
        value = getattr(obj, field)
        return money_text(value, currency or (store.currency if store else "USD"), store) if value is not None else "–"

    column.__name__ = f"{field}_money"
    return column


def code_label(field: str, labels: dict[str, str], description: str | None = None) -> Callable:
    """A list column showing a code by its readable name (the code itself if it has none)."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj) -> str:
        code = getattr(obj, field)
        return labels.get(code, code) if code else "–"

    column.__name__ = f"{field}_label"
    return column


def line_items_table(obj: AbandonedCheckout) -> str:
    """The items as a small read-only table: product, options, quantity, price."""
    store = obj.store if obj.store_id else None
    if store is None:
        return "–"
    items = line_items_view(obj, store)
    if not items:
        return "No items."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.name,
                "; ".join(f"{option.name}: {option.value}" for option in item.options),
                item.sku,
                item.quantity,
                item.price,
            )
            for item in items
        ),
    )
    return format_html(
        "<table><thead><tr><th>Product</th><th>Options</th><th>SKU</th><th>Quantity</th><th>Price</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )
