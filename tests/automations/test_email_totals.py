"""The recovery email's items and totals add up: line totals, subtotal, discounts, shipping, tax, total."""

import re
from decimal import Decimal

import pytest

from automations.messages.render import EmailTemplate, recovery_email
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

MONEY = re.compile(r"(−?)\$([0-9,]+\.[0-9]{2})")


def _email(store, **extra):
    fields = {"shipping": Decimal("5.00"), "tax": Decimal("8.00"), **extra}
    ac = AbandonedCheckoutFactory(
        store=store,
        currency="USD",
        buyer_language="en",
        subtotal=Decimal("117.50"),
        total=Decimal("120.50"),
        line_items=[line_item("Rain Jacket", 2, "40.00"), line_item("Wool Beanie", 3, "12.50")],
        applied_discounts=[
            {"discountType": "GLOBAL", "coupon": {"code": "SAVE10", "name": "Welcome", "amount": {"amount": "10"}}}
        ],
        **fields,
    )
    return recovery_email(
        abandoned_checkout=ac, store=store, template=EmailTemplate("Your cart", "Hi"), idempotency_key="k"
    )


def _amount(line: str) -> Decimal:
    sign, digits = MONEY.findall(line)[-1]
    return Decimal(digits.replace(",", "")) * (-1 if sign else 1)


def test_the_text_part_lists_line_totals_and_every_line_of_the_total(store):
    text = _email(store).text
    lines = text.splitlines()
    items = [line for line in lines if line.startswith("- ")]
    assert items == ["- Rain Jacket: 2 × $40.00 = $80.00", "- Wool Beanie: 3 × $12.50 = $37.50"]
    block = lines[lines.index("Subtotal: $117.50") :]
    assert block[:5] == [
        "Subtotal: $117.50",
        "Coupon SAVE10 (Welcome): −$10.00",
        "Shipping: $5.00",
        "Tax: $8.00",
        "Total: $120.50",
    ]
    # The numbers add up: items to the subtotal, subtotal and the rest to the total.
    assert sum(_amount(line) for line in items) == _amount(block[0])
    assert sum(_amount(line) for line in block[:4]) == _amount(block[4])


def test_the_html_part_shows_the_same_lines(store):
    html = _email(store).html
    order = ["Rain Jacket", "2 × $40.00", "$80.00", "Wool Beanie", "3 × $12.50", "$37.50", "Subtotal", "$117.50"]
    order += ["Coupon SAVE10 (Welcome)", "−$10.00", "Shipping", "$5.00", "Tax", "$8.00", "Total", "$120.50"]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    # The right-hand column: the amounts a reader adds up.
    column = re.findall(r'align="right"[^>]*>(−?\$[0-9,.]+)<', html)
    amounts = [_amount(cell) for cell in column]
    assert amounts == [Decimal(a) for a in ("80", "37.50", "117.50", "-10", "5", "8", "120.50")]
    assert sum(amounts[:2]) == amounts[2] and sum(amounts[2:6]) == amounts[6]


def test_without_shipping_or_tax_the_email_leaves_those_lines_out(store):
    text = _email(store, shipping=None, tax=None).text
    assert "Shipping" not in text and "Tax" not in text and "Total: $120.50" in text
