"""Ingest input serializers: storefront checkout events, in Wix's abandoned-checkout vocabulary.

A storefront reports a checkout with the same field names the API returns (`buyerInfo`,
`contactDetails`, `totalPrice`, `lineItems`, ...), so there is one vocabulary end to end.
Limits are Wix's (reference §6) so nothing we accept is something Wix would refuse.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from .models.store import CURRENCIES
from .serializer_compile import Check, Unsure, compiled, plain_decimal

MAX_AMOUNT = Decimal("1e15")


class AmountField(serializers.DecimalField):
    """A decimal string (or number) between 0 and 1e15."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 4)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)

    def compiled_check(self) -> Check:
        # Fifteen whole digits stay under 1e15 and, with four places, within twenty digits.
        return plain_decimal(self, whole_digits=15)


class CurrencyField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).upper()
        if value not in CURRENCIES:
            raise serializers.ValidationError(f"'{value}' is not an ISO 4217 currency code.")
        return value

    def compiled_check(self) -> Check:
        allow_blank, allow_null = self.allow_blank, self.allow_null

        def check(value: Any) -> Any:
            # Three ASCII letters are within every CharField rule; anything else is DRF's to judge.
            if type(value) is str and len(value) == 3 and value.isascii() and value.upper() in CURRENCIES:
                return value.upper()
            if (value is None and allow_null) or (value == "" and allow_blank):
                return value
            raise Unsure

        return check


class PriceSerializer(serializers.Serializer):
    amount = AmountField()
    convertedAmount = AmountField(required=False, allow_null=True)


class TranslatableSerializer(serializers.Serializer):
    original = serializers.CharField(min_length=1, max_length=200)
    translated = serializers.CharField(required=False, allow_blank=True, max_length=400)


class BuyerInfoSerializer(serializers.Serializer):
    visitorId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    memberId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    userId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    contactId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email = serializers.EmailField(required=False, allow_blank=True, allow_null=True, max_length=254)


class VatIdSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=50)
    type = serializers.ChoiceField(choices=["CPF", "CNPJ"])


class ContactDetailsSerializer(serializers.Serializer):
    firstName = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    lastName = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    phone = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    company = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1000)
    vatId = VatIdSerializer(required=False, allow_null=True)


class CatalogReferenceSerializer(serializers.Serializer):
    catalogItemId = serializers.CharField(min_length=1, max_length=36)
    appId = serializers.CharField(max_length=100)
    options = serializers.DictField(required=False)


class DescriptionLineSerializer(serializers.Serializer):
    name = TranslatableSerializer()
    plainText = TranslatableSerializer(required=False)
    colorInfo = serializers.DictField(required=False)


class ImageSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    url = serializers.URLField(max_length=2000)
    height = serializers.IntegerField(required=False, min_value=0, max_value=100000)
    width = serializers.IntegerField(required=False, min_value=0, max_value=100000)
    altText = serializers.CharField(required=False, allow_blank=True, max_length=500)


class PhysicalPropertiesSerializer(serializers.Serializer):
    weight = serializers.FloatField(required=False, min_value=0)
    sku = serializers.CharField(required=False, allow_blank=True, max_length=40)
    shippable = serializers.BooleanField(default=False)


class LineItemSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    catalogReference = CatalogReferenceSerializer(required=False)
    productName = TranslatableSerializer()
    price = PriceSerializer()
    priceBeforeDiscounts = PriceSerializer(required=False)
    descriptionLines = DescriptionLineSerializer(many=True, required=False, max_length=300)
    image = ImageSerializer(required=False)
    physicalProperties = PhysicalPropertiesSerializer(required=False)


class CouponSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_blank=True, max_length=50)
    code = serializers.CharField(max_length=50)
    name = serializers.CharField(required=False, allow_blank=True, max_length=60)
    amount = PriceSerializer()


class MerchantDiscountSerializer(serializers.Serializer):
    amount = PriceSerializer()
    percentage = serializers.IntegerField(required=False, min_value=1, max_value=100)


class DiscountRuleNameSerializer(serializers.Serializer):
    original = serializers.CharField(min_length=1, max_length=256)
    translated = serializers.CharField(required=False, allow_blank=True, max_length=500)


class DiscountRuleSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    name = DiscountRuleNameSerializer()
    amount = PriceSerializer()


class AppliedDiscountSerializer(serializers.Serializer):
    coupon = CouponSerializer(required=False)
    merchantDiscount = MerchantDiscountSerializer(required=False)
    discountRule = DiscountRuleSerializer(required=False)
    discountType = serializers.ChoiceField(choices=["GLOBAL", "SPECIFIC_ITEMS", "SHIPPING"], required=False)
    lineItemIds = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=300)

    def validate(self, attrs):
        sources = [key for key in ("coupon", "merchantDiscount", "discountRule") if attrs.get(key)]
        if len(sources) != 1:
            raise serializers.ValidationError("Exactly one of coupon, merchantDiscount or discountRule is required.")
        return attrs


class MarketingConsentSerializer(serializers.Serializer):
    email = serializers.BooleanField(required=False, allow_null=True)
    sms = serializers.BooleanField(required=False, allow_null=True)


