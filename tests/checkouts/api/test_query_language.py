"""Query and Search against a reference evaluation in Python over the same rows.

Every operator on every kind of field, the combinators, every sort and every paging mode:
the ids the API returns, page after page, must be exactly the reference's, in order.
Runs on SQLite and on PostgreSQL (DATABASE_URL).
"""

import pytest

from tests.checkouts.api import reference
from tests.checkouts.api.dataset import build

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
SEARCH = "/ecom/v1/abandoned-checkout/search"
LIMIT = 7


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.COMEBACK_API_RATE_LIMIT = "100000/minute"


@pytest.fixture
def data(store):
    return build(store)


def walk(api, body: dict, *, search: bool = False, limit: int = LIMIT) -> list[list[str]]:
    """Every page, following `cursors.next` and sending only the cursor, as the SDK does."""
    path, key, meta = (SEARCH, "search", "pagingMetadata") if search else (QUERY, "query", "metadata")
    response = api.post(path, {key: {**body, "cursorPaging": {"limit": limit}}})
    pages = []
    while True:
        assert response.status_code == 200, response.json()
        payload = response.json()
        page = [item["id"] for item in payload["abandonedCheckouts"]]
        assert payload[meta]["count"] == len(page) <= limit
        if not search:
            assert [item["id"] for item in payload["results"]] == page
        pages.append(page)
        if not payload[meta]["hasNext"]:
            assert payload[meta]["cursors"]["next"] is None
            return pages
        assert len(pages) < 50, "paging does not end"
        response = api.post(path, {key: {"cursorPaging": {"cursor": payload[meta]["cursors"]["next"], "limit": limit}}})


def walk_back(api, body: dict, pages: list[list[str]], *, search: bool = False) -> list[list[str]]:
    """From the last page back to the first through `cursors.prev`."""
    path, key, meta = (SEARCH, "search", "pagingMetadata") if search else (QUERY, "query", "metadata")
    response = api.post(path, {key: {**body, "cursorPaging": {"limit": LIMIT}}})
    for _ in pages[1:]:
        response = api.post(path, {key: {"cursorPaging": {"cursor": response.json()[meta]["cursors"]["next"]}}})
    seen = [[item["id"] for item in response.json()["abandonedCheckouts"]]]
    while (cursor := response.json()[meta]["cursors"]["prev"]) is not None:
        response = api.post(path, {key: {"cursorPaging": {"cursor": cursor, "limit": LIMIT}}})
        assert response.status_code == 200
        seen.insert(0, [item["id"] for item in response.json()["abandonedCheckouts"]])
    return seen


def flat(pages: list[list[str]]) -> list[str]:
    return [item for page in pages for item in page]


def expected_ids(data, filter_json=None, sort=None, text=None) -> list[str]:
    items = [item for item in data.items if reference.matches(item, filter_json)]
    if text:
        items = [item for item in items if reference.text_matches(item, **text)]
    return [item["id"] for item in reference.ordered(items, sort)]


