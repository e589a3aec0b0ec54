"""Line totals and every line of the total on the detail page."""

from decimal import Decimal

import pytest

from .conftest import line_item

pytestmark = pytest.mark.django_db


def cart(make_checkout):
    """2 × $40.00 + 3 × $12.50 = $117.50, less a $10.00 coupon, plus $5.00 shipping and $8.00 tax = $120.50."""
    return make_checkout(
        currency="USD",
        subtotal=Decimal("117.50"),
        shipping=Decimal("5.00"),
        tax=Decimal("8.00"),
        total=Decimal("120.50"),
        line_items=[line_item("Rain Jacket", 2, "40.00"), line_item("Wool Beanie", 3, "12.50")],
        applied_discounts=[
            {"discountType": "GLOBAL", "coupon": {"code": "SAVE10", "name": "Welcome", "amount": {"amount": "10"}}}
        ],
    )


def test_each_item_shows_its_line_total_beside_the_unit_price(viewer_client, make_checkout):
    ac = cart(make_checkout)
    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    items = html[html.index('class="line-items"') : html.index('class="totals"')]
    assert "$80.00" in items and "2 × $40.00" in items
    assert "$37.50" in items and "3 × $12.50" in items


def test_the_totals_list_subtotal_coupon_shipping_tax_and_total_in_order(viewer_client, make_checkout):
    ac = cart(make_checkout)
    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    totals = html[html.index('class="totals"') :]
    totals = totals[: totals.index("</dl>")]
    expected = ["$117.50", "Coupon SAVE10 (Welcome)", "−$10.00", "Shipping", "$5.00", "Tax", "$8.00", "$120.50"]
    positions = [totals.index(text) for text in expected]
    assert positions == sorted(positions)


def test_a_line_total_is_in_the_checkouts_currency(viewer_client, make_checkout):
    item = line_item("Veste", 4, "12.25")
    item["price"] = {"amount": "12.25", "formattedAmount": "12,25 €"}
    ac = make_checkout(currency="EUR", line_items=[item])
    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    assert "€49.00" in html
