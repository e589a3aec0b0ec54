"""The REST API: the dashboard's filters as query parameters, ordering, keyset cursor links."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checkouts.filters import AbandonedCheckoutFilter
from checkouts.models import AbandonedCheckout, Activity
from tests.factories import AbandonedCheckoutFactory, ActivityFactory, StoreFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/abandoned-checkouts/"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def walk(api, url: str) -> list[str]:
    seen = []
    while url:
        response = api.get(url)
        seen += ids(response)
        url = response.json()["next"]
    return seen


@pytest.fixture
def rows(store):
    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    made = []
    for index in range(12):
        made.append(
            AbandonedCheckoutFactory(
                store=store,
                created_at=moment + timedelta(hours=2 * index),
                updated_at=moment + timedelta(hours=24 - index),
                total=Decimal(10 * (index % 5)),
                buyer_email="" if index % 4 == 0 else f"buyer{index}@example.com",
                status="RECOVERED" if index % 3 == 0 else "ABANDONED",
                checkout_recovered_at=moment if index % 3 == 0 else None,
                currency="EUR" if index == 7 else "USD",
            )
        )
    ActivityFactory(abandoned_checkout=made[2], type=Activity.Type.EMAIL_SENT)
    ActivityFactory(abandoned_checkout=made[5], type=Activity.Type.TASK_CREATED)
    return made


@pytest.mark.parametrize(
    "params",
    [
        {"status": "RECOVERED"},
        {"created_after": "2026-03-01T15:00:00Z", "created_before": "2026-03-01T20:00:00Z"},
        {"created_after": "2026-03-01", "created_before": "2026-03-01"},
        {"updated_after": "2026-03-02T06:00:00Z"},
        {"total_min": "10", "total_max": "30"},
        {"currency": "eur"},
        {"has_email": "false"},
        {"activity": ["EMAIL_SENT", "TASK_CREATED"]},
        {"email_sent": "true"},
        {"q": "buyer1"},
    ],
    ids=lambda p: "&".join(p),
)
def test_filters_are_the_dashboards_filterset(api, store, rows, params):
    """Whatever the dashboard's FilterSet selects for these parameters, the API lists: same rows, same order."""
    queryset = AbandonedCheckout.objects.filter(store=store)
    expected = AbandonedCheckoutFilter(params, queryset=queryset, zone=store.zone).qs.order_by("-created_at", "-id")
    assert walk(
        api,
        LIST
        + "?"
        + "&".join(
            f"{key}={value}"
            for key, values in params.items()
            for value in ([values] if isinstance(values, str) else values)
        )
        + "&page_size=3",
    ) == [str(pk) for pk in expected.values_list("pk", flat=True)]
    assert expected.count() < len(rows)


@pytest.mark.parametrize("ordering", ["created", "-created", "updated", "-updated", "total", "-total"])
def test_ordering_with_the_id_breaking_ties(api, rows, ordering):
    field = {"created": "created_at", "updated": "updated_at", "total": "total"}[ordering.lstrip("-")]
    descending = ordering.startswith("-")
    expected = sorted(rows, key=lambda ac: (getattr(ac, field), ac.id), reverse=descending)
    assert walk(api, f"{LIST}?ordering={ordering}&page_size=5") == [str(ac.id) for ac in expected]


def test_previous_links_walk_back_through_the_same_pages(api, rows):
    pages, url = [], f"{LIST}?page_size=5&ordering=total"
    while url:
        response = api.get(url)
        pages.append((ids(response), response.json()["previous"]))
        url = response.json()["next"]
    assert pages[0][1] is None and len(pages) == 3
    back = api.get(pages[-1][1])
    assert ids(back) == pages[-2][0]
    assert ids(api.get(back.json()["previous"])) == pages[0][0]


def test_page_size_is_capped_at_100(api, store):
    AbandonedCheckoutFactory.create_batch(101, store=store)
    response = api.get(f"{LIST}?page_size=500")
    assert len(ids(response)) == 100 and response.json()["next"]


@pytest.mark.parametrize(
    "query,field",
    [
        ("ordering=total_price", "ordering"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
        ("cursor=forged", "cursor"),
        ("status=LOST", "status"),
        ("created_after=yesterday", "created_after"),
        ("total_min=-1", "total_min"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api, rows, query, field):
    response = api.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]] == [field]


def test_a_cursor_only_works_with_the_ordering_it_came_from(api, rows):
    next_link = api.get(f"{LIST}?page_size=2&ordering=total").json()["next"]
    response = api.get(next_link.replace("ordering=total", "ordering=-updated"))
    assert response.status_code == 400


def test_the_detail_is_the_wix_object(api, store, rows, other_store):
    foreign = AbandonedCheckoutFactory(store=other_store)
    detail = api.get(f"{LIST}{rows[2].id}/")
    assert detail.status_code == 200 and detail.json()["id"] == str(rows[2].id)
    assert detail.json()["activities"][0]["type"] == "EMAIL_SENT"
    assert detail.json() == api.get(f"/ecom/v1/abandoned-checkout/{rows[2].id}").json()["abandonedCheckout"]
    for missing in (foreign.id, "not-an-id"):
        response = api.get(f"{LIST}{missing}/")
        assert response.status_code == 404
        assert response.json()["details"]["applicationError"]["code"] == "NOT_FOUND"


def test_a_page_runs_the_same_queries_at_any_size(api, store, django_assert_num_queries):
    made = AbandonedCheckoutFactory.create_batch(60, store=store)
    for row in made[::2]:
        ActivityFactory(abandoned_checkout=row)
    api.get(LIST)
    for size in (2, 60):
        with django_assert_num_queries(2):  # the page, its activities (the key: read once, checkouts/keyring.py)
            response = api.get(f"{LIST}?page_size={size}&activity=SCHEDULED&status=ABANDONED")
        assert len(ids(response)) == (30 if size == 60 else 2)


def test_the_time_zone_of_day_filters_is_the_stores(make_api):
    tokyo = StoreFactory(time_zone="Asia/Tokyo")
    early = AbandonedCheckoutFactory(store=tokyo, created_at=datetime(2026, 2, 28, 16, tzinfo=UTC))  # Mar 1 01:00 JST
    AbandonedCheckoutFactory(store=tokyo, created_at=datetime(2026, 2, 28, 14, tzinfo=UTC))  # Feb 28 23:00 JST
    assert ids(make_api(tokyo).get(f"{LIST}?created_after=2026-03-01")) == [str(early.id)]
