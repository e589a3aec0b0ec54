"""Hostile input is harmless: documented size limits, JSON errors on every API path, no 5xx from client input."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Checkout
from config import errors
from tests.checkouts.helpers import iso, updated_event
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/checkout-events"
QUERY = "/ecom/v1/abandoned-checkout/query"
SEARCH = "/ecom/v1/abandoned-checkout/search"
ANALYTICS = "/ecom/v1/abandoned-checkout/get-analytics"
MiB = 1024 * 1024


def envelope_code(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)["details"]["applicationError"]["code"]


def fields(response) -> list[str]:
    assert response.status_code == 400, response.content[:300]
    return [item["field"] for item in response.json()["details"]["validationError"]["fieldViolations"]]


def padded(body: dict, size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes: a string field the views ignore takes up the rest."""
    base = json.dumps({**body, "padding": ""}, separators=(",", ":")).encode()
    raw = json.dumps({**body, "padding": "x" * (size - len(base))}, separators=(",", ":")).encode()
    assert len(raw) == size
    return raw


# --- Finding 6: the documented limits are the real ones --------------------------------------


def test_a_valid_2_9_mb_batch_is_accepted(api, store):
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) used to refuse it with an HTML 400."""
    events = [updated_event(f"co-{index}") for index in range(1000)]
    for event in events:
        item = event["checkout"]["lineItems"][0]
        event["checkout"]["lineItems"] = [{**item, "id": f"li-{n}"} for n in range(8)]
    body = json.dumps({"events": events})
    assert 2_900_000 <= len(body) < 8 * MiB

    response = api.post(EVENTS, body)

    assert response.status_code == 200, response.content[:300]
    assert Checkout.objects.count() == 1000


def test_ingest_takes_a_body_just_under_8_mib_and_refuses_one_just_over_as_json_413(api, store):
    batch = {"events": [updated_event("co-1")]}
    assert api.post(EVENTS, padded(batch, 8 * MiB)).status_code == 200

    response = api.post(EVENTS, padded(batch, 8 * MiB + 1))

    assert response.status_code == 413 and envelope_code(response) == "PAYLOAD_TOO_LARGE"
    assert response.json()["details"]["applicationError"]["data"] == {"maxBytes": 8 * MiB}


def test_other_api_routes_take_256_kib_and_refuse_more_as_json_413(api, store):
    query = {"query": {"cursorPaging": {"limit": 1}}}
    assert api.post(QUERY, padded(query, 256 * 1024)).status_code == 200

    response = api.post(QUERY, padded(query, 256 * 1024 + 1))

    assert response.status_code == 413 and envelope_code(response) == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("path", ["/ecom/v1/nope", "/ecom/", "/api/nope", "/api/v2/abandoned-checkouts/"])
def test_unknown_api_paths_are_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404 and envelope_code(response) == "NOT_FOUND"


def test_a_wrong_method_is_a_json_405(api):
    response = api.client.put(QUERY, headers=api.headers)
    assert response.status_code == 405 and envelope_code(response) == "METHOD_NOT_ALLOWED"


def test_a_session_post_without_a_csrf_token_is_a_json_403(store, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(QUERY, {"query": {}}, content_type="application/json")
    assert response.status_code == 403 and envelope_code(response) == "PERMISSION_DENIED"


def test_djangos_own_error_handlers_answer_json_on_api_paths(rf: RequestFactory):
    from django.core.exceptions import RequestDataTooBig

    assert errors.bad_request(rf.post("/api/v1/x"), RequestDataTooBig()).status_code == 413
    assert envelope_code(errors.bad_request(rf.post("/ecom/v1/x"), ValueError())) == "INVALID_ARGUMENT"
    assert envelope_code(errors.csrf_failure(rf.post("/api/v1/x"), "no token")) == "PERMISSION_DENIED"
    try:
        raise ZeroDivisionError("a bug")
    except ZeroDivisionError:
        response = errors.server_error(rf.get("/ecom/v1/abandoned-checkout/query"))
    assert response.status_code == 500 and envelope_code(response) == "INTERNAL"
    # People still get pages.
    assert not errors.bad_request(rf.post("/checkouts/"), ValueError())["Content-Type"].startswith("application/json")


# --- Finding 7: server errors from client input become JSON 4xx ---------------------------------


def test_a_lone_surrogate_in_an_ingest_body_is_a_400_naming_the_field(api, store):
    body = json.dumps({"events": [updated_event("co-1", email="ada\ud800@example.com")]})
    assert "\\ud800" in body

    response = api.post(EVENTS, body)

    assert fields(response) == ["events[0].checkout.buyerInfo.email"]
    assert Checkout.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"query": {"filter": {"buyerInfo.email": "\\udfff"}}}', "query.filter.buyerInfo.email"),
        (
            b'{"query": {"filter": {"buyerInfo.email": {"$in": ["a", "\\ud83d"]}}}}',
            "query.filter.buyerInfo.email.$in[1]",
        ),
        (b'{"query": {"filter": {"\\ud800": 1}}}', "query.filter"),
    ],
)
def test_a_lone_surrogate_in_a_query_is_a_400_naming_the_field(api, body, field):
    assert fields(api.post(QUERY, body)) == [field]


def test_in_and_nin_take_the_documented_1000_values_in_one_query(api, store, django_assert_max_num_queries):
    wanted = AbandonedCheckoutFactory(store=store, visitor_id="7", buyer_email="Ada@Example.com")
    other = AbandonedCheckoutFactory(store=store, visitor_id="five thousand", buyer_email="grace@example.com")
    values = [str(number) for number in range(1000)]
    emails = [f"{number}@x" for number in range(999)] + ["Ada@Example.com"]

    def ids(response) -> set[str]:
        assert response.status_code == 200, response.content[:300]
        return {item["id"] for item in response.json()["abandonedCheckouts"]}

    assert ids(api.post(QUERY, {"query": {"filter": {"buyerInfo.visitorId": {"$in": values}}}})) == {str(wanted.pk)}
    assert ids(api.post(QUERY, {"query": {"filter": {"buyerInfo.visitorId": {"$nin": values}}}})) == {str(other.pk)}
    assert ids(api.post(QUERY, {"query": {"filter": {"buyerInfo.email": {"$hasSome": emails}}}})) == {str(wanted.pk)}
    assert ids(api.post(SEARCH, {"search": {"filter": {"buyerInfo.email": {"$nin": emails}}}})) == {str(other.pk)}
    # Exact on the email, as $eq is: the lower-cased address is another value.
    lowered = [email.lower() for email in emails]
    assert ids(api.post(QUERY, {"query": {"filter": {"buyerInfo.email": {"$in": lowered}}}})) == set()


def test_in_takes_the_guids_of_real_rows(api, store):
    rows = AbandonedCheckoutFactory.create_batch(3, store=store)
    other_store_row = AbandonedCheckoutFactory()
    wanted = [str(rows[0].pk), str(rows[2].pk), str(other_store_row.pk)]
    response = api.post(QUERY, {"query": {"filter": {"id": {"$in": wanted}}}})
    assert {item["id"] for item in response.json()["abandonedCheckouts"]} == {str(rows[0].pk), str(rows[2].pk)}
    response = api.post(QUERY, {"query": {"filter": {"id": {"$nin": wanted}}}})
    assert {item["id"] for item in response.json()["abandonedCheckouts"]} == {str(rows[1].pk)}


def test_more_than_1000_values_is_a_400_naming_the_operator(api):
    values = [str(number) for number in range(1001)]
    response = api.post(QUERY, {"query": {"filter": {"buyerInfo.visitorId": {"$nin": values}}}})
    assert fields(response) == ["query.filter.buyerInfo.visitorId.$nin"]


def test_has_all_and_has_some_take_1000_coupon_codes(api, store):
    def coupon(code: str) -> dict:
        return {"coupon": {"code": code}, "discountType": "GLOBAL"}

    both = AbandonedCheckoutFactory(store=store, applied_discounts=[coupon("A"), coupon("B")])
    AbandonedCheckoutFactory(store=store, applied_discounts=[coupon("A")])

    def ids(codes: list[str], op: str = "$hasAll") -> set[str]:
        body = {"search": {"filter": {"appliedDiscounts.coupon.code": {op: codes}}}}
        response = api.post(SEARCH, body)
        assert response.status_code == 200, response.content[:300]
        return {item["id"] for item in response.json()["abandonedCheckouts"]}

    assert ids(["A", "B", "A"]) == {str(both.pk)}
    assert ids(["A", "B", "C"]) == set()
    assert ids([str(number) for number in range(1000)]) == set()
    assert len(ids([str(number) for number in range(999)] + ["B"], "$hasSome")) == 1


def test_analytics_over_the_whole_calendar_is_an_answer_not_a_500(api, store):
    AbandonedCheckoutFactory(store=store)
    AbandonedCheckoutFactory(
        store=store, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=timezone.now()
    )

    response = api.post(ANALYTICS, {"startDate": "0001-01-01", "endDate": "9999-12-31"})

    assert response.status_code == 200, response.content[:300]
    assert response.json()["recoverableCheckoutCount"] == 1 and response.json()["recoveredCheckoutCount"] == 1


def test_an_occurred_at_in_the_far_future_is_a_per_item_error_naming_it(api, store):
    future = {**updated_event("co-1"), "occurredAt": "9999-12-31T23:59:59Z"}
    near = {**updated_event("co-2"), "occurredAt": iso(timezone.now() + timedelta(minutes=1))}

    response = api.post(EVENTS, {"events": [future, near]})

    assert response.status_code == 207
    failed = response.json()["results"][0]["itemMetadata"]
    assert failed["success"] is False
    assert [v["field"] for v in failed["error"]["data"]["fieldViolations"]] == ["occurredAt"]
    assert set(Checkout.objects.values_list("external_id", flat=True)) == {"co-2"}
    # The refused event did not make the checkout's next real update stale.
    later = api.post(EVENTS, {"events": [{**updated_event("co-1"), "occurredAt": iso(timezone.now())}]})
    assert later.json()["results"][0]["itemMetadata"]["outcome"] == "APPLIED"


def test_the_clock_skew_allowance_is_a_setting(api, store, settings):
    settings.COMEBACK_INGEST_MAX_CLOCK_SKEW_SECONDS = 0
    event = {**updated_event("co-1"), "occurredAt": iso(timezone.now() + timedelta(minutes=1))}
    assert fields(api.post(EVENTS, {"events": [event]})) == ["events[0].occurredAt"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"query": {"cursorPaging": {"limit": 1e309}}}', "query.cursorPaging.limit"),
        (b'{"query": {"cursorPaging": {"limit": ' + b"9" * 400 + b"}}}", "query.cursorPaging.limit"),
        (b'{"query": {"cursorPaging": {"limit": NaN}}}', "body"),
        (b"[" * 10_000 + b"]" * 10_000, "body"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, ".".join(["a"] * 64)),  # 64 levels at most
        (b"\xff\xfe{}", "body"),
    ],
)
def test_numbers_nesting_and_encodings_no_layer_can_hold_are_a_400(api, body, field):
    assert fields(api.post(QUERY, body)) == [field]


def test_a_checkout_id_in_the_url_that_is_no_guid_is_a_json_400(api):
    response = api.get("/ecom/v1/abandoned-checkout/%ED%A0%80")
    assert response.status_code in (400, 404) and response["Content-Type"].startswith("application/json")


def test_other_stores_rows_stay_invisible_to_in(api, store):
    theirs = AbandonedCheckoutFactory(visitor_id="1")
    response = api.post(QUERY, {"query": {"filter": {"buyerInfo.visitorId": {"$in": ["1", str(uuid.uuid4())]}}}})
    assert str(theirs.pk) not in response.content.decode()