class CheckoutSnapshotSerializer(serializers.Serializer):
    """The checkout inside a `checkout.updated` event."""

    id = serializers.CharField(min_length=1, max_length=100)
    cartId = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    buyerLanguage = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=16)
    buyerInfo = BuyerInfoSerializer(required=False)
    contactDetails = ContactDetailsSerializer(required=False)
    currency = CurrencyField()
    conversionCurrency = CurrencyField(required=False, allow_blank=True, allow_null=True)
    subtotalPrice = PriceSerializer(required=False)
    totalPrice = PriceSerializer()
    # Not in Wix's AbandonedCheckout: optional lines a storefront may send so the dashboard and
    # the recovery email show every part of the total. They never appear in the Wix API.
    shippingPrice = PriceSerializer(
        required=False, allow_null=True, help_text="Shipping, if known. Comeback's own: not in Wix's schema."
    )
    taxPrice = PriceSerializer(
        required=False, allow_null=True, help_text="Tax, if known. Comeback's own: not in Wix's schema."
    )
    marketingConsent = MarketingConsentSerializer(
        required=False,
        allow_null=True,
        help_text="What the buyer agreed to at checkout, if the platform says. Comeback's own: not in Wix's schema.",
    )
    buyerCountry = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        min_length=2,
        max_length=2,
        help_text="The buyer's country, ISO 3166-1 alpha-2 (the shipping address's, else the billing's), "
        "if known. Comeback's own: not in Wix's schema.",
    )
    buyerTimeZone = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=64,
        help_text="The buyer's IANA time zone (e.g. Europe/Paris), if known: quiet hours follow it. "
        "Comeback's own: not in Wix's schema.",
    )
    lineItems = LineItemSerializer(many=True, required=False, max_length=300)
    appliedDiscounts = AppliedDiscountSerializer(many=True, required=False, max_length=100)
    checkoutUrl = serializers.URLField(required=False, allow_blank=True, max_length=2000)


class CheckoutRefSerializer(serializers.Serializer):
    """The checkout inside a `checkout.completed` event: its id is enough.

    The buyer's email may come along, for the "any order by the same email" recovery rule
    when the storefront never reported the checkout itself. So may the discounts the order
    used: the order is what says which coupon paid, and a recovery is credited to the
    discount code it carries.
    """

    id = serializers.CharField(min_length=1, max_length=100)
    buyerInfo = BuyerInfoSerializer(required=False)
    appliedDiscounts = AppliedDiscountSerializer(many=True, required=False, max_length=100)


class CheckoutEventSerializer(serializers.Serializer):
    TYPES = ("checkout.updated", "checkout.completed")

    eventId = serializers.CharField(min_length=1, max_length=255)
    type = serializers.ChoiceField(choices=TYPES)
    occurredAt = serializers.DateTimeField()
    checkout = serializers.DictField()
    orderId = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def validate_occurredAt(self, value: datetime) -> datetime:
        # Snapshots are ordered by occurredAt: one from the future would make every later real
        # update of its checkout "stale" until that moment came.
        skew = timedelta(seconds=settings.COMEBACK_INGEST_MAX_CLOCK_SKEW_SECONDS)
        if value > timezone.now() + skew:
            raise serializers.ValidationError(
                f"occurredAt is more than {skew.total_seconds():.0f} seconds ahead of this server's clock."
            )
        return value

    def validate(self, attrs):
        inner = _SNAPSHOT if attrs["type"] == "checkout.updated" else _REF
        try:
            attrs["checkout"] = inner.run_validation(attrs["checkout"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"checkout": exc.detail}) from exc
        return attrs


# Built once: binding a nested serializer's fields costs more than validating an event with
# them. Validation keeps no state on these instances, so every request thread shares them.
_SNAPSHOT = CheckoutSnapshotSerializer()
_REF = CheckoutRefSerializer()
_EVENT = CheckoutEventSerializer()


def _inner_validate(attrs: dict) -> dict:
    attrs["checkout"] = (_FAST_SNAPSHOT if attrs["type"] == "checkout.updated" else _FAST_REF)(attrs["checkout"])
    return attrs


# The same rules as plain checks, for the events they can vouch for (`serializer_compile`).
_FAST_SNAPSHOT = compiled(_SNAPSHOT)
_FAST_REF = compiled(_REF)
_FAST_EVENT = compiled(_EVENT, validate=_inner_validate)


def checkout_event_validate(raw: dict) -> tuple[dict | None, list[dict[str, str]]]:
    """The validated event, or None and its field violations (`checkout.lineItems[0].quantity`)."""
    try:
        return _FAST_EVENT(raw), []
    except Unsure:
        pass  # the serializer decides, and words the errors
    try:
        return _EVENT.run_validation(raw), []
    except serializers.ValidationError as exc:
        return None, field_violations(exc.detail)


def field_violations(errors: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested errors into Wix fieldViolations: `checkout.lineItems[2].quantity`."""
    violations: list[dict[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "non_field_errors":
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            violations.extend(field_violations(value, child))
    elif isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            for item in errors:
                code = getattr(item, "code", "invalid")
                violations.append({"field": path or "body", "description": str(item), "violatedRule": code})
        else:
            for index, item in enumerate(errors):
                if item:
                    violations.extend(field_violations(item, f"{path}[{index}]"))
    else:
        violations.append({"field": path or "body", "description": str(errors), "violatedRule": "invalid"})
    return violations


__all__ = [
    "CheckoutEventSerializer",
    "checkout_event_validate",
    "field_violations",
]
