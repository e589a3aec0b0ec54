"""The legacy Wix Stores "Abandoned Carts" webhook events (reference §7), as checkout events.

A store that used to receive Cart Abandoned / Cart Recovered from Wix Stores can forward
the same JSON here and keep its feed: each event becomes the `checkout.updated` or
`checkout.completed` event the ingest service applies. The cart id is the checkout id in
both, so a recovery finds its abandonment. Event ids are derived from the event itself,
so a webhook retried by the forwarder is recognised as a replay, not applied twice.
"""

import math
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Store
from ..wix import decimal_str

# Legacy identityType → the Wix buyerInfo id field it fills.
# Wix Stores' cap on cart totals.
LEGACY_MAX_TOTAL = Decimal("999999999.99")
IDENTITY_FIELDS = {"MEMBER": "memberId", "VISITOR": "visitorId", "ADMIN": "userId", "CONTACT": "contactId"}


class StrictCharField(serializers.CharField):
    """A JSON string, never a number turned into one: exactly what the schema documents."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "number", "minimum": 0, "maximum": float(LEGACY_MAX_TOTAL)})
class LegacyAmountField(serializers.Field):
    """Wix Stores sent totals as JSON numbers; kept as Decimal, rounded to the stored 4 places."""

    default_error_messages = {"invalid": "A number is required.", "range": "Must be between 0 and 999999999.99."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        if not 0 <= data <= LEGACY_MAX_TOTAL:  # before Decimal: a huge value would not quantize
            self.fail("range")
        return Decimal(str(data)).quantize(Decimal("0.0001"))

    def to_representation(self, value):
        return float(value)


class LegacyBuyerInfoSerializer(serializers.Serializer):
    id = StrictCharField(required=False, allow_blank=True, max_length=100)
    identityType = serializers.ChoiceField(choices=list(IDENTITY_FIELDS), required=False)
    email = serializers.EmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
    phone = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    firstName = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    lastName = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=100)


class LegacyTotalsSerializer(serializers.Serializer):
    subtotal = LegacyAmountField(required=False, allow_null=True)
    total = LegacyAmountField(required=False, allow_null=True)
    formattedTotal = StrictCharField(required=False, allow_blank=True, max_length=100)


class CartAbandonedEventSerializer(serializers.Serializer):
    """Wix Stores' Cart Abandoned event."""

    cartId = StrictCharField(max_length=100)
    creationTime = serializers.DateTimeField(required=False, allow_null=True)
    abandonTime = serializers.DateTimeField()
    buyerInfo = LegacyBuyerInfoSerializer(required=False)
    itemsCount = StrictIntegerField(required=False, min_value=0)
    couponId = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=100)
    totals = LegacyTotalsSerializer(required=False)
    checkoutUrl = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    checkoutId = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=100)


class CartRecoveredEventSerializer(serializers.Serializer):
    """Wix Stores' Cart Recovered event."""

    cartId = StrictCharField(max_length=100)
    recoveredTime = serializers.DateTimeField()
    creationTime = serializers.DateTimeField(required=False, allow_null=True)
    abandonedTime = serializers.DateTimeField(required=False, allow_null=True)
    checkoutId = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=100)


def _iso(moment) -> str:
    return moment.isoformat()


def cart_abandoned_to_event(data: dict[str, Any], *, store: Store) -> dict[str, Any]:
    """A validated Cart Abandoned event as a `checkout.updated` event.

    The cart's last activity is its creation time when given (Wix counts abandonment from
    it), so the next abandonment sweep picks it up; otherwise the abandonment time.
    """
    buyer = data.get("buyerInfo") or {}
    buyer_info: dict[str, str] = {}
    if buyer.get("email"):
        buyer_info["email"] = buyer["email"]
    if buyer.get("id") and buyer.get("identityType"):
        buyer_info[IDENTITY_FIELDS[buyer["identityType"]]] = buyer["id"]
    contact = {key: buyer[key] for key in ("firstName", "lastName", "phone") if buyer.get(key)}
    totals = data.get("totals") or {}
    checkout: dict[str, Any] = {
        "id": data["cartId"],
        "cartId": data["cartId"],
        "buyerInfo": buyer_info,
        "contactDetails": contact,
        "currency": store.currency,
        "totalPrice": {"amount": decimal_str(totals.get("total") or Decimal(0))},
        "subtotalPrice": {"amount": decimal_str(totals.get("subtotal") or Decimal(0))},
    }
    if data.get("checkoutUrl"):
        checkout["checkoutUrl"] = data["checkoutUrl"]
    return {
        "eventId": f"wix-stores:cart-abandoned:{data['cartId']}:{_iso(data['abandonTime'])}",
        "type": "checkout.updated",
        "occurredAt": _iso(data.get("creationTime") or data["abandonTime"]),
        "checkout": checkout,
    }


def cart_recovered_to_event(data: dict[str, Any], *, store: Store) -> dict[str, Any]:
    """A validated Cart Recovered event as a `checkout.completed` event."""
    return {
        "eventId": f"wix-stores:cart-recovered:{data['cartId']}",
        "type": "checkout.completed",
        "occurredAt": _iso(data["recoveredTime"]),
        "checkout": {"id": data["cartId"]},
    }