# (name, filter built from the rows) — the rows' JSON is what a client would copy values from.
FILTERS = {
    "status": [
        ("shorthand", lambda d: {"status": "RECOVERED"}),
        ("$eq", lambda d: {"status": {"$eq": "ABANDONED"}}),
        ("$ne", lambda d: {"status": {"$ne": "ABANDONED"}}),
        ("$in", lambda d: {"status": {"$in": ["ABANDONED", "RECOVERED"]}}),
        ("$nin", lambda d: {"status": {"$nin": ["RECOVERED"]}}),
        ("$hasSome", lambda d: {"status": {"$hasSome": ["RECOVERED"]}}),
        ("$any", lambda d: {"status": {"$any": ["ABANDONED"]}}),
        ("$exists true", lambda d: {"status": {"$exists": True}}),
        ("$exists false", lambda d: {"status": {"$exists": False}}),
        ("$eq null", lambda d: {"status": None}),
    ],
    "id": [
        ("shorthand", lambda d: {"id": d.items[4]["id"]}),
        ("$eq upper-case", lambda d: {"id": {"$eq": d.items[5]["id"].upper()}}),
        ("$ne", lambda d: {"id": {"$ne": d.items[4]["id"]}}),
        ("$in", lambda d: {"id": {"$in": [d.items[1]["id"], d.items[9]["id"]]}}),
        ("$nin", lambda d: {"id": {"$nin": [d.items[1]["id"], d.items[9]["id"]]}}),
        ("$hasSome", lambda d: {"id": {"$hasSome": [d.items[2]["id"]]}}),
        ("$gt", lambda d: {"id": {"$gt": d.items[7]["id"]}}),
        ("$gte", lambda d: {"id": {"$gte": d.items[7]["id"]}}),
        ("$lt", lambda d: {"id": {"$lt": d.items[7]["id"]}}),
        ("$lte", lambda d: {"id": {"$lte": d.items[7]["id"]}}),
        ("$startsWith", lambda d: {"id": {"$startsWith": d.items[3]["id"][:2].upper()}}),
        ("$begins", lambda d: {"id": {"$begins": d.items[3]["id"][:9]}}),
        ("$exists", lambda d: {"id": {"$exists": True}}),
        ("$in empty", lambda d: {"id": {"$in": []}}),
        ("$nin empty", lambda d: {"id": {"$nin": []}}),
    ],
    "createdDate": [
        ("$eq shown value (stored with microseconds)", lambda d: {"createdDate": d.items[5]["createdDate"]}),
        ("$eq whole second", lambda d: {"createdDate": {"$eq": d.items[2]["createdDate"]}}),
        ("$ne", lambda d: {"createdDate": {"$ne": d.items[2]["createdDate"]}}),
        ("$gt", lambda d: {"createdDate": {"$gt": d.items[10]["createdDate"]}}),
        ("$gte", lambda d: {"createdDate": {"$gte": d.items[10]["createdDate"]}}),
        ("$lt", lambda d: {"createdDate": {"$lt": d.items[10]["createdDate"]}}),
        ("$lte", lambda d: {"createdDate": {"$lte": d.items[10]["createdDate"]}}),
        ("$lte at a sub-millisecond row", lambda d: {"createdDate": {"$lte": d.items[15]["createdDate"]}}),
        ("$gt at a sub-millisecond row", lambda d: {"createdDate": {"$gt": d.items[15]["createdDate"]}}),
        ("range", lambda d: {"createdDate": {"$gte": "2026-03-01T13:00:00Z", "$lt": "2026-03-01T16:00:00.000Z"}}),
        ("offset form", lambda d: {"createdDate": {"$gte": "2026-03-01T15:30:00+02:00"}}),
        ("date only", lambda d: {"createdDate": {"$lt": "2026-03-02"}}),
        ("$in", lambda d: {"createdDate": {"$in": [d.items[0]["createdDate"], d.items[21]["createdDate"]]}}),
        ("$nin", lambda d: {"createdDate": {"$nin": [d.items[0]["createdDate"]]}}),
        ("$hasSome", lambda d: {"createdDate": {"$hasSome": [d.items[14]["createdDate"]]}}),
        ("$exists false", lambda d: {"createdDate": {"$exists": False}}),
    ],
    "updatedDate": [
        ("$gt", lambda d: {"updatedDate": {"$gt": d.items[12]["updatedDate"]}}),
        ("$lte", lambda d: {"updatedDate": {"$lte": d.items[12]["updatedDate"]}}),
        ("$eq", lambda d: {"updatedDate": d.items[13]["updatedDate"]}),
    ],
    "buyerInfo.email": [
        ("shorthand", lambda d: {"buyerInfo.email": "ada@example.com"}),
        ("$eq is case-sensitive", lambda d: {"buyerInfo.email": {"$eq": "ADA@example.com"}}),
        ("$eq null: unset", lambda d: {"buyerInfo.email": None}),
        ("$ne null: set", lambda d: {"buyerInfo.email": {"$ne": None}}),
        ("$ne includes unset", lambda d: {"buyerInfo.email": {"$ne": "bob@shop.io"}}),
        ("$exists false", lambda d: {"buyerInfo.email": {"$exists": False}}),
        ("$exists true", lambda d: {"buyerInfo.email": {"$exists": True}}),
        ("$startsWith any case", lambda d: {"buyerInfo.email": {"$startsWith": "aDa"}}),
        ("$begins", lambda d: {"buyerInfo.email": {"$begins": "ada.L"}}),
        ("$startsWith wildcard characters are literal", lambda d: {"buyerInfo.email": {"$startsWith": "erin%"}}),
        ("$startsWith _ is literal", lambda d: {"buyerInfo.email": {"$startsWith": "dave_"}}),
        ("$in with null", lambda d: {"buyerInfo.email": {"$in": ["carol@x.org", None]}}),
        ("$nin", lambda d: {"buyerInfo.email": {"$nin": ["carol@x.org", "zed@example.com"]}}),
        ("$gt", lambda d: {"buyerInfo.email": {"$gt": "bob@shop.io"}}),
        ("$gte", lambda d: {"buyerInfo.email": {"$gte": "bob@shop.io"}}),
        ("$lt excludes unset", lambda d: {"buyerInfo.email": {"$lt": "b"}}),
        ("$lte", lambda d: {"buyerInfo.email": {"$lte": "carol@x.org"}}),
    ],
    "buyer ids": [
        ("contactId $exists false", lambda d: {"buyerInfo.contactId": {"$exists": False}}),
        ("contactId $startsWith", lambda d: {"buyerInfo.contactId": {"$startsWith": "C01"}}),
        ("contactId $gte", lambda d: {"buyerInfo.contactId": {"$gte": "c020"}}),
        ("visitorId shorthand", lambda d: {"buyerInfo.visitorId": "v-07"}),
        ("visitorId $exists", lambda d: {"buyerInfo.visitorId": {"$exists": True}}),
        ("memberId $in", lambda d: {"buyerInfo.memberId": {"$in": ["m-00", "m-08", "m-99"]}}),
        ("memberId $eq null", lambda d: {"buyerInfo.memberId": None}),
        ("userId $exists", lambda d: {"buyerInfo.userId": {"$exists": True}}),
        ("userId $lt", lambda d: {"buyerInfo.userId": {"$lt": "u-20"}}),
    ],
    "combinators": [
        ("empty", lambda d: {}),
        ("implicit AND", lambda d: {"status": "ABANDONED", "buyerInfo.email": {"$startsWith": "a"}}),
        ("$and", lambda d: {"$and": [{"status": "RECOVERED"}, {"buyerInfo.memberId": {"$exists": True}}]}),
        ("$or", lambda d: {"$or": [{"buyerInfo.userId": {"$exists": True}}, {"buyerInfo.email": "bob@shop.io"}]}),
        ("$not", lambda d: {"$not": {"buyerInfo.email": {"$startsWith": "ada"}}}),
        ("$not of $or", lambda d: {"$not": {"$or": [{"status": "RECOVERED"}, {"buyerInfo.email": None}]}}),
        (
            "nested",
            lambda d: {
                "$and": [
                    {"$or": [{"status": "RECOVERED"}, {"buyerInfo.visitorId": {"$exists": True}}]},
                    {"$not": {"createdDate": {"$gt": d.items[20]["createdDate"]}}},
                ],
                "buyerInfo.contactId": {"$ne": None},
            },
        ),
        (
            "several operators on one field",
            lambda d: {"createdDate": {"$gt": d.items[3]["createdDate"], "$lte": d.items[30]["createdDate"]}},
        ),
    ],
}


