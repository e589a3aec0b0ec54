"""Shipping and tax: optional ingest fields that reach the detail page, never the Wix API."""

from datetime import timedelta
from decimal import Decimal

import pytest

from checkouts.models import AbandonedCheckout, Checkout, Membership
from checkouts.services import abandoned_checkouts_detect
from tests.checkouts.helpers import at, updated_event
from tests.checkouts.views.conftest import signed_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/checkout-events"


def _viewer(store):
    user = UserFactory(username="vera")
    MembershipFactory(user=user, store=store, role=Membership.Role.VIEWER)
    return signed_in(user, store)


def test_shipping_and_tax_go_from_ingest_through_the_sweep_to_the_detail_page(api, store):
    event = updated_event(
        "co-1",
        total="127.50",
        subtotalPrice={"amount": "110.00"},
        shippingPrice={"amount": "7.50", "convertedAmount": "6.90"},
        taxPrice={"amount": "10.00"},
        conversionCurrency="EUR",
    )
    response = api.post(EVENTS, {"events": [event]})
    assert response.status_code == 200, response.content
    checkout = Checkout.objects.get()
    assert (checkout.shipping, checkout.shipping_converted, checkout.tax) == (
        Decimal("7.50"),
        Decimal("6.90"),
        Decimal("10.00"),
    )

    assert abandoned_checkouts_detect(now=at(0) + timedelta(days=1)) == 1

    ac = AbandonedCheckout.objects.get()
    assert (ac.shipping, ac.shipping_converted, ac.tax, ac.tax_converted) == (
        Decimal("7.50"),
        Decimal("6.90"),
        Decimal("10.00"),
        None,
    )
    html = _viewer(store).get(f"/checkouts/{ac.pk}/").content.decode()
    totals = html[html.index('class="totals"') :]
    totals = totals[: totals.index("</dl>")]
    labels = ["Subtotal", "Shipping", "Tax", "Total"]
    positions = [totals.index(f">{label}<") for label in labels]
    assert positions == sorted(positions)
    assert "$110.00" in totals and "$7.50" in totals and "€6.90" in totals and "$10.00" in totals
    assert "$127.50" in totals


def test_a_newer_snapshot_refreshes_shipping_and_tax_on_the_abandoned_checkout(api, store):
    api.post(EVENTS, {"events": [updated_event("co-1", shippingPrice={"amount": "5.00"})]})
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    api.post(
        EVENTS, {"events": [updated_event("co-1", minutes=5, shippingPrice={"amount": "0"}, taxPrice={"amount": "3"})]}
    )
    ac = AbandonedCheckout.objects.get()
    assert (ac.shipping, ac.tax) == (Decimal("0"), Decimal("3"))


def test_without_them_the_page_shows_no_shipping_or_tax_line(api, store):
    api.post(EVENTS, {"events": [updated_event("co-1")]})
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    ac = AbandonedCheckout.objects.get()
    assert (ac.shipping, ac.tax) == (None, None)
    html = _viewer(store).get(f"/checkouts/{ac.pk}/").content.decode()
    assert ">Shipping<" not in html and ">Tax<" not in html


def test_a_bad_shipping_price_is_a_400_naming_the_field(api, store):
    response = api.post(EVENTS, {"events": [updated_event("co-1", shippingPrice={"amount": "-1"})]})
    assert response.status_code == 400
    assert "events[0].checkout.shippingPrice.amount" in response.content.decode()
    assert not Checkout.objects.exists()


def test_the_wix_api_does_not_grow_shipping_or_tax(api, store):
    api.post(EVENTS, {"events": [updated_event("co-1", shippingPrice={"amount": "5"}, taxPrice={"amount": "1"})]})
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    ac = AbandonedCheckout.objects.get()
    body = api.get(f"/ecom/v1/abandoned-checkout/{ac.pk}").json()["abandonedCheckout"]
    assert "subtotalPrice" in body
    assert not any("shipping" in key.lower() or "tax" in key.lower() for key in body)
