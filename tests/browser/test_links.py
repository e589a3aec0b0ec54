"""Recovery links and buyer-supplied images in a real browser: what a signed-in merchant sees."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from checkouts.models import AbandonedCheckout, Membership
from checkouts.services import store_create
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def merchant(settings, live_server):
    settings.COMEBACK_PUBLIC_URL = live_server.url
    store = store_create(name="Northwind Outfitters", storefront_url="https://northwind.shop.example.com")
    user = get_user_model().objects.create_user("demo", "demo@example.com", PASSWORD)
    Membership.objects.create(user=user, store=store, role=Membership.Role.OWNER)
    return store


def test_a_signed_in_merchant_opens_a_recovered_checkouts_link(page, shoot, merchant):
    ac = AbandonedCheckoutFactory(
        store=merchant, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=datetime.now(UTC)
    )
    log_in(page)
    page.goto(f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={merchant.pk}")
    assert page.get_by_role("heading", name="You have already completed this order").is_visible()
    assert page.locator(".sidebar").count() == 0
    shoot(page, "links-01-recovered-signed-in")


def test_an_image_off_the_stores_hosts_is_a_placeholder_and_hosts_are_edited_in_settings(page, shoot, merchant):
    own = "/static/img/products/trail-backpack.svg"
    ac = AbandonedCheckoutFactory(
        store=merchant,
        first_name="Ada",
        line_items=[
            line_item("Trail Backpack", image={"url": own, "altText": "Trail Backpack"}),
            line_item("Spy Hat", image={"url": "https://tracker.example.net/p.gif", "altText": "hat"}),
        ],
    )
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page)
    page.goto(f"/checkouts/{ac.pk}/")
    assert page.locator(".line-item .placeholder").count() == 1
    assert not [url for url in requested if "tracker.example.net" in url]
    shoot(page, "links-02-detail-placeholder")

    page.goto("/settings/")
    field = page.get_by_label("Storefront hosts")
    assert field.input_value() == "northwind.shop.example.com"
    field.fill("northwind.shop.example.com\nstatic.wixstatic.com")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Store settings saved.").wait_for()
    shoot(page, "links-03-settings-hosts")
    merchant.refresh_from_db()
    assert merchant.storefront_hosts == ["northwind.shop.example.com", "static.wixstatic.com"]