@pytest.mark.parametrize("group", list(FILTERS))
def test_query_filters_match_the_reference(api, data, group):
    for name, build_filter in FILTERS[group]:
        filter_json = build_filter(data)
        pages = walk(api, {"filter": filter_json})
        assert flat(pages) == expected_ids(data, filter_json), f"{group}: {name}"


SORTS = [
    None,
    [{"fieldName": "createdDate", "order": "ASC"}],
    [{"fieldName": "createdDate"}],
    [{"fieldName": "updatedDate", "order": "DESC"}],
    [{"fieldName": "status", "order": "ASC"}, {"fieldName": "createdDate", "order": "DESC"}],
    [{"fieldName": "buyerInfo.email", "order": "ASC"}],
    [{"fieldName": "buyerInfo.email", "order": "DESC"}, {"fieldName": "id", "order": "ASC"}],
    [{"fieldName": "id", "order": "DESC"}],
    [{"fieldName": "buyerInfo.memberId", "order": "DESC"}, {"fieldName": "updatedDate", "order": "ASC"}],
    [{"fieldName": "buyerInfo.contactId"}, {"fieldName": "status", "order": "DESC"}],
]


@pytest.mark.parametrize(
    "sort",
    SORTS,
    ids=lambda s: "default" if s is None else ",".join(f"{e['fieldName']}:{e.get('order', 'ASC')}" for e in s),
)
def test_every_sort_pages_forward_and_back_like_the_reference(api, data, sort):
    filter_json = {"buyerInfo.email": {"$ne": "zed@example.com"}}
    body = {"filter": filter_json, **({"sort": sort} if sort else {})}
    pages = walk(api, body)
    assert flat(pages) == expected_ids(data, filter_json, sort)
    assert walk_back(api, body, pages) == pages


