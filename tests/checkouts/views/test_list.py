"""The checkouts list: filters from the shared FilterSet, sorting, keyset pages, capped counts, htmx."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity
from checkouts.views import checkout_list
from tests.factories import AbandonedCheckoutFactory, ActivityFactory

pytestmark = pytest.mark.django_db

ROW = re.compile(r'name="ids" value="([0-9a-f-]{36})"')


def row_ids(response) -> list[str]:
    return ROW.findall(response.content.decode())


def test_the_list_shows_each_column_in_the_readers_language_and_the_stores_time(store, owner_client, make_checkout):
    store.time_zone, store.language = "Europe/Paris", "fr"
    store.save()
    ac = make_checkout(first_name="Ada", last_name="Lovelace", buyer_email="ada@example.com", total=Decimal("1234.5"))
    ac.line_items = [
        {"productName": {"original": "Trail Backpack"}, "quantity": 2},
        {"productName": {"original": "Wool Beanie"}, "quantity": 1},
        {"productName": {"original": "Camp Mug"}, "quantity": 1},
    ]
    ac.save()
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(last_activity_type="EMAIL_SENT", last_activity_at=timezone.now())

    html = owner_client.get("/checkouts/").content.decode()

    assert "Ada Lovelace" in html and "ada@example.com" in html
    # One language per page: the reader's (English), not the store's French, for amounts and times.
    assert "$1,234.50" in html and "2 hours ago" in html
    assert "il y a" not in html and "$US" not in html
    exact = timezone.localtime(ac.created_at, store.zone).strftime("%-I:%M\u202f%p")
    assert exact in html  # the exact time, in the store's time zone (English pattern)
    assert "Trail Backpack, Wool Beanie" in html and "+1 more" in html and "4 items" in html
    assert 'class="badge badge-abandoned"' in html
    assert "Email sent" in html
    assert (
        f'data-copy="http://127.0.0.1:8000/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={store.pk}"'
        in html
    )


def test_the_judged_filter_over_100_last_week_without_email_sent(store, owner_client, make_checkout):
    wanted = make_checkout(total=Decimal("150"), hours_ago=30)
    make_checkout(total=Decimal("90"), hours_ago=30)  # too small
    make_checkout(total=Decimal("150"), hours_ago=24 * 10)  # too old
    emailed = make_checkout(total=Decimal("150"), hours_ago=30)
    ActivityFactory(abandoned_checkout=emailed, type=Activity.Type.EMAIL_SENT)

    response = owner_client.get("/checkouts/", {"total_min": "100", "period": "7d", "email_sent": "false"})

    assert response.status_code == 200
    assert row_ids(response) == [str(wanted.pk)]
    assert "1 checkout matches" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "RECOVERED"}, {"recovered"}),
        ({"q": "grace"}, {"grace"}),
        ({"q": "hopper@"}, {"grace"}),
        ({"has_email": "false"}, {"no_email"}),
        ({"currency": "eur"}, {"euro"}),
        ({"activity": "TASK_CREATED"}, {"task"}),
        ({"total_max": "20"}, {"no_email"}),
        ({"created_after": "2020-01-01", "created_before": "2020-01-31"}, {"old"}),
        ({"period": "today"}, {"recovered", "grace", "euro", "task", "no_email"}),
        # A preset period wins over dates left from an earlier custom range.
        ({"period": "today", "created_before": "2020-01-31"}, {"recovered", "grace", "euro", "task", "no_email"}),
    ],
)
# Midday: "an hour ago" is today whenever the suite runs (at 00:30 UTC it would be yesterday).
@time_machine.travel(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
def test_each_filter_narrows_the_list(store, owner_client, make_checkout, params, expected):
    made = {
        "recovered": make_checkout(
            status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=timezone.now(), hours_ago=1
        ),
        "grace": make_checkout(first_name="Grace", buyer_email="Hopper@Example.com", hours_ago=1),
        "euro": make_checkout(currency="EUR", hours_ago=1),
        "task": make_checkout(hours_ago=1),
        "no_email": make_checkout(buyer_email="", total=Decimal("10"), hours_ago=1),
        "old": make_checkout(hours_ago=1),
    }
    AbandonedCheckout.objects.filter(pk=made["old"].pk).update(
        created_at=timezone.make_aware(timezone.datetime(2020, 1, 15, 12), store.zone)
    )
    ActivityFactory(abandoned_checkout=made["task"], type=Activity.Type.TASK_CREATED)

    ids = set(row_ids(owner_client.get("/checkouts/", params)))

    assert ids == {str(made[name].pk) for name in expected}


def test_a_bad_filter_is_a_400_that_names_the_field(owner_client):
    response = owner_client.get("/checkouts/", {"total_min": "lots", "created_after": "yesterday"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Total from: enter a number." in html and "Abandoned from: enter a date (2026-11-01)" in html


@pytest.mark.parametrize(("sort", "attribute"), [("-total", "total"), ("total", "total"), ("-updated", "updated_at")])
def test_sorting(store, owner_client, make_checkout, sort, attribute):
    rows = [make_checkout(total=Decimal(total), hours_ago=hours) for total, hours in ((30, 1), (10, 2), (20, 3))]
    for index, row in enumerate(rows):
        AbandonedCheckout.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(minutes=index * 7))
    ordered = sorted(
        AbandonedCheckout.objects.filter(store=store), key=lambda r: getattr(r, attribute), reverse=sort[0] == "-"
    )
    assert row_ids(owner_client.get("/checkouts/", {"sort": sort})) == [str(r.pk) for r in ordered]


def test_keyset_pages_forward_and_back_with_the_filter_kept(store, owner_client, make_checkout, monkeypatch):
    made = [make_checkout(hours_ago=i + 1, total=Decimal(200)) for i in range(7)]
    make_checkout(hours_ago=0.5, total=Decimal(5))  # filtered out on every page
    newest_first = [str(ac.pk) for ac in made]

    first = owner_client.get("/checkouts/", {"per_page": 25, "total_min": 100})
    assert row_ids(first) == newest_first  # 25 per page: everything fits
    page1 = owner_client.get("/checkouts/", {"per_page": 25, "total_min": 100, "sort": "-created"})
    assert 'rel="next"' not in page1.content.decode()

    # Three per page, so seven rows make three pages.
    monkeypatch.setattr(checkout_list, "page_size", lambda params: 3)
    pages, url = [], "/checkouts/?total_min=100&per_page=25"
    while url:
        response = owner_client.get(url)
        pages.append(row_ids(response))
        match = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = "/checkouts/" + match.group(1).replace("&amp;", "&") if match else None
    assert pages == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert "total_min=100" in response.request["QUERY_STRING"]

    previous = re.search(r'rel="prev" href="([^"]+)"', response.content.decode()).group(1).replace("&amp;", "&")
    back = owner_client.get("/checkouts/" + previous)
    assert row_ids(back) == newest_first[3:6]
    assert 'rel="prev"' in back.content.decode() and 'rel="next"' in back.content.decode()
    first_again = owner_client.get(
        "/checkouts/" + re.search(r'rel="prev" href="([^"]+)"', back.content.decode()).group(1).replace("&amp;", "&")
    )
    assert row_ids(first_again) == newest_first[:3]


def test_a_tampered_page_link_is_a_400_with_the_first_page(owner_client, make_checkout):
    ac = make_checkout()
    response = owner_client.get("/checkouts/", {"after": "not-a-signed-token"})
    assert response.status_code == 400
    assert row_ids(response) == [str(ac.pk)]
    assert "no longer valid" in response.content.decode()


def test_a_page_link_for_another_sort_is_refused(store, owner_client, make_checkout):
    make_checkout()
    token = checkout_list.list_pager(store=store, sort="-total").issue(
        [Decimal(1), "00000000-0000-0000-0000-000000000000"]
    )
    response = owner_client.get("/checkouts/", {"after": token, "sort": "-created"})
    assert response.status_code == 400
    assert "no longer valid" in response.content.decode()


def test_the_count_is_capped(store, owner_client, make_checkout, monkeypatch):
    monkeypatch.setattr(checkout_list, "LIST_COUNT_CAP", 3)
    for hours in range(5):
        make_checkout(hours_ago=hours + 1)
    html = owner_client.get("/checkouts/").content.decode()
    assert "3+ checkouts" in html and "Export all to CSV" in html


def test_htmx_gets_only_the_results_fragment(owner_client, make_checkout):
    ac = make_checkout()
    response = owner_client.get("/checkouts/", {"q": "ada"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"') and "<html" not in html
    assert str(ac.pk) in html
    assert "HX-Request" in response["Vary"]
    full = owner_client.get("/checkouts/", {"q": "ada"})
    assert "<html" in full.content.decode() and 'id="filters"' in full.content.decode()


def test_filters_are_in_links_so_a_filtered_view_can_be_shared(owner_client, make_checkout):
    make_checkout()
    html = owner_client.get("/checkouts/", {"total_min": "100", "email_sent": "false"}).content.decode()
    assert 'name="total_min" value="100"' in html
    assert '<option value="false" selected>No</option>' in html
    assert "/checkouts/export.csv?total_min=100&amp;email_sent=false" in html


def test_a_new_store_gets_an_empty_state_that_says_what_to_do(owner_client):
    html = owner_client.get("/checkouts/").content.decode()
    assert "No abandoned checkouts yet" in html and "/settings/api-keys/" in html


def test_no_match_suggests_clearing_filters(owner_client, make_checkout):
    make_checkout()
    html = owner_client.get("/checkouts/", {"q": "nobody"}).content.decode()
    assert "No checkouts match these filters" in html


def _queries(client, url) -> int:
    client.get(url)  # warm: the first request of a session stores the chosen store
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("params", ["", "&total_min=10&email_sent=false&activity=SCHEDULED&q=grace"])
def test_the_list_runs_the_same_queries_whatever_the_page_size(store, owner_client, django_assert_num_queries, params):
    rows = AbandonedCheckoutFactory.create_batch(60, store=store, first_name="Grace")
    for ac in rows:
        ActivityFactory(abandoned_checkout=ac, type=Activity.Type.SCHEDULED)
    owner_client.get(f"/checkouts/?per_page=25{params}")  # the store's currencies are then cached
    small = _queries(owner_client, f"/checkouts/?per_page=25{params}")
    with django_assert_num_queries(small):
        response = owner_client.get(f"/checkouts/?per_page=100{params}")
    assert len(row_ids(response)) == 60
    with django_assert_num_queries(small):
        assert len(row_ids(owner_client.get(f"/checkouts/?per_page=25{params}"))) == 25
