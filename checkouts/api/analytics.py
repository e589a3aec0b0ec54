"""Get Abandoned Checkout Analytics (reference §3.8): recovery figures over days in the store's time zone."""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

from ..models import AbandonedCheckout, Store
from ..selectors import abandoned_checkout_totals

METRICS = (
    "RECOVERABLE_VALUE",
    "RECOVERABLE_CHECKOUT_COUNT",
    "AVERAGE_RECOVERABLE_CHECKOUT_VALUE",
    "RECOVERED_VALUE",
    "RECOVERED_CHECKOUT_COUNT",
    "RECOVERY_RATE",
)
# No checkout is older or newer than these; clamping keeps far-off dates valid and harmless.
EARLIEST = date(1970, 1, 1)
LATEST = date(9000, 1, 1)
CENT = Decimal("0.01")
DECIMAL = r"^\d+\.\d{2}$"


class AnalyticsRequestSerializer(serializers.Serializer):
    startDate = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="First day, inclusive (YYYY-MM-DD).")
    endDate = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="Last day, inclusive, in the site's zone.")
    metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=METRICS), max_length=6, required=False, help_text="Empty: all."
    )
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=AbandonedCheckout.Status.choices),
        max_length=2,
        required=False,
        help_text="Restricts every metric to checkouts in these states. Empty: both.",
    )

    def validate(self, attrs):
        if attrs["endDate"] < attrs["startDate"]:
            raise serializers.ValidationError({"endDate": "endDate must be on or after startDate."})
        return attrs


class AnalyticsResponseSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The store's currency; every amount is in it.")
    recoverableValue = serializers.RegexField(DECIMAL, required=False)
    recoverableCheckoutCount = serializers.IntegerField(required=False)
    averageRecoverableCheckoutValue = serializers.RegexField(DECIMAL, required=False)
    recoveredValue = serializers.RegexField(DECIMAL, required=False)
    recoveredCheckoutCount = serializers.IntegerField(required=False)
    recoveryRate = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="recovered / (recoverable + recovered)."
    )


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _midnight(day: date, store: Store) -> datetime:
    return datetime.combine(_clamp(day), time.min, tzinfo=store.zone)


def _clamp(day: date) -> date:
    return min(max(day, EARLIEST), LATEST)


def abandoned_checkout_analytics(*, store: Store, request: dict[str, Any]) -> dict[str, Any]:
    """The response body for a validated request: requested metrics only, money with two decimals."""
    start = _midnight(request["startDate"], store)
    # Clamped before the day is added: 9999-12-31 has no next day.
    end = _midnight(_clamp(request["endDate"]) + timedelta(days=1), store)
    totals = abandoned_checkout_totals(store=store, start=start, end=end, statuses=request.get("statuses"))
    wanted = set(request.get("metrics") or METRICS)
    recoverable, recovered = totals["recoverable_count"], totals["recovered_count"]
    figures = {
        "RECOVERABLE_VALUE": ("recoverableValue", _money(totals["recoverable_value"])),
        "RECOVERABLE_CHECKOUT_COUNT": ("recoverableCheckoutCount", recoverable),
        "AVERAGE_RECOVERABLE_CHECKOUT_VALUE": (
            "averageRecoverableCheckoutValue",
            _money(totals["recoverable_value"] / recoverable if recoverable else Decimal(0)),
        ),
        "RECOVERED_VALUE": ("recoveredValue", _money(totals["recovered_value"])),
        "RECOVERED_CHECKOUT_COUNT": ("recoveredCheckoutCount", recovered),
        "RECOVERY_RATE": ("recoveryRate", recovered / (recoverable + recovered) if recoverable + recovered else 0.0),
    }
    body: dict[str, Any] = {"currency": store.currency}
    for metric in METRICS:
        if metric in wanted:
            key, value = figures[metric]
            body[key] = value
    return body
