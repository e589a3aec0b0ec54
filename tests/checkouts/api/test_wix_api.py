"""The Wix-compatible methods as an app sees them: bodies, errors, request shapes the SDK sends."""

import uuid

import pytest

from checkouts.models import AbandonedCheckout, WebhookEvent
from checkouts.selectors import abandoned_checkouts_with_activities
from checkouts.services.wire import abandoned_checkouts_wire_refresh
from checkouts.wix import abandoned_checkout_to_wix
from tests.factories import AbandonedCheckoutFactory, ActivityFactory

pytestmark = pytest.mark.django_db

BASE = "/ecom/v1/abandoned-checkout"
QUERY = f"{BASE}/query"
SEARCH = f"{BASE}/search"
BULK_DELETE = "/ecom/v1/bulk/abandoned-checkout/delete"


def violations(response) -> list[dict]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"message", "details"} and body["message"]
    return body["details"]["validationError"]["fieldViolations"]


def fields(response) -> list[str]:
    return [item["field"] for item in violations(response)]


def application_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["details"]["applicationError"]
    assert error["code"] == code and error["description"] == response.json()["message"]
    return error


# --- Get --------------------------------------------------------------------------------------


def test_get_returns_the_wix_object_and_tolerates_the_sdks_query_string(api, store):
    ac = AbandonedCheckoutFactory(store=store)
    ActivityFactory(abandoned_checkout=ac)
    response = api.get(f"{BASE}/{ac.id}", {"abandonedCheckoutId": str(ac.id), "unexpected": "1"})
    assert response.status_code == 200
    expected = abandoned_checkout_to_wix(
        abandoned_checkouts_with_activities(AbandonedCheckout.objects.filter(pk=ac.pk)).get(), store=store
    )
    assert response.json() == {"abandonedCheckout": expected}
    assert response.json()["abandonedCheckout"]["activities"][0]["type"] == "SCHEDULED"


def test_get_unknown_or_another_stores_id_is_not_found(api, other_store):
    foreign = AbandonedCheckoutFactory(store=other_store)
    for pk in (uuid.uuid4(), foreign.id):
        error = application_error(api.get(f"{BASE}/{pk}"), 404, "NOT_FOUND")
        assert error["data"] == {"abandonedCheckoutId": str(pk)}


def test_get_malformed_id_names_the_path_parameter(api):
    assert fields(api.get(f"{BASE}/not-a-guid")) == ["abandonedCheckoutId"]


def test_get_runs_the_same_queries_whatever_the_activity_count(api, store, django_assert_num_queries):
    quiet, busy = AbandonedCheckoutFactory(store=store), AbandonedCheckoutFactory(store=store)
    for _ in range(25):
        ActivityFactory(abandoned_checkout=busy)
    api.get(f"{BASE}/{quiet.id}")  # the key's last_used_at is written once a minute, not per request
    # The row and its activities: the key (with its store) was read by the first request (checkouts/keyring.py).
    with django_assert_num_queries(2):
        api.get(f"{BASE}/{quiet.id}")
    with django_assert_num_queries(2):
        response = api.get(f"{BASE}/{busy.id}")
    assert len(response.json()["abandonedCheckout"]["activities"]) == 20


# --- Query ------------------------------------------------------------------------------------


def test_query_defaults_to_fifty_newest_first(api, store):
    rows = AbandonedCheckoutFactory.create_batch(60, store=store)
    response = api.post(QUERY, {"query": {}})
    body = response.json()
    expected = [str(ac.id) for ac in sorted(rows, key=lambda ac: (ac.created_at, ac.id), reverse=True)][:50]
    assert [item["id"] for item in body["abandonedCheckouts"]] == expected
    assert body["results"] == body["abandonedCheckouts"]
    assert body["metadata"]["count"] == 50 and body["metadata"]["hasNext"] is True
    assert body["metadata"]["cursors"]["next"] and body["metadata"]["cursors"]["prev"] is None


