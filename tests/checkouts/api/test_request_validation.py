"""Query, Search and Analytics bodies are checked by their serializers: each problem is a Wix
field violation with the rule it breaks, and the filter is translated once per request."""

import pytest

from checkouts.api import listing
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

BASE = "/ecom/v1/abandoned-checkout"


def violations(response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.content
    return [(v["field"], v["violatedRule"]) for v in response.json()["details"]["validationError"]["fieldViolations"]]


@pytest.mark.parametrize(
    "body,expected",
    [
        ({}, [("query", "REQUIRED_FIELD")]),
        ({"query": None}, [("query", "REQUIRED_FIELD")]),
        ({"query": []}, [("query", "FORMAT")]),
        ([], [("body", "FORMAT")]),
        ({"query": {"paging": "all"}}, [("query.paging", "FORMAT")]),
        ({"query": {"paging": {"limit": 5}, "cursorPaging": {"limit": 5}}}, [("query", "ONE_OF_ALIGNMENT")]),
        ({"query": {"cursorPaging": {"limit": True}}}, [("query.cursorPaging.limit", "FORMAT")]),
        ({"query": {"cursorPaging": {"limit": 101}}}, [("query.cursorPaging.limit", "MAX")]),
        ({"query": {"cursorPaging": {"limit": -1}}}, [("query.cursorPaging.limit", "MIN")]),
        ({"query": {"cursorPaging": {"cursor": 7}}}, [("query.cursorPaging.cursor", "FORMAT")]),
        ({"query": {"cursorPaging": {"cursor": "x" * 16_001}}}, [("query.cursorPaging.cursor", "MAX_LENGTH")]),
        ({"query": {"paging": {"offset": 10_001}}}, [("query.paging.offset", "MAX")]),
        ({"query": {"filter": {"id": ["a" * 9_000]}}}, [("query.filter", "MAX_LENGTH")]),
        ({"query": {"fields": "id"}}, [("query.fields", "FORMAT")]),
        (
            {"query": {"fieldsets": [1], "cursorPaging": {"limit": "5"}}},
            [("query.cursorPaging.limit", "FORMAT"), ("query.fieldsets[0]", "FORMAT")],
        ),
    ],
)
def test_a_bad_query_body_names_each_field_and_rule(api, body, expected):
    assert sorted(violations(api.post(f"{BASE}/query", body))) == sorted(expected)


@pytest.mark.parametrize(
    "search,expected",
    [
        ({"mode": "XOR", "expression": "a"}, [("search.search.mode", "FORMAT")]),
        ({"expression": 5}, [("search.search.expression", "FORMAT")]),
        ({"expression": "a" * 101}, [("search.search.expression", "MAX_LENGTH")]),
        ({"fields": ["buyerInfo.phone"]}, [("search.search.fields[0]", "FIELD_NOT_ALLOWED")]),
        ({"fuzzy": "true"}, [("search.search.fuzzy", "FORMAT")]),
    ],
)
def test_a_bad_search_names_each_field_and_rule(api, search, expected):
    assert violations(api.post(f"{BASE}/search", {"search": {"search": search}})) == expected


def test_a_search_with_nothing_to_search_for_lists_every_row(api, store):
    AbandonedCheckoutFactory.create_batch(2, store=store)
    response = api.post(f"{BASE}/search", {"search": {"search": {"expression": "   ", "fuzzy": True}}})
    assert response.status_code == 200 and len(response.json()["abandonedCheckouts"]) == 2


def test_analytics_names_the_field(api):
    assert violations(api.post(f"{BASE}/get-analytics", {"startDate": "2026-01-02", "endDate": "2026-01-01"})) == [
        ("endDate", "FORMAT")
    ]


def test_the_filter_is_translated_once_per_request(api, store, monkeypatch):
    AbandonedCheckoutFactory.create_batch(3, store=store, status="ABANDONED")
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return translate(*args, **kwargs)

    translate = listing.translate_filter
    monkeypatch.setattr(listing, "translate_filter", counting)
    query = {"filter": {"status": "ABANDONED"}, "cursorPaging": {"limit": 2}}
    first = api.post(f"{BASE}/query", {"query": query}).json()
    assert len(first["abandonedCheckouts"]) == 2 and len(calls) == 1
    cursor = first["metadata"]["cursors"]["next"]
    second = api.post(f"{BASE}/query", {"query": {"cursorPaging": {"cursor": cursor}}}).json()
    assert len(second["abandonedCheckouts"]) == 1 and len(calls) == 2
    assert calls == [{"status": "ABANDONED"}] * 2
