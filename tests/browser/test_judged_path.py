"""The path a new merchant is judged on: log in, find the abandoned checkouts over $100 from
the last week with no email sent, open one, copy its recovery link, export the list."""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from checkouts.filters import period_start
from checkouts.models import AbandonedCheckout, Activity
from checkouts.wix import checkout_url

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expected_ids(store) -> list[str]:
    rows = (
        AbandonedCheckout.objects.filter(
            store=store, total__gte=Decimal(100), created_at__gte=period_start("7d", zone=store.zone)
        )
        .exclude(activities__type=Activity.Type.EMAIL_SENT)
        .order_by("-created_at", "-id")
    )
    return [str(pk) for pk in rows.values_list("pk", flat=True)]


def test_find_open_copy_and_export(page, shoot, demo_user, demo_store):
    wanted = expected_ids(demo_store)
    assert 3 <= len(wanted) < 50, "the demo data should give a short, non-empty list"

    log_in(page)
    assert page.get_by_role("heading", name="Overview").is_visible()
    page.wait_for_function("() => document.querySelector('#daily-chart')?.getAttribute('width')")  # Chart.js drew
    shoot(page, "01-overview")

    page.get_by_role("link", name="Checkouts", exact=True).click()
    page.wait_for_url("**/checkouts/")
    shoot(page, "02-list")

    # Each change swaps the results with htmx and writes the filter into the address bar.
    page.get_by_label("Total from").fill("100")
    page.get_by_label("Total from").press("Tab")
    page.wait_for_url(re.compile(r"total_min=100"))
    page.get_by_label("Abandoned", exact=True).select_option(label="Last 7 days")
    page.wait_for_url(re.compile(r"period=7d"))
    page.get_by_label("Recovery email sent").select_option(label="No")
    page.wait_for_url(re.compile(r"email_sent=false"))
    expect(page.locator("#result-count")).to_have_text(f"{len(wanted)} checkouts match")
    ids = page.locator("input[name='ids']").evaluate_all("boxes => boxes.map(b => b.value)")
    assert ids == wanted
    assert "&q=&" not in page.url and "status=" not in page.url  # empty filters stay out of the URL
    shoot(page, "03-list-filtered")

    # The filtered view is bookmarkable: loading its URL afresh shows the same rows.
    bookmark = page.url
    page.reload()
    assert page.locator("input[name='ids']").evaluate_all("boxes => boxes.map(b => b.value)") == wanted

    first = AbandonedCheckout.objects.get(pk=wanted[0])
    page.locator("a.buyer-link").first.click()
    page.wait_for_url(f"**/checkouts/{first.pk}/")
    assert page.get_by_role("heading", name="Recovery link").is_visible()
    shoot(page, "04-detail")

    copy = page.locator("section[aria-labelledby='link-title']").get_by_role("button", name="Copy link")
    copy.click()
    page.get_by_role("button", name="Copied!").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == checkout_url(first.pk, first.store_id)
    expect(page.locator("#live")).to_have_text("Recovery link copied to the clipboard.")
    shoot(page, "05-detail-copied")

    page.goto(bookmark)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Export \d+ to CSV$")).click()
    download = download_info.value
    assert re.fullmatch(
        r"abandoned-checkouts-northwind-outfitters-\d{4}-\d\d-\d\d-\d{4}\.csv", download.suggested_filename
    )
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[0] == "Abandoned checkout id" and "Total" in header
    assert [row[0] for row in rows] == wanted
    totals = [Decimal(row[header.index("Total")]) for row in rows]
    assert all(total >= 100 for total in totals)