def test_query_as_the_sdk_sends_it(api, store):
    """The SDK's builder: filter + sort + cursorPaging first, then `{cursorPaging: {cursor, limit}}` only."""
    AbandonedCheckoutFactory.create_batch(5, store=store, buyer_email="ada@example.com")
    AbandonedCheckoutFactory.create_batch(3, store=store, buyer_email="bob@example.com")
    first = api.post(
        QUERY,
        {
            "query": {
                "filter": {"$and": [{"buyerInfo.email": {"$startsWith": "ada"}}, {"status": "ABANDONED"}]},
                "sort": [{"fieldName": "createdDate", "order": "ASC"}],
                "cursorPaging": {"limit": 2},
            }
        },
    ).json()
    ids = [item["id"] for item in first["abandonedCheckouts"]]
    cursor = first["metadata"]["cursors"]["next"]
    while cursor:
        page = api.post(QUERY, {"query": {"cursorPaging": {"cursor": cursor, "limit": 2}}}).json()
        ids += [item["id"] for item in page["abandonedCheckouts"]]
        cursor = page["metadata"]["cursors"]["next"]
    assert len(ids) == len(set(ids)) == 5


def test_query_tolerates_projection_fields(api, store):
    AbandonedCheckoutFactory(store=store)
    response = api.post(QUERY, {"query": {"fields": ["id"], "fieldsets": ["FULL"]}})
    assert response.status_code == 200 and "totalPrice" in response.json()["abandonedCheckouts"][0]


@pytest.mark.parametrize(
    "query,field",
    [
        ({"filter": {"buyerInfo.phone": "1"}}, "query.filter.buyerInfo.phone"),
        ({"filter": {"checkoutId": "x"}}, "query.filter.checkoutId"),
        ({"filter": {"status": {"$startsWith": "A"}}}, "query.filter.status.$startsWith"),
        ({"filter": {"createdDate": {"$startsWith": "2026"}}}, "query.filter.createdDate.$startsWith"),
        ({"filter": {"id": {"$regex": "a"}}}, "query.filter.id.$regex"),
        ({"filter": {"$nor": [{"status": "ABANDONED"}]}}, "query.filter.$nor"),
        ({"filter": {"$or": []}}, "query.filter.$or"),
        ({"filter": {"$not": "x"}}, "query.filter.$not"),
        ({"filter": {"status": "LOST"}}, "query.filter.status"),
        ({"filter": {"id": {"$in": ["nope"]}}}, "query.filter.id.$in"),
        ({"filter": {"createdDate": {"$gt": "yesterday"}}}, "query.filter.createdDate.$gt"),
        ({"filter": {"buyerInfo.email": {"$in": "a@b.c"}}}, "query.filter.buyerInfo.email.$in"),
        ({"filter": {"buyerInfo.email": {"$exists": "yes"}}}, "query.filter.buyerInfo.email.$exists"),
        ({"filter": {"buyerInfo.email": 7}}, "query.filter.buyerInfo.email"),
        ({"filter": {"status": {}}}, "query.filter.status"),
        ({"filter": []}, "query.filter"),
        ({"sort": [{"fieldName": "totalPrice.amount"}]}, "query.sort[0].fieldName"),
        ({"sort": [{"fieldName": "createdDate", "order": "UP"}]}, "query.sort[0].order"),
        ({"sort": [{"fieldName": "id"}, {"fieldName": "id"}]}, "query.sort[1].fieldName"),
        ({"sort": "createdDate"}, "query.sort"),
        ({"cursorPaging": {"limit": 101}}, "query.cursorPaging.limit"),
        ({"cursorPaging": {"limit": -1}}, "query.cursorPaging.limit"),
        ({"cursorPaging": {"limit": "10"}}, "query.cursorPaging.limit"),
        ({"cursorPaging": {"cursor": "not-ours"}}, "query.cursorPaging.cursor"),
        ({"paging": {"offset": -5}}, "query.paging.offset"),
        ({"paging": {"offset": 10_001}}, "query.paging.offset"),
        ({"paging": {"limit": 5}, "cursorPaging": {"limit": 5}}, "query"),
    ],
)
def test_query_rejects_what_it_does_not_support_naming_the_field(api, query, field):
    assert field in fields(api.post(QUERY, {"query": query}))


def test_query_reports_every_problem_at_once(api):
    body = {"query": {"filter": {"nope": 1, "status": {"$gt": "A"}, "createdDate": "soon"}}}
    assert fields(api.post(QUERY, body)) == [
        "query.filter.nope",
        "query.filter.status.$gt",
        "query.filter.createdDate",
    ]


