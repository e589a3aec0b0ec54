"""Settings › Connect your store as a merchant sees it: add Shopify, copy the webhook URL, send a test event."""

import pytest
from django.contrib.auth import get_user_model

from checkouts.models import Connection, Membership
from checkouts.services import store_create

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def merchant(settings, live_server):
    settings.COMEBACK_PUBLIC_URL = live_server.url
    store = store_create(name="Northwind", currency="USD", language="en", time_zone="UTC")
    user = get_user_model().objects.create_user("demo", "demo@example.com", PASSWORD)
    Membership.objects.create(user=user, store=store, role=Membership.Role.OWNER)
    return store


def test_a_merchant_connects_shopify_and_sends_a_test_event(page, shoot, merchant):
    log_in(page)
    page.goto("/settings/")
    page.get_by_role("link", name="Connect your store").click()
    page.get_by_role("link", name="Shopify").click()
    page.get_by_label("Shop domain").fill("northwind.myshopify.com")
    page.get_by_label("Client secret").fill("shpss_secret_1234")
    page.get_by_role("button", name="Add connection").click()
    connection = Connection.objects.get(store=merchant)
    assert page.get_by_text("shpss_secret_1234").is_visible()  # shown this once
    shoot(page, "connection-created")
    page.get_by_role("button", name="Copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()").endswith(f"/connect/shopify/{connection.token}/")
    page.get_by_role("button", name="Send a test event").click()
    assert page.get_by_text("Sent 2 test events").is_visible()
    assert page.get_by_text("shpss_secret_1234").count() == 0  # masked from now on
    assert page.get_by_text("in the last 24 h").first.is_visible()
    shoot(page, "connection-detail")
    page.get_by_role("button", name="Pause").click()
    assert page.get_by_text("Paused", exact=True).first.is_visible()
    page.get_by_role("link", name="Remove").click()
    page.get_by_role("button", name="Remove").click()
    assert page.get_by_text("No connection yet").is_visible()
