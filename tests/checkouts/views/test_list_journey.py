"""The list as a merchant walks it: page sizes, bad filter values, the position line, sortable headers."""

import re
from decimal import Decimal

import pytest

from tests.checkouts.views.test_list import row_ids
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

SELECTED_SIZE = re.compile(r'<select name="per_page"[^>]*>.*?<option value="(\d+)" selected>', re.S)


def selected_size(response) -> str:
    return SELECTED_SIZE.search(response.content.decode()).group(1)


def test_the_page_size_control_says_what_the_page_shows(store, owner_client):
    AbandonedCheckoutFactory.create_batch(60, store=store)

    response = owner_client.get("/checkouts/")

    assert len(row_ids(response)) == 50
    assert selected_size(response) == "50"


def test_a_filter_change_keeps_the_page_size(store, owner_client):
    AbandonedCheckoutFactory.create_batch(60, store=store)

    response = owner_client.get("/checkouts/", {"per_page": "100", "status": "ABANDONED"})

    assert len(row_ids(response)) == 60
    assert selected_size(response) == "100"


def test_an_unsupported_page_size_is_corrected_visibly(store, owner_client):
    AbandonedCheckoutFactory.create_batch(60, store=store)

    response = owner_client.get("/checkouts/", {"per_page": "37"})

    html = response.content.decode()
    assert response.status_code == 200
    assert len(row_ids(response)) == 50
    assert selected_size(response) == "50"
    assert "Showing 50 per page: 37 is not a page size" in html
    # The next page's link carries the size shown, not the one refused.
    next_link = re.search(r'rel="next" href="([^"]+)"', html).group(1)
    assert "per_page=50" in next_link and "per_page=37" not in next_link


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"total_min": "lots"}, "Total from: enter a number."),
        ({"total_max": "-3"}, "Total to: ensure this value is greater than or equal to 0."),
        ({"created_after": "yesterday"}, "Abandoned from: enter a date (2026-11-01)"),
        ({"status": "LOST"}, "Status: select a valid choice."),
        ({"has_email": "maybe"}, "Has email: choose yes or no."),
        ({"email_sent": "perhaps"}, "Recovery email sent: choose yes or no."),
        ({"activity": "PHONED"}, "Activity: select a valid choice."),
        ({"period": "forever"}, "Abandoned: select a valid choice."),
        ({"currency": "EUROS"}, "Currency: ensure this value has at most 3 characters"),
        ({"updated_after": "soon"}, "Updated from: enter a date (2026-11-01)"),
    ],
)
def test_every_bad_filter_value_is_one_400_message_naming_its_field(owner_client, make_checkout, params, message):
    make_checkout()

    response = owner_client.get("/checkouts/", params)

    html = response.content.decode()
    assert response.status_code == 400
    assert html.count(message) == 1
    assert row_ids(response) == []
    assert "Some filter values need fixing" in html


@pytest.mark.parametrize(("name", "value"), [("total_min", "lots"), ("created_after", "yesterday")])
def test_a_bad_value_stays_in_its_input_where_the_browser_keeps_it(owner_client, name, value):
    html = owner_client.get("/checkouts/", {name: value}).content.decode()

    field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    assert f'value="{value}"' in field
    # A number or date input would be emptied by the browser: the value is shown as text.
    assert 'type="text"' in field


def test_a_minimum_above_the_maximum_says_so(owner_client, make_checkout):
    make_checkout(total=Decimal("50"))

    response = owner_client.get("/checkouts/", {"total_min": "100", "total_max": "20"})

    assert response.status_code == 400
    assert "Total to: enter an amount no lower than the minimum total (100)." in response.content.decode()


def test_the_api_refuses_a_minimum_above_the_maximum_too(store, owner_client):
    response = owner_client.get("/api/v1/abandoned-checkouts/", {"total_min": "100", "total_max": "20"})
    assert response.status_code == 400
    assert "total_max" in response.content.decode()


def test_the_position_line_follows_the_pages(store, owner_client, monkeypatch):
    from checkouts.views import checkout_list

    monkeypatch.setattr(checkout_list, "LIST_COUNT_CAP", 100)
    AbandonedCheckoutFactory.create_batch(120, store=store)

    first = owner_client.get("/checkouts/").content.decode()
    assert "1–50 of 100+" in first
    second_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = owner_client.get("/checkouts/" + second_url).content.decode()
    assert "51–100 of 100+" in second
    back_url = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert "1–50 of 100+" in owner_client.get("/checkouts/" + back_url).content.decode()


def test_column_headers_sort_and_keep_the_filters(owner_client, make_checkout):
    make_checkout(total=Decimal("150"))

    html = owner_client.get("/checkouts/", {"total_min": "100", "sort": "-total"}).content.decode()

    total = re.search(r'<th[^>]*aria-sort="(\w+)"[^>]*><a class="sort-link" href="([^"]+)">Total</a>', html)
    assert total.group(1) == "descending"
    assert "total_min=100" in total.group(2) and "sort=total" in total.group(2)
    created = re.search(r'<th[^>]*aria-sort="(\w+)"[^>]*><a class="sort-link" href="([^"]+)">Abandoned</a>', html)
    assert created.group(1) == "none" and "sort=-created" in created.group(2)


def test_an_htmx_filter_change_refills_the_filter_bars_error_slots(owner_client, make_checkout):
    make_checkout()
    headers = {"HX-Request": "true"}

    bad = owner_client.get("/checkouts/", {"total_min": "lots"}, headers=headers).content.decode()
    good = owner_client.get("/checkouts/", {"total_min": "1"}, headers=headers).content.decode()

    slot = re.compile(r'<div class="field-errors" id="errors-total_min" hx-swap-oob="true"[^>]*>(.*?)</div>', re.S)
    assert "Total from: enter a number." in slot.search(bad).group(1)
    assert slot.search(good).group(1) == ""  # the message goes once the value is fixed


def test_the_currency_filter_offers_the_stores_currencies(store, owner_client, make_checkout):
    make_checkout(currency="EUR")
    make_checkout(currency="JPY")

    html = owner_client.get("/checkouts/").content.decode()

    select = re.search(r'<select name="currency"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([A-Z]*)"', select) == ["", "EUR", "JPY", "USD"]