@pytest.mark.parametrize(
    "body,field", [({}, "query"), ({"query": "all"}, "query"), ([], "body"), ({"query": None}, "query")]
)
def test_query_body_must_hold_a_query_object(api, body, field):
    assert fields(api.post(QUERY, body)) == [field]


def test_malformed_json_is_a_validation_error(api):
    assert fields(api.post(QUERY, b'{"query": {')) == ["body"]


def test_nesting_and_nul_characters_are_refused_not_crashed_on(api):
    deep = {"status": "ABANDONED"}
    for _ in range(30):
        deep = {"$not": deep}
    assert any("$not" in field for field in fields(api.post(QUERY, {"query": {"filter": deep}})))
    nul = b'{"query": {"filter": {"buyerInfo.email": "a\\u0000b"}}}'
    assert fields(api.post(QUERY, nul)) == ["query.filter.buyerInfo.email"]
    assert fields(api.post(QUERY, b"[" * 100_000 + b"]" * 100_000)) == ["body"]


def test_a_large_filter_still_pages_and_a_huge_one_is_refused(api, store):
    rows = AbandonedCheckoutFactory.create_batch(3, store=store)
    ids = [str(ac.id) for ac in rows] + [str(uuid.uuid4()) for _ in range(200)]
    first = api.post(QUERY, {"query": {"filter": {"id": {"$in": ids}}, "cursorPaging": {"limit": 1}}}).json()
    cursor = first["metadata"]["cursors"]["next"]
    assert len(cursor) <= 16_000  # Wix's limit on a cursor, which clients may enforce
    second = api.post(QUERY, {"query": {"cursorPaging": {"cursor": cursor, "limit": 1}}})
    assert second.status_code == 200 and second.json()["metadata"]["count"] == 1
    huge = {"query": {"filter": {"id": {"$in": [str(uuid.uuid4()) for _ in range(300)]}}}}
    assert fields(api.post(QUERY, huge)) == ["query.filter"]


def test_a_cursor_is_bound_to_its_store_and_method(api, make_api, store, other_store):
    AbandonedCheckoutFactory.create_batch(3, store=store)
    AbandonedCheckoutFactory.create_batch(3, store=other_store)
    cursor = api.post(QUERY, {"query": {"cursorPaging": {"limit": 1}}}).json()["metadata"]["cursors"]["next"]
    foreign = make_api(other_store)
    assert fields(foreign.post(QUERY, {"query": {"cursorPaging": {"cursor": cursor}}})) == ["query.cursorPaging.cursor"]
    assert fields(api.post(SEARCH, {"search": {"cursorPaging": {"cursor": cursor}}})) == ["search.cursorPaging.cursor"]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert fields(api.post(QUERY, {"query": {"cursorPaging": {"cursor": tampered}}})) == ["query.cursorPaging.cursor"]


def test_a_query_page_runs_the_same_queries_for_5_and_100_rows(api, store, django_assert_num_queries):
    rows = AbandonedCheckoutFactory.create_batch(100, store=store)
    for row in rows[::3]:
        ActivityFactory(abandoned_checkout=row)
    api.post(QUERY, {"query": {}})
    for limit in (5, 100):
        # No stored JSON yet (factories save without it): the page, its rows in full, their activities
        # (the key was read once, by the first request: checkouts/keyring.py).
        with django_assert_num_queries(3):
            response = api.post(QUERY, {"query": {"cursorPaging": {"limit": limit}}})
        assert response.json()["metadata"]["count"] == limit
    with django_assert_num_queries(4):  # offset paging adds the capped count
        api.post(QUERY, {"query": {"paging": {"limit": 100, "offset": 0}}})
    abandoned_checkouts_wire_refresh([row.pk for row in rows])
    for limit in (5, 100):
        with django_assert_num_queries(1):  # the page: its stored JSON is spliced
            response = api.post(QUERY, {"query": {"cursorPaging": {"limit": limit}}})
        assert response.json()["metadata"]["count"] == limit


# --- Search -----------------------------------------------------------------------------------


