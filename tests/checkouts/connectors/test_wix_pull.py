"""The Wix pull against a Comeback live server standing in for Wix: the two speak the same wire format.

A source store on the live server plays the Wix site; a second store pulls it through a Wix
connection (API key + site id + base URL). Backfill, then incremental changes; rows and statuses
match; a rerun writes nothing; 429s are waited out.
"""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checkouts.connectors.wix.sync import PullFailed, wix_pull
from checkouts.connectors.wix.tasks import wix_pull_task
from checkouts.models import AbandonedCheckout, Activity, Checkout, Connection, IngestedEvent, WebhookEvent
from checkouts.services import abandoned_checkout_recover, api_key_create
from tests.factories import AbandonedCheckoutFactory, ActivityFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 10, 1, 9, tzinfo=UTC)
ITEM = {
    "id": "li-1",
    "quantity": 2,
    "productName": {"original": "Mug"},
    "price": {"amount": "20", "convertedAmount": "20"},
    "image": {"url": "https://shop.example.com/mug.png"},
}


@pytest.fixture
def site(settings):
    """The Wix site: a store on the live server, with abandoned and recovered checkouts."""
    settings.COMEBACK_API_RATE_LIMIT = "100000/minute"
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    store = StoreFactory(currency="USD")
    for index in range(23):
        created = START + timedelta(hours=index)
        recovered = index % 4 == 0
        ac = AbandonedCheckoutFactory(
            store=store,
            created_at=created,
            updated_at=created + (timedelta(minutes=90) if recovered else timedelta(0)),
            cart_id=f"cart-{index}",
            buyer_email=f"buyer{index}@example.com",
            total=Decimal(10 + index),
            subtotal=Decimal(10 + index),
            line_items=[ITEM],
            status="RECOVERED" if recovered else "ABANDONED",
            checkout_recovered_at=created + timedelta(minutes=90) if recovered else None,
        )
        if index % 3 == 0:
            ActivityFactory(abandoned_checkout=ac, type="SCHEDULED", created_at=created)
            ActivityFactory(abandoned_checkout=ac, type="EMAIL_SENT", created_at=created + timedelta(minutes=30))
    _, key = api_key_create(store=store, name="wix pull", scopes=["read"])
    return store, key


@pytest.fixture
def mirror(site, live_server):
    store, key = site
    target = StoreFactory(currency="USD")
    return Connection.objects.create(
        store=target,
        platform="wix",
        secret=key,
        settings={"site_id": str(store.id), "base_url": live_server.url},
    )


def ms(moment: datetime | None) -> datetime | None:
    """The wire carries milliseconds (as Wix's does)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) if moment else None


def as_pulled(store) -> dict:
    return {
        ac.checkout_external_id: (
            ac.status,
            ms(ac.created_at),
            ms(ac.checkout_recovered_at),
            ac.total,
            ac.buyer_email,
            [item["productName"]["original"] for item in ac.line_items],
            sorted((a.type, ms(a.created_at)) for a in ac.activities.filter(detail__source="wix")),
        )
        for ac in AbandonedCheckout.objects.filter(store=store)
    }


def as_source(store) -> dict:
    return {
        ac.cart_id: (
            ac.status,
            ms(ac.created_at),
            ms(ac.checkout_recovered_at),
            ac.total,
            ac.buyer_email,
            [item["productName"]["original"] for item in ac.line_items],
            sorted((a.type, ms(a.created_at)) for a in ac.activities.all()),
        )
        for ac in AbandonedCheckout.objects.filter(store=store)
    }


def written(store) -> tuple:
    return (
        list(AbandonedCheckout.objects.filter(store=store).order_by("id").values()),
        list(Checkout.objects.filter(store=store).order_by("id").values()),
        IngestedEvent.objects.filter(store=store).count(),
        Activity.objects.filter(store=store).count(),
        WebhookEvent.objects.count(),
    )


def test_backfill_then_increments_then_a_rerun_that_writes_nothing(site, mirror):
    source, _ = site
    result = wix_pull(mirror, page_size=7)
    assert result.rows == 23 and result.pages == 4 and result.refused == 0
    assert as_pulled(mirror.store) == as_source(source)
    assert Activity.objects.filter(store=mirror.store).count() == 16  # Wix's log came across
    mirror.refresh_from_db()
    assert mirror.watermark and mirror.last_error == ""

    # Changes on the site: one recovered, one new.
    target = AbandonedCheckout.objects.get(store=source, cart_id="cart-5")
    abandoned_checkout_recover(abandoned_checkout_id=target.pk, recovered_at=target.created_at + timedelta(hours=1))
    AbandonedCheckoutFactory(
        store=source, cart_id="cart-new", created_at=datetime.now(UTC) - timedelta(minutes=5), line_items=[ITEM]
    )
    mirror.refresh_from_db()
    again = wix_pull(mirror, page_size=7)
    assert again.rows < 23  # only what changed since the watermark (and its millisecond)
    assert as_pulled(mirror.store) == as_source(source)
    assert as_pulled(mirror.store)["cart-5"][0] == "RECOVERED"

    before = written(mirror.store)
    mirror.refresh_from_db()
    wix_pull(mirror, page_size=7)
    assert written(mirror.store) == before


def test_the_task_pulls(site, mirror):
    assert wix_pull_task(str(mirror.pk)) == 23
    assert as_pulled(mirror.store) == as_source(site[0])


def test_a_rate_limited_site_is_waited_out(site, mirror, settings, caplog):
    settings.COMEBACK_API_RATE_LIMIT = "2/second"
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        assert wix_pull(mirror, page_size=3).rows == 23
    assert as_pulled(mirror.store) == as_source(site[0])
    assert "too many 429 error responses" not in caplog.text
    assert "Retry-After" in caplog.text or "Incremented Retry" in caplog.text  # it was refused, and waited


def test_bad_credentials_stop_the_sync_and_say_so(mirror):
    Connection.objects.filter(pk=mirror.pk).update(secret="cbk_nothing_here")
    mirror.refresh_from_db()
    with pytest.raises(PullFailed):
        wix_pull(mirror)
    mirror.refresh_from_db()
    assert "401" in mirror.last_error and not AbandonedCheckout.objects.filter(store=mirror.store).exists()


def test_a_base_url_on_a_private_network_is_refused(mirror):
    Connection.objects.filter(pk=mirror.pk).update(settings={**mirror.settings, "base_url": "http://10.0.0.8"})
    mirror.refresh_from_db()
    with pytest.raises(PullFailed, match="base URL"):
        wix_pull(mirror)


def test_a_paused_connection_is_not_pulled(mirror):
    Connection.objects.filter(pk=mirror.pk).update(status="paused")
    assert wix_pull_task(str(mirror.pk)) == 0
    assert not AbandonedCheckout.objects.filter(store=mirror.store).exists()


def test_a_row_the_ingest_refuses_is_skipped_and_reported_and_the_page_still_lands(site, mirror):
    source, _ = site
    AbandonedCheckout.objects.filter(store=source, cart_id="cart-7").update(buyer_email="not an email")
    result = wix_pull(mirror, page_size=10)
    assert result.refused == 1
    pulled, expected = as_pulled(mirror.store), as_source(source)
    del expected["cart-7"]
    assert pulled == expected
    mirror.refresh_from_db()
    assert "skipped" in mirror.last_error and "email" in mirror.last_error
