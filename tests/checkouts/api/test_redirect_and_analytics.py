"""The recovery link (public) and Get Analytics (in the store's time zone)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from checkouts.models import AbandonedCheckout
from tests.factories import AbandonedCheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db

ANALYTICS = "/ecom/v1/abandoned-checkout/get-analytics"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile Safari/604.1"


def buyer(agent: str = FIREFOX, address: str = "203.0.113.7") -> Client:
    """A buyer's browser opening the link from an email: no key, no session."""
    return Client(headers={"user-agent": agent}, REMOTE_ADDR=address)


def link(ac, store_id=None) -> str:
    return f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout?metasiteId={store_id or ac.store_id}"


def clicks(ac) -> int:
    return AbandonedCheckout.objects.get(pk=ac.pk).link_clicks


def test_the_link_in_checkout_url_counts_the_click_and_redirects(api, store):
    ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url="https://shop.example.com/checkout/42")
    checkout_url = api.get(f"/ecom/v1/abandoned-checkout/{ac.id}").json()["abandonedCheckout"]["checkoutUrl"]
    path = checkout_url[checkout_url.index("/ecom/") :]
    response = buyer().get(path)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/checkout/42"
    assert response["Cache-Control"] == "no-store"
    assert clicks(ac) == 1
    assert AbandonedCheckout.objects.get(pk=ac.pk).last_clicked_at is not None


def test_the_sdks_extra_query_parameter_and_a_stray_key_are_ignored(store):
    ac = AbandonedCheckoutFactory(store=store)
    response = buyer().get(link(ac) + f"&abandonedCheckoutId={ac.id}", HTTP_AUTHORIZATION="garbage")
    assert response.status_code == 302


def test_a_link_checked_with_head_or_an_odd_accept_header_still_works(store):
    ac = AbandonedCheckoutFactory(store=store)
    assert buyer().head(link(ac)).status_code == 302
    assert clicks(ac) == 0  # a mail client's link scanner is not the buyer
    assert buyer().get(link(ac), HTTP_ACCEPT="image/png").status_code == 302
    assert clicks(ac) == 1


def test_a_recovered_checkout_gets_a_friendly_page_and_no_click(store):
    ac = AbandonedCheckoutFactory(
        store=store, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=datetime.now(UTC)
    )
    response = buyer().get(link(ac))
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
    response = buyer().get(make_path(ac, other_store))
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert b"This link is no longer available" in response.content
    assert b"Traceback" not in response.content
    assert clicks(ac) == 0


def test_without_a_checkout_url_the_link_falls_back_to_the_storefront(store):
    ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url="")
    assert buyer().get(link(ac))["Location"] == "https://shop.example.com"
    bare = StoreFactory(storefront_url="")
    erased = AbandonedCheckoutFactory(store=bare, storefront_checkout_url="")
    response = buyer().get(link(erased))
    assert response.status_code == 404 and b"can no longer be opened" in response.content
    assert clicks(erased) == 0


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.net/checkout/42",
        "ftp://shop.example.com/checkout/42",
        "javascript:alert(1)",
        "//evil.example.net/checkout",
        "https://shop.example.com@evil.example.net/checkout",
        "https://evil.example.net\\@shop.example.com/checkout",
        "https:/\\evil.example.net",
        "https://shop.example.com.evil.example.net/",
        "https://shop.example.com:8443/checkout",
        "/relative/checkout",
    ],
)
def test_a_checkout_url_off_the_stores_hosts_gets_the_friendly_page_not_a_redirect(store, target):
    ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url=target)
    response = buyer().get(link(ac))
    assert response.status_code == 404 and "Location" not in response
    assert b"can no longer be opened" in response.content
    assert clicks(ac) == 0


def test_a_checkout_url_on_any_of_the_stores_hosts_redirects(store):
    store.storefront_hosts = ["shop.example.com", "checkout.example.org"]
    store.save()
    for target in ("https://checkout.example.org/c/1", "http://SHOP.example.com/c/2", "https://shop.example.com/c/3"):
        ac = AbandonedCheckoutFactory(store=store, storefront_checkout_url=target)
        assert buyer().get(link(ac))["Location"] == target


def test_a_click_counts_once_per_visitor_within_the_window(store):
    ac = AbandonedCheckoutFactory(store=store)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert buyer().get(link(ac)).status_code == 302  # a fresh client: the same address and browser
        assert clicks(ac) == 1
        buyer(SAFARI).get(link(ac))  # another device
        buyer(address="198.51.100.4").get(link(ac))  # another network
        assert clicks(ac) == 3
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        buyer().get(link(ac))
        assert clicks(ac) == 3
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        buyer().get(link(ac))
        assert clicks(ac) == 4


@pytest.mark.parametrize(
    "agent,headers",
    [
        ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)", {}),
        ("Mozilla/5.0 (compatible; Microsoft Defender SafeLinks)", {}),
        ("Barracuda Sentinel (EE)", {}),
        ("Mozilla/5.0 (compatible; proofpoint-urldefense)", {}),
        ("Mimecast-URL-Protect", {}),
        ("Google-Safety", {}),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}),
        ("Mozilla/5.0 (compatible; bingbot/2.0)", {}),
        ("", {}),
        (FIREFOX, {"purpose": "prefetch"}),
        (FIREFOX, {"sec-purpose": "prefetch;prerender"}),
    ],
)
def test_link_scanners_and_prefetches_are_redirected_but_not_counted(store, agent, headers):
    ac = AbandonedCheckoutFactory(store=store)
    response = Client(headers={"user-agent": agent, **headers}).get(link(ac))
    assert response.status_code == 302
    assert clicks(ac) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_of_one_visitor_count_once(store):
    import threading

    from django.db import connection

    ac = AbandonedCheckoutFactory(store=store)
    barrier = threading.Barrier(6)
    statuses = []

    def click():
        try:
            barrier.wait()
            statuses.append(buyer().get(link(ac)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 6
    assert clicks(ac) == 1


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