def test_search_answers_with_paging_metadata(api, store):
    AbandonedCheckoutFactory(store=store, first_name="Ada")
    body = api.post(SEARCH, {"search": {"search": {"expression": "ada", "fuzzy": True}}}).json()
    assert set(body) == {"abandonedCheckouts", "pagingMetadata"}
    assert body["pagingMetadata"]["count"] == 1


def test_search_with_no_body_lists_everything(api, store):
    AbandonedCheckoutFactory.create_batch(2, store=store)
    assert api.post(SEARCH, {}).json()["pagingMetadata"]["count"] == 2


@pytest.mark.parametrize(
    "search,field",
    [
        ({"sort": [{"fieldName": "status"}]}, "search.sort[0].fieldName"),
        ({"sort": [{"fieldName": "createdDate"}] * 5}, "search.sort"),
        ({"filter": {"buyerInfo.email": {"$startsWith": "a"}}}, "search.filter.buyerInfo.email.$startsWith"),
        ({"filter": {"activities.type": {"$hasSome": ["EMAILED"]}}}, "search.filter.activities.type.$hasSome"),
        ({"filter": {"activities.type": "EMAIL_SENT"}}, "search.filter.activities.type"),
        ({"search": {"fields": ["buyerInfo.phone"]}}, "search.search.fields[0]"),
        ({"search": {"mode": "XOR", "expression": "a"}}, "search.search.mode"),
        ({"search": {"expression": "a" * 101}}, "search.search.expression"),
    ],
)
def test_search_rejects_what_it_does_not_support(api, search, field):
    assert field in fields(api.post(SEARCH, {"search": search}))


# --- Delete and Bulk Delete -------------------------------------------------------------------


def test_delete_removes_it_and_writes_the_deleted_event(api, store):
    ac = AbandonedCheckoutFactory(store=store)
    response = api.delete(f"{BASE}/{ac.id}?abandonedCheckoutId={ac.id}")
    assert response.status_code == 200 and response.json() == {}
    assert not AbandonedCheckout.objects.filter(pk=ac.pk).exists()
    event = WebhookEvent.objects.get(entity_id=ac.pk)
    assert event.type == WebhookEvent.Type.DELETED and event.payload["deletedEvent"]["deletedEntity"]["id"] == str(
        ac.id
    )
    application_error(api.delete(f"{BASE}/{ac.id}"), 404, "NOT_FOUND")


def test_delete_of_another_stores_checkout_is_not_found_and_keeps_it(api, other_store):
    foreign = AbandonedCheckoutFactory(store=other_store)
    application_error(api.delete(f"{BASE}/{foreign.id}"), 404, "NOT_FOUND")
    assert AbandonedCheckout.objects.filter(pk=foreign.pk).exists()


def test_bulk_delete_reports_each_id(api, store, other_store):
    mine, foreign = AbandonedCheckoutFactory(store=store), AbandonedCheckoutFactory(store=other_store)
    unknown = uuid.uuid4()
    response = api.post(BULK_DELETE, {"abandonedCheckoutIds": [str(mine.id), str(foreign.id), str(unknown)]})
    assert response.status_code == 200
    results = [result["itemMetadata"] for result in response.json()["results"]]
    assert results[0] == {"id": str(mine.id), "originalIndex": 0, "success": True}
    assert [r["success"] for r in results] == [True, False, False]
    assert [r["error"]["code"] for r in results[1:]] == ["NOT_FOUND", "NOT_FOUND"]
    assert [r["originalIndex"] for r in results] == [0, 1, 2]
    assert response.json()["bulkActionMetadata"] == {"totalSuccesses": 1, "totalFailures": 2, "undetailedFailures": 0}
    assert AbandonedCheckout.objects.filter(pk=foreign.pk).exists()
    assert not AbandonedCheckout.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize(
    "ids,field",
    [
        ([], "abandonedCheckoutIds"),
        (None, "abandonedCheckoutIds"),
        ([str(uuid.uuid4()) for _ in range(101)], "abandonedCheckoutIds"),
        ([str(uuid.uuid4()), "nope"], "abandonedCheckoutIds[1]"),
    ],
)
def test_bulk_delete_validates_the_id_list(api, ids, field):
    assert fields(api.post(BULK_DELETE, {"abandonedCheckoutIds": ids})) == [field]
