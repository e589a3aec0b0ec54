"""The overview: figures for a period in the store's time zone, the daily chart, top products."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkouts.models import AbandonedCheckout, Activity
from checkouts.selectors import overview_figures, overview_top_products
from tests.factories import AbandonedCheckoutFactory, ActivityFactory

from .conftest import line_item

pytestmark = pytest.mark.django_db

# Noon in New York on 2026-11-20.
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


@pytest.fixture
def new_york(store):
    store.time_zone = "America/New_York"
    store.save()
    return store


def abandoned(store, at, total, *, recovered_at=None, items=None):
    return AbandonedCheckoutFactory(
        store=store,
        created_at=at,
        updated_at=at,
        total=Decimal(total),
        status=AbandonedCheckout.Status.RECOVERED if recovered_at else AbandonedCheckout.Status.ABANDONED,
        checkout_recovered_at=recovered_at,
        line_items=items or [line_item("Trail Backpack")],
    )


def test_figures_for_today_follow_the_store_day(new_york):
    # 04:30 UTC on the 20th is still the 19th in New York: not "today" there.
    abandoned(new_york, datetime(2026, 11, 20, 4, 30, tzinfo=UTC), "999")
    a = abandoned(new_york, datetime(2026, 11, 20, 6, 0, tzinfo=UTC), "100")
    b = abandoned(new_york, datetime(2026, 11, 20, 12, 0, tzinfo=UTC), "50", recovered_at=NOW)
    abandoned(new_york, datetime(2026, 11, 20, 14, 0, tzinfo=UTC), "30", recovered_at=NOW)
    ActivityFactory(
        abandoned_checkout=a, type=Activity.Type.EMAIL_SENT, created_at=datetime(2026, 11, 20, 7, tzinfo=UTC)
    )
    ActivityFactory(
        abandoned_checkout=b, type=Activity.Type.EMAIL_SENT, created_at=datetime(2026, 11, 20, 13, tzinfo=UTC)
    )

    with time_machine.travel(NOW, tick=False):
        from checkouts.filters import period_start

        start = period_start("today", zone=new_york.zone)
        figures = overview_figures(store=new_york, start=start, end=NOW)

    assert start == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    assert figures.abandoned_count == 3 and figures.abandoned_value == Decimal(180)
    assert figures.recoverable_value == Decimal(100)
    assert (figures.recovered_count, figures.recovered_value) == (2, Decimal(80))
    assert figures.recovery_rate == pytest.approx(2 / 3)
    assert (figures.emails_sent, figures.emails_recovered) == (2, 1)


def test_the_page_shows_figures_chart_data_and_products(new_york, owner_client):
    for day in range(3):
        at = NOW - timedelta(days=day, hours=1)
        abandoned(new_york, at, "100", items=[line_item("Rain Jacket", 2), line_item("Wool Beanie")])
        abandoned(new_york, at, "40", recovered_at=at + timedelta(hours=1), items=[line_item("Rain Jacket")])

    with time_machine.travel(NOW, tick=False):
        response = owner_client.get("/", {"period": "7d"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Last 7 days" in html
    assert ">6</span>" in html  # abandoned checkouts
    assert "$300.00" in html  # still recoverable
    assert "$120.00" in html  # recovered
    assert "50.0%" in html  # recovery rate
    chart = json.loads(
        re.search(r'<script id="daily-chart-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert len(chart["labels"]) == 7 and chart["labels"][-1] == "Nov 20"
    assert chart["abandoned"][-3:] == ["140", "140", "140"] and chart["recovered"][-1] == "40"
    assert chart["recoveredText"][-1] == "$40.00"
    products = html[html.index("Most abandoned products") :]
    assert products.index("Rain Jacket") < products.index("Wool Beanie")
    assert "in 6 checkouts · 9 units" in products
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html and "<script>" not in html


def test_a_custom_range_is_inclusive_of_its_last_day(new_york, owner_client):
    abandoned(new_york, datetime(2026, 11, 10, 23, 0, tzinfo=UTC), "10")  # Nov 10 in New York
    abandoned(new_york, datetime(2026, 11, 12, 4, 0, tzinfo=UTC), "20")  # still Nov 11 in New York
    abandoned(new_york, datetime(2026, 11, 12, 6, 0, tzinfo=UTC), "40")  # Nov 12
    with time_machine.travel(NOW, tick=False):
        html = owner_client.get("/", {"period": "custom", "start": "2026-11-10", "end": "2026-11-11"}).content.decode()
    assert "$30.00" in html and "$70.00" not in html
    assert "/checkouts/?created_after=2026-11-10&amp;created_before=2026-11-11" in html


def test_a_bad_custom_range_is_a_400_that_says_why(owner_client):
    response = owner_client.get("/", {"period": "custom", "start": "2026-11-12", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "The end day must not be before the start day." in response.content.decode()


def test_a_new_store_is_told_how_to_start(owner_client):
    html = owner_client.get("/").content.decode()
    assert "No abandoned checkouts yet" in html and "daily-chart" not in html


def test_top_products_are_the_same_on_every_database(store):
    for items in (
        [line_item("Headlamp", 3), line_item("Camp Mug")],
        [line_item("Headlamp")],
        [{"productName": {"original": "Gift card"}}],  # no catalog id: grouped by name
        "not a list",
    ):
        AbandonedCheckoutFactory(store=store, line_items=items)
    end = datetime.now(UTC) + timedelta(minutes=1)
    products = overview_top_products(store=store, start=end - timedelta(days=1), end=end)
    assert [(p.name, p.checkouts, p.quantity) for p in products] == [
        ("Headlamp", 2, 4),
        ("Camp Mug", 1, 1),
        ("Gift card", 1, 1),
    ]


def test_the_overview_runs_the_same_queries_for_a_bigger_store(store, owner_client, django_assert_num_queries):
    owner_client.get("/")
    AbandonedCheckoutFactory.create_batch(3, store=store)
    with CaptureQueriesContext(connection) as small:
        owner_client.get("/", {"period": "30d"})
    AbandonedCheckoutFactory.create_batch(40, store=store)
    with django_assert_num_queries(len(small)):
        owner_client.get("/", {"period": "30d"})
