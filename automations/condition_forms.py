"""The targeting conditions on the automation form and on each step's form."""

import re

from django import forms

from .models.conditions import Conditions, tokens

CONDITION_LABELS = {
    "min_total": "Minimum cart total",
    "max_total": "Maximum cart total",
    "products_included": "Cart contains one of these products or SKUs",
    "products_excluded": "Cart contains none of these products or SKUs",
    "currencies": "Checkout currency is one of",
    "countries": "Buyer's country is one of",
    "buyer": "Buyer",
    "require_phone": "Only buyers who left a phone number",
    "min_items": "Minimum number of items",
    "max_items": "Maximum number of items",
}
# A step's own, worded apart from the automation's so each label names one field on the page.
STEP_CONDITION_LABELS = {
    "min_total": "Only if the cart total is at least",
    "max_total": "Only if the cart total is at most",
    "products_included": "Only if the cart holds one of these products or SKUs",
    "products_excluded": "Only if the cart holds none of these products or SKUs",
    "currencies": "Only if the currency is one of",
    "countries": "Only if the buyer's country is one of",
    "buyer": "Only for",
    "require_phone": "Only if the buyer left a phone number",
    "min_items": "Only if the number of items is at least",
    "max_items": "Only if the number of items is at most",
}
CONDITION_WIDGETS = {
    "products_included": forms.Textarea(attrs={"rows": 2}),
    "products_excluded": forms.Textarea(attrs={"rows": 2}),
    "min_total": forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
    "max_total": forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
}
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_REFERENCE_MAX = 100


class ConditionsFormMixin:
    """Cleans the condition fields: lists normalised, bounds in order, each error on its field."""

    condition_fields = Conditions.CONDITION_FIELDS

    @property
    def has_conditions(self) -> bool:
        """Whether the conditions block starts open: some are set, or one has an error."""
        return any(self[name].errors or self[name].value() not in (None, "", False) for name in self.condition_fields)

    def clean_currencies(self) -> str:
        codes = tokens(self.cleaned_data.get("currencies", ""))
        for code in codes:
            if not _CURRENCY.match(code):
                raise forms.ValidationError(
                    f"“{code}” is not a currency code: use three letters, such as EUR.", code="currency"
                )
        return ", ".join(dict.fromkeys(code.upper() for code in codes))

    def clean_countries(self) -> str:
        codes = tokens(self.cleaned_data.get("countries", ""))
        for code in codes:
            if not _COUNTRY.match(code):
                raise forms.ValidationError(
                    f"“{code}” is not a country code: use two letters, such as FR.", code="country"
                )
        return ", ".join(dict.fromkeys(code.upper() for code in codes))

    def clean_products_included(self) -> str:
        return self._references("products_included")

    def clean_products_excluded(self) -> str:
        return self._references("products_excluded")

    def _references(self, name: str) -> str:
        references = tokens(self.cleaned_data.get(name, ""))
        for reference in references:
            if len(reference) > _REFERENCE_MAX:
                raise forms.ValidationError(
                    f"“{reference[:20]}…” is longer than a product id or SKU ({_REFERENCE_MAX} characters).",
                    code="reference",
                )
        return "\n".join(dict.fromkeys(references))

    def clean(self):
        data = super().clean()
        for low, high, what in (
            ("min_total", "max_total", "cart total"),
            ("min_items", "max_items", "number of items"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[high] < data[low]:
                self.add_error(high, f"Must not be below the minimum {what} ({data[low]}).")
        included = {reference.casefold() for reference in tokens(data.get("products_included", ""))}
        both = [ref for ref in tokens(data.get("products_excluded", "")) if ref.casefold() in included]
        if both:
            self.add_error("products_excluded", f"A cart cannot both contain and not contain {', '.join(both)}.")
        return data
