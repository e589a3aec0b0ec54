"""The recovery link (public) and Get Analytics (in the store's time zone)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from checkouts.models import AbandonedCheckout
from tests.factories import AbandonedCheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db

ANALYTICS = "/ecom/v1/abandoned-checkout/get-analytics"


def link(ac, store_id=None) -> str:
    return f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout?metasiteId={store_id or ac.store_id}"


def clicks(ac) -> int:
    return AbandonedCheckout.objects.get(pk=ac.pk).link_clicks


def test_the_link_in_checkout_url_counts_the_click_and_redirects(api, store):
    ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url="https://shop.example.com/checkout/42")
    checkout_url = api.get(f"/ecom/v1/abandoned-checkout/{ac.id}").json()["abandonedCheckout"]["checkoutUrl"]
    path = checkout_url[checkout_url.index("/ecom/") :]
    browser = Client()  # a buyer from an email: no key, no session
    for expected in (1, 2):
        response = browser.get(path)
        assert response.status_code == 302
        assert response["Location"] == "https://shop.example.com/checkout/42"
        assert response["Cache-Control"] == "no-store"
        assert clicks(ac) == expected
    assert AbandonedCheckout.objects.get(pk=ac.pk).last_clicked_at is not None


def test_the_sdks_extra_query_parameter_and_a_stray_key_are_ignored(store):
    ac = AbandonedCheckoutFactory(store=store)
    response = Client().get(link(ac) + f"&abandonedCheckoutId={ac.id}", HTTP_AUTHORIZATION="garbage")
    assert response.status_code == 302


def test_a_link_checked_with_head_or_an_odd_accept_header_still_works(store):
    ac = AbandonedCheckoutFactory(store=store)
    assert Client().head(link(ac)).status_code == 302
    assert clicks(ac) == 0  # a mail client's link scanner is not the buyer
    assert Client().get(link(ac), HTTP_ACCEPT="image/png").status_code == 302
    assert clicks(ac) == 1


def test_a_recovered_checkout_gets_a_friendly_page_and_no_click(store):
    ac = AbandonedCheckoutFactory(
        store=store, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=datetime.now(UTC)
    )
    response = Client().get(link(ac))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"already completed this order" in response.content and b"Acme" in response.content
    assert clicks(ac) == 0


@pytest.mark.parametrize(
    "make_path",
    [
        lambda ac, other: link(ac, other.id),  # another store's metasiteId
        lambda ac, other: f"/ecom/v1/abandoned-checkout/{uuid.uuid4()}/redirect-to-checkout?metasiteId={ac.store_id}",
        lambda ac, other: f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout",
        lambda ac, other: f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout?metasiteId=oops",
        lambda ac, other: f"/ecom/v1/abandoned-checkout/not-an-id/redirect-to-checkout?metasiteId={ac.store_id}",
    ],
    ids=["other store", "unknown id", "no metasiteId", "bad metasiteId", "bad id"],
)
def test_a_link_that_leads_nowhere_gets_a_friendly_404(store, other_store, make_path):
    ac = AbandonedCheckoutFactory(store=store)
    response = Client().get(make_path(ac, other_store))
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert b"This link is no longer available" in response.content
    assert b"Traceback" not in response.content
    assert clicks(ac) == 0


def test_without_a_checkout_url_the_link_falls_back_to_the_storefront(store):
    ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url="")
    assert Client().get(link(ac))["Location"] == "https://shop.example.com"
    bare = StoreFactory(storefront_url="")
    erased = AbandonedCheckoutFactory(store=bare, storefront_checkout_url="")
    response = Client().get(link(erased))
    assert response.status_code == 404 and b"can no longer be opened" in response.content
    assert clicks(erased) == 0


# --- Analytics --------------------------------------------------------------------------------


@pytest.fixture
def pacific(db):
    """A store in Los Angeles, with checkouts either side of its midnight."""
    store = StoreFactory(name="Pacific", time_zone="America/Los_Angeles", currency="USD")
    march_1_local = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 00:00 in Los Angeles
    rows = [
        (march_1_local - timedelta(minutes=30), "ABANDONED", "999.00"),  # Feb 28 locally: outside
        (march_1_local + timedelta(minutes=30), "ABANDONED", "100.00"),
        (march_1_local + timedelta(hours=10), "ABANDONED", "50.25"),
        (march_1_local + timedelta(hours=23), "RECOVERED", "80.10"),
        (march_1_local + timedelta(hours=24, minutes=1), "RECOVERED", "777.00"),  # Mar 2 locally: outside
    ]
    for created, status, total in rows:
        AbandonedCheckoutFactory(
            store=store,
            created_at=created,
            status=status,
            total=Decimal(total),
            checkout_recovered_at=created + timedelta(hours=1) if status == "RECOVERED" else None,
        )
    return store


def test_analytics_counts_days_in_the_store_time_zone(pacific, make_api):
    response = make_api(pacific).post(ANALYTICS, {"startDate": "2026-03-01", "endDate": "2026-03-01"})
    assert response.status_code == 200
    assert response.json() == {
        "currency": "USD",
        "recoverableValue": "150.25",
        "recoverableCheckoutCount": 2,
        "averageRecoverableCheckoutValue": "75.13",
        "recoveredValue": "80.10",
        "recoveredCheckoutCount": 1,
        "recoveryRate": pytest.approx(1 / 3),
    }


def test_analytics_returns_only_the_requested_metrics(pacific, make_api):
    body = {"startDate": "2026-02-28", "endDate": "2026-03-02", "metrics": ["RECOVERED_VALUE", "RECOVERY_RATE"]}
    response = make_api(pacific).post(ANALYTICS, body)
    assert response.json() == {"currency": "USD", "recoveredValue": "857.10", "recoveryRate": 0.4}


def test_analytics_statuses_scope_every_metric(pacific, make_api):
    body = {"startDate": "2026-03-01", "endDate": "2026-03-01", "statuses": ["ABANDONED"]}
    response = make_api(pacific).post(ANALYTICS, body).json()
    assert response["recoveredValue"] == "0.00" and response["recoveredCheckoutCount"] == 0
    assert response["recoverableCheckoutCount"] == 2 and response["recoveryRate"] == 0


def test_analytics_of_an_empty_range_is_zero(pacific, make_api):
    response = make_api(pacific).post(ANALYTICS, {"startDate": "2020-01-01", "endDate": "2020-01-31"}).json()
    assert response["recoverableValue"] == "0.00" and response["averageRecoverableCheckoutValue"] == "0.00"
    assert response["recoveryRate"] == 0


@pytest.mark.parametrize(
    "body,field",
    [
        ({"endDate": "2026-03-01"}, "startDate"),
        ({"startDate": "2026-03-02", "endDate": "2026-03-01"}, "endDate"),
        ({"startDate": "03/01/2026", "endDate": "2026-03-01"}, "startDate"),
        ({"startDate": "2026-03-01", "endDate": "2026-03-01", "metrics": ["PROFIT"]}, "metrics[0]"),
        ({"startDate": "2026-03-01", "endDate": "2026-03-01", "statuses": ["LOST"]}, "statuses[0]"),
    ],
)
def test_analytics_validates_its_request(api, body, field):
    response = api.post(ANALYTICS, body)
    assert response.status_code == 400
    assert field in [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]]
