"""The FilterSet reads days in the time zone it is given: the store's, never the server's."""

import zoneinfo
from datetime import datetime

import pytest

from checkouts.filters import AbandonedCheckoutFilter
from checkouts.models import AbandonedCheckout
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db


def test_a_filterset_without_a_time_zone_fails_loudly(store):
    with pytest.raises(TypeError, match="zone"):
        AbandonedCheckoutFilter({"created_after": "2026-11-01"}, queryset=AbandonedCheckout.objects.all())


def test_a_day_starts_at_midnight_in_the_given_zone(store):
    # 23:30 UTC on 31 October is already 1 November in Auckland, still 31 October in New York.
    AbandonedCheckoutFactory(store=store, created_at=datetime(2026, 10, 31, 23, 30, tzinfo=zoneinfo.ZoneInfo("UTC")))
    queryset = AbandonedCheckout.objects.for_store(store)

    def count(zone: str) -> int:
        filterset = AbandonedCheckoutFilter(
            {"created_after": "2026-11-01"}, queryset=queryset, zone=zoneinfo.ZoneInfo(zone)
        )
        assert filterset.is_valid(), filterset.errors
        return filterset.qs.count()

    assert (count("Pacific/Auckland"), count("America/New_York")) == (1, 0)
