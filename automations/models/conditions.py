"""Targeting: the conditions an automation, and each of its steps, puts on a checkout.

All of them must hold (AND). An automation's are checked when a checkout is enrolled and
again when each step falls due; a step's when it falls due.
"""

import re
from collections.abc import Callable
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from checkouts.models.checkout import AMOUNT

_SEPARATORS = re.compile(r"[\s,;]+")


def tokens(text: str) -> list[str]:
    """The entries of a list typed one per line or comma-separated, as written."""
    if not text:
        return []  # most conditions are blank, and read for every checkout the sweep enrols
    return [token for token in _SEPARATORS.split(text) if token]


def line_references(abandoned_checkout) -> set[str]:
    """The product ids and SKUs in a cart, case-folded (SKUs are typed by hand)."""
    found = set()
    for item in abandoned_checkout.line_items or []:
        catalog_id = (item.get("catalogReference") or {}).get("catalogItemId")
        sku = (item.get("physicalProperties") or {}).get("sku")
        found.update(value.casefold() for value in (catalog_id, sku) if value)
    return found


def item_count(abandoned_checkout) -> int:
    return sum(int(item.get("quantity") or 0) for item in abandoned_checkout.line_items or [])


class Conditions(models.Model):
    """The targeting fields, shared by automations and their steps. Blank means no condition."""

    class Buyer(models.TextChoices):
        ANY = "", "Any buyer"
        FIRST_TIME = "FIRST_TIME", "First-time buyers (no completed order with this email)"
        RETURNING = "RETURNING", "Returning buyers (an order completed with this email)"

    min_total = models.DecimalField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Only checkouts worth at least this much (store currency).",
        **AMOUNT,
    )
    max_total = models.DecimalField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Only checkouts worth at most this much (store currency).",
        **AMOUNT,
    )
    products_included = models.TextField(
        blank=True, help_text="Only carts holding at least one of these product ids or SKUs (one per line or comma)."
    )
    products_excluded = models.TextField(
        blank=True, help_text="Never carts holding any of these product ids or SKUs (one per line or comma)."
    )
    currencies = models.CharField(
        max_length=200, blank=True, help_text="Only checkouts in one of these currencies, e.g. EUR, USD."
    )
    countries = models.CharField(
        max_length=200,
        blank=True,
        help_text="Only buyers in one of these countries (ISO codes, e.g. FR, DE), from the shipping address, "
        "else the billing one. A checkout whose country is not known does not match.",
    )
    buyer = models.CharField(max_length=16, choices=Buyer.choices, blank=True, default=Buyer.ANY)
    require_phone = models.BooleanField(default=False, help_text="Only checkouts whose buyer left a phone number.")
    min_items = models.PositiveIntegerField(null=True, blank=True, help_text="Quantities added up.")
    max_items = models.PositiveIntegerField(null=True, blank=True, help_text="Quantities added up.")

    CONDITION_FIELDS = (
        "min_total",
        "max_total",
        "products_included",
        "products_excluded",
        "currencies",
        "countries",
        "buyer",
        "require_phone",
        "min_items",
        "max_items",
    )

    class Meta:
        abstract = True

    def condition_phrases(self, money: Callable = str) -> list[str]:
        """The conditions in words, for the automation's page ("worth at most $500.00")."""
        phrases = []
        for name, phrase in (("min_total", "worth at least {}"), ("max_total", "worth at most {}")):
            if getattr(self, name) is not None:
                phrases.append(phrase.format(money(getattr(self, name))))
        if self.products_included:
            phrases.append(f"holding one of {', '.join(tokens(self.products_included))}")
        if self.products_excluded:
            phrases.append(f"holding none of {', '.join(tokens(self.products_excluded))}")
        if self.currencies:
            phrases.append(f"in {self.currencies}")
        if self.countries:
            phrases.append(f"from buyers in {self.countries}")
        if self.buyer:
            phrases.append("from first-time buyers" if self.buyer == self.Buyer.FIRST_TIME else "from returning buyers")
        if self.require_phone:
            phrases.append("whose buyer left a phone number")
        if self.min_items is not None:
            phrases.append(f"with at least {self.min_items} item{'s' if self.min_items != 1 else ''}")
        if self.max_items is not None:
            phrases.append(f"with at most {self.max_items} item{'s' if self.max_items != 1 else ''}")
        return phrases

    @property
    def needs_order_history(self) -> bool:
        return bool(self.buyer)

    def unmet_condition(self, abandoned_checkout, *, returning: bool = False) -> dict | None:
        """The first condition the checkout fails, as {"condition": field, "text": what it asks},
        or None when all hold. `returning`: whether its email has completed an order before."""
        ac = abandoned_checkout
        total = ac.total if ac.total is not None else Decimal(0)
        if self.min_total is not None and total < self.min_total:
            return _unmet("min_total", f"cart total at least {self.min_total}")
        if self.max_total is not None and total > self.max_total:
            return _unmet("max_total", f"cart total at most {self.max_total}")
        if self.products_included or self.products_excluded:
            in_cart = line_references(ac)
            wanted = {token.casefold() for token in tokens(self.products_included)}
            if wanted and not wanted & in_cart:
                return _unmet("products_included", f"cart contains one of {', '.join(tokens(self.products_included))}")
            unwanted = [token for token in tokens(self.products_excluded) if token.casefold() in in_cart]
            if unwanted:
                return _unmet("products_excluded", f"cart does not contain {', '.join(unwanted)}")
        currencies = {token.upper() for token in tokens(self.currencies)}
        if currencies and ac.currency.upper() not in currencies:
            return _unmet("currencies", f"currency is one of {', '.join(sorted(currencies))}")
        countries = {token.upper() for token in tokens(self.countries)}
        if countries and (ac.buyer_country or "").upper() not in countries:
            return _unmet("countries", f"buyer's country is one of {', '.join(sorted(countries))}")
        if self.buyer == self.Buyer.FIRST_TIME and returning:
            return _unmet("buyer", "first-time buyer")
        if self.buyer == self.Buyer.RETURNING and not returning:
            return _unmet("buyer", "returning buyer")
        if self.require_phone and not ac.phone:
            return _unmet("require_phone", "buyer left a phone number")
        if self.min_items is not None or self.max_items is not None:
            count = item_count(ac)
            if self.min_items is not None and count < self.min_items:
                return _unmet("min_items", f"at least {self.min_items} items")
            if self.max_items is not None and count > self.max_items:
                return _unmet("max_items", f"at most {self.max_items} items")
        return None


def _unmet(condition: str, text: str) -> dict:
    return {"condition": condition, "text": text}
