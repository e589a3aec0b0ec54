"""The list as a merchant walks it in a browser: filters and page size, bad values, select all
matching and the bulk send with its confirmation, the way back to the filtered list."""

import re

import pytest
from django.core import mail

from checkouts.models import AbandonedCheckout

from .conftest import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row_ids(page) -> list[str]:
    return page.locator("input[name='ids']").evaluate_all("boxes => boxes.map(b => b.value)")


def test_filter_and_page_size(page, shoot, demo_user, demo_store):
    log_in(page)
    page.goto("/checkouts/")
    rows = page.get_by_label("Rows")
    assert len(row_ids(page)) == 50 and rows.input_value() == "50"

    page.get_by_label("Status").select_option(label="Abandoned")
    page.wait_for_url(re.compile(r"status=ABANDONED"))
    assert len(row_ids(page)) == 50 and rows.input_value() == "50"  # a filter change keeps the size

    page.get_by_label("Rows").select_option("100")
    page.wait_for_url(re.compile(r"per_page=100"))
    assert len(row_ids(page)) == 100
    assert page.locator("#position").inner_text().startswith("1–100 of ")
    shoot(page, "70-list-100-per-page")

    page.goto("/checkouts/?per_page=37")
    assert page.get_by_text("Showing 50 per page: 37 is not a page size").is_visible()
    assert len(row_ids(page)) == 50 and page.get_by_label("Rows").input_value() == "50"

    page.get_by_role("link", name="Total", exact=True).click()
    page.wait_for_url(re.compile(r"sort=-total"))
    totals = [float(t.replace("$", "").replace(",", "")) for t in page.locator("td.num").all_inner_texts()]
    assert totals == sorted(totals, reverse=True)


def test_bad_filter_values_name_their_field_and_stay(page, problems, shoot, demo_user, demo_store):
    problems.allow("status of 400")  # the browser logs the 400 that carries the message
    log_in(page)
    page.goto("/checkouts/")
    page.get_by_label("Total from").fill("lots")
    page.get_by_label("Total to").fill("5")
    page.get_by_label("Total to").press("Enter")
    page.get_by_text("Total from: enter a number.").wait_for()
    assert page.get_by_label("Total from").input_value() == "lots"
    assert page.get_by_text("Some filter values need fixing").is_visible()
    shoot(page, "71-list-bad-filter")

    page.get_by_label("Total from").fill("100")
    page.get_by_label("Total from").press("Enter")
    page.get_by_text("Total to: enter an amount no lower than the minimum total (100).").wait_for()

    page.get_by_label("Total to").fill("")
    page.get_by_label("Total to").press("Enter")
    page.wait_for_function("() => !document.querySelector('.field-error')")
    assert row_ids(page)


def test_select_all_matching_then_send_with_confirmation_and_return(page, shoot, demo_user, demo_store):
    log_in(page)
    page.goto("/checkouts/?total_min=150&status=ABANDONED&has_email=true&per_page=25")
    matching = AbandonedCheckout.objects.filter(store=demo_store, total__gte=150, status="ABANDONED").exclude(
        buyer_email=""
    )
    count = matching.count()
    assert count > 25  # more than the page: "all matching" reaches past it
    page.get_by_label(re.compile(r"Select all [\d,]+ matching")).check()
    assert page.get_by_text(f"All {count:,} matching selected").is_visible()
    send = page.get_by_role("button", name="Send recovery email")
    assert send.is_enabled()
    shoot(page, "72-list-all-matching")

    send.click()
    page.wait_for_url("**/checkouts/bulk/confirm/")
    title = f"Send the recovery email to {count:,} buyers?"
    assert page.get_by_role("heading", name=title).is_visible()
    assert page.locator("iframe.email-frame").is_visible()
    assert mail.outbox == []
    shoot(page, "73-bulk-send-confirm")

    # Under the suite the worker is eager: the request itself sends every email before it
    # redirects, which on a loaded 2-core machine takes longer than Playwright's 30 s default.
    page.get_by_role("button", name=f"Send {count:,} emails").click(no_wait_after=True)
    page.wait_for_url(
        re.compile(r"/checkouts/\?total_min=150&status=ABANDONED&has_email=true&per_page=25$"), timeout=180_000
    )
    assert page.get_by_text(re.compile(r"Recovery emails|in the background")).first.is_visible()


def test_the_list_at_phone_width_stacks_rows_without_sideways_scroll(context_factory, shoot, demo_user, demo_store):
    page = context_factory(width=390, height=844).new_page()
    log_in(page)
    page.goto("/checkouts/?per_page=25")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    row = page.locator("table.checkout-table tbody tr").first
    for cell in ("td.cell-buyer", "td.cell-total", "td.cell-status", "td.cell-link"):
        box = row.locator(cell).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, cell
    assert row.get_by_role("button", name=re.compile("Copy")).is_visible()
    # Nothing scrolls inside the card either: the table is no wider than its wrapper.
    assert page.evaluate(
        "() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth <= w.clientWidth; }"
    )
    shoot(page, "74-mobile-list-stacked")
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "75-mobile-list-rows.png"))  # the viewport: rows at reading size