def test_offset_paging_reports_total_and_pages_like_the_reference(api, data):
    filter_json = {"status": "ABANDONED"}
    sort = [{"fieldName": "updatedDate", "order": "ASC"}]
    expected = expected_ids(data, filter_json, sort)
    seen, offset = [], 0
    while True:
        response = api.post(
            QUERY, {"query": {"filter": filter_json, "sort": sort, "paging": {"limit": 5, "offset": offset}}}
        )
        metadata = response.json()["metadata"]
        assert metadata["total"] == len(expected) and metadata["tooManyToCount"] is False
        assert metadata["offset"] == offset and metadata["count"] == len(response.json()["abandonedCheckouts"])
        seen += [item["id"] for item in response.json()["abandonedCheckouts"]]
        if not metadata["hasNext"]:
            break
        offset += 5
    assert seen == expected


def test_offset_paging_says_too_many_to_count_past_the_cap(api, data, monkeypatch):
    monkeypatch.setattr("checkouts.api.listing.TOTAL_CAP", 10)
    response = api.post(QUERY, {"query": {"paging": {"limit": 3}}})
    metadata = response.json()["metadata"]
    assert metadata["tooManyToCount"] is True and "total" not in metadata
    assert metadata["count"] == 3 and metadata["hasNext"] is True


SEARCH_FILTERS = [
    ("activities $hasSome", {"activities.type": {"$hasSome": ["EMAIL_SENT", "TASK_CREATED"]}}),
    ("activities $hasAll", {"activities.type": {"$hasAll": ["SCHEDULED", "EMAIL_SENT"]}}),
    ("activities $any", {"activities.type": {"$any": ["SCHEDULED"]}}),
    ("coupon $hasSome", {"appliedDiscounts.coupon.code": {"$hasSome": ["VIP", "NOPE"]}}),
    ("coupon $hasAll", {"appliedDiscounts.coupon.code": {"$hasAll": ["VIP", "SPRING"]}}),
    ("firstName $startsWith", {"contactDetails.firstName": {"$startsWith": "ad"}}),
    ("firstName $exists false", {"contactDetails.firstName": {"$exists": False}}),
    ("lastName $in", {"contactDetails.lastName": {"$in": ["Hopper", "Byron"]}}),
    ("lastName $gt", {"contactDetails.lastName": {"$gt": "Hopper"}}),
    ("status $nin", {"status": {"$nin": ["RECOVERED"]}}),
    ("email $in", {"buyerInfo.email": {"$in": ["bob@shop.io", "carol@x.org"]}}),
    ("createdDate $lt", {"createdDate": {"$lt": "2026-03-01T15:00:00Z"}}),
]


@pytest.mark.parametrize("name,filter_json", SEARCH_FILTERS, ids=[case[0] for case in SEARCH_FILTERS])
def test_search_filters_match_the_reference(api, data, name, filter_json):
    pages = walk(api, {"filter": filter_json}, search=True)
    assert flat(pages) == expected_ids(data, filter_json)


TEXT = [
    {"expression": "ada"},
    {"expression": "ADA hopper", "mode": "AND"},
    {"expression": "ada hopper", "mode": "OR"},
    {"expression": "bob", "fields": ["contactDetails.firstName"]},
    {"expression": "bob", "fields": ["buyerInfo.email"]},
    {"expression": "love", "fields": ["contactDetails.lastName", "buyerInfo.email"]},
    # Case folding of non-ASCII letters is the database's (SQLite folds ASCII only).
    {"expression": "Émi"},
]


@pytest.mark.parametrize("text", TEXT, ids=lambda t: t["expression"] + ":" + t.get("mode", "OR"))
def test_free_text_search_matches_the_reference(api, data, text):
    sort = [{"fieldName": "updatedDate", "order": "ASC"}, {"fieldName": "createdDate", "order": "DESC"}]
    body = {"search": text, "sort": sort, "filter": {"status": {"$ne": "RECOVERED"}}}
    pages = walk(api, body, search=True)
    reference_text = {key: (tuple(value) if key == "fields" else value) for key, value in text.items()}
    assert flat(pages) == expected_ids(data, {"status": {"$ne": "RECOVERED"}}, sort, reference_text)
    assert walk_back(api, body, pages, search=True) == pages
