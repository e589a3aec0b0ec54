"""Ingest over HTTP: per-event results, the status rule, size limits, replays, legacy Wix Stores events."""

import json
from datetime import timedelta

import pytest

from checkouts.models import AbandonedCheckout, Checkout, IngestedEvent
from checkouts.services import abandoned_checkouts_detect
from tests.checkouts.helpers import at, completed_event, updated_event

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/checkout-events"
CART_ABANDONED = "/api/v1/legacy/wix-stores/cart-abandoned"
CART_RECOVERED = "/api/v1/legacy/wix-stores/cart-recovered"


def items(response) -> list[dict]:
    return [result["itemMetadata"] for result in response.json()["results"]]


def test_a_batch_applies_every_event_and_reports_each(api, store):
    batch = [updated_event("co-1", email="Ada@Example.com"), updated_event("co-2", minutes=1)]
    response = api.post(EVENTS, {"events": batch})
    assert response.status_code == 200
    assert items(response) == [
        {"originalIndex": 0, "success": True, "id": batch[0]["eventId"], "outcome": "APPLIED"},
        {"originalIndex": 1, "success": True, "id": batch[1]["eventId"], "outcome": "APPLIED"},
    ]
    assert response.json()["bulkActionMetadata"] == {"totalSuccesses": 2, "totalFailures": 0, "undetailedFailures": 0}
    assert Checkout.objects.get(external_id="co-1").email_key == "ada@example.com"


def test_a_replayed_batch_answers_the_same_and_applies_nothing_twice(api, store):
    batch = {"events": [updated_event("co-1"), completed_event("co-1", minutes=5)]}
    first = api.post(EVENTS, batch)
    again = api.post(EVENTS, batch)
    assert again.status_code == first.status_code == 200
    assert items(again) == items(first)
    assert [item["outcome"] for item in items(first)] == ["APPLIED", "COMPLETED"]
    assert Checkout.objects.count() == 1 and IngestedEvent.objects.count() == 2


def test_an_event_id_reused_with_a_different_body_is_422(api, store):
    event = updated_event("co-1", total="10.00")
    api.post(EVENTS, {"events": [event]})
    changed = {**event, "checkout": {**event["checkout"], "totalPrice": {"amount": "99.00"}}}
    response = api.post(EVENTS, {"events": [changed]})
    assert response.status_code == 422
    assert response.json()["details"]["applicationError"]["code"] == "EVENT_ID_REUSED"
    [item] = items(response)
    assert item["success"] is False and item["error"]["code"] == "EVENT_ID_REUSED"
    assert Checkout.objects.get().total == 10


def test_a_mixed_batch_is_207_and_the_good_events_still_land(api, store):
    reused = updated_event("co-0")
    api.post(EVENTS, {"events": [reused]})
    bad = updated_event("co-2")
    bad["checkout"]["lineItems"][0]["quantity"] = 0
    batch = [updated_event("co-1"), bad, {**reused, "occurredAt": "2026-01-01T00:00:00Z"}, "not an event"]
    response = api.post(EVENTS, {"events": batch})
    assert response.status_code == 207
    results = items(response)
    assert [item["success"] for item in results] == [True, False, False, False]
    assert [item["originalIndex"] for item in results] == [0, 1, 2, 3]
    assert results[1]["error"]["code"] == "INVALID_ARGUMENT"
    assert results[1]["error"]["data"]["fieldViolations"][0]["field"] == "checkout.lineItems[0].quantity"
    assert results[2]["error"]["code"] == "EVENT_ID_REUSED"
    assert results[3]["error"]["code"] == "INVALID_ARGUMENT"
    assert response.json()["bulkActionMetadata"]["totalFailures"] == 3
    assert set(Checkout.objects.values_list("external_id", flat=True)) == {"co-0", "co-1"}


def test_a_batch_where_every_event_is_invalid_is_400_naming_each_field(api, store):
    first, second = updated_event("co-1"), updated_event("co-2")
    del first["occurredAt"]
    second["checkout"]["currency"] = "XXQ"
    response = api.post(EVENTS, {"events": [first, second, "not an event"]})
    assert response.status_code == 400
    fields = [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]]
    assert fields == ["events[0].occurredAt", "events[1].checkout.currency", "events[2]"]
    assert len(items(response)) == 3 and not Checkout.objects.exists()


@pytest.mark.parametrize("body", [{}, {"events": []}, {"events": {"a": 1}}, {"events": [{}] * 1001}, []])
def test_a_body_that_is_not_a_batch_of_1_to_1000_is_400(api, store, body):
    response = api.post(EVENTS, body)
    assert response.status_code == 400
    field = response.json()["details"]["validationError"]["fieldViolations"][0]["field"]
    assert field in ("events", "body") and "results" not in response.json()


def test_1000_events_is_the_limit_not_an_error(api, store):
    response = api.post(EVENTS, {"events": [{"eventId": f"e{index}"} for index in range(1000)]})
    assert response.status_code == 400 and len(items(response)) == 1000  # each one judged, none refused as a batch


def test_a_body_over_the_byte_limit_is_413_before_parsing(api, store, settings):
    settings.COMEBACK_INGEST_MAX_BYTES = 2_000
    small = {"events": [updated_event("co-1")]}
    assert len(json.dumps(small)) < 2_000
    assert api.post(EVENTS, small).status_code == 200
    big = {"events": [updated_event(f"co-{index}") for index in range(5)]}
    response = api.post(EVENTS, big)
    assert response.status_code == 413
    assert response.json()["details"]["applicationError"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "description": "The request body is larger than 2000 bytes.",
        "data": {"maxBytes": 2000},
    }
    assert Checkout.objects.count() == 1


def test_other_api_bodies_have_their_own_smaller_limit(api, settings):
    settings.COMEBACK_API_MAX_BODY_BYTES = 100
    response = api.post("/ecom/v1/abandoned-checkout/query", {"query": {"filter": {"id": {"$nin": ["x" * 200]}}}})
    assert response.status_code == 413


# --- Legacy Wix Stores events -------------------------------------------------------------


def cart_abandoned(cart_id="cart-1", **extra) -> dict:
    return {
        "cartId": cart_id,
        "creationTime": "2026-11-28T10:00:00Z",
        "abandonTime": "2026-11-28T11:00:00Z",
        "buyerInfo": {
            "id": "member-7",
            "identityType": "MEMBER",
            "email": "Ada@Example.com",
            "phone": "+15555550100",
            "firstName": "Ada",
            "lastName": "Lovelace",
        },
        "itemsCount": 2,
        "couponId": None,
        "totals": {"subtotal": 120.5, "total": 110.5, "formattedTotal": "$110.50"},
        "checkoutUrl": "https://shop.example.com/cart/cart-1",
        **extra,
    }


def test_a_legacy_cart_abandoned_event_becomes_an_abandoned_checkout(api, store):
    response = api.post(CART_ABANDONED, cart_abandoned())
    assert response.status_code == 200 and items(response)[0]["outcome"] == "APPLIED"
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    ac = AbandonedCheckout.objects.get()
    assert (ac.checkout_external_id, ac.cart_id, ac.member_id) == ("cart-1", "cart-1", "member-7")
    assert ac.buyer_email == "Ada@Example.com" and ac.first_name == "Ada" and ac.phone == "+15555550100"
    assert str(ac.total) == "110.5000" and str(ac.subtotal) == "120.5000" and ac.currency == store.currency
    assert ac.storefront_checkout_url == "https://shop.example.com/cart/cart-1"


def test_a_legacy_cart_recovered_event_recovers_it(api, store):
    api.post(CART_ABANDONED, cart_abandoned())
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    recovered = {"cartId": "cart-1", "recoveredTime": "2026-12-01T09:00:00Z", "checkoutId": "internal"}
    response = api.post(CART_RECOVERED, recovered)
    assert response.status_code == 200 and items(response)[0]["outcome"] == "COMPLETED"
    assert AbandonedCheckout.objects.get().status == AbandonedCheckout.Status.RECOVERED
    replay = api.post(CART_RECOVERED, recovered)
    assert replay.status_code == 200 and items(replay)[0]["outcome"] == "COMPLETED"


def test_a_retried_legacy_webhook_is_a_replay(api, store):
    api.post(CART_ABANDONED, cart_abandoned())
    response = api.post(CART_ABANDONED, cart_abandoned())
    assert response.status_code == 200 and IngestedEvent.objects.count() == 1


@pytest.mark.parametrize(
    "path,body,field",
    [
        (CART_ABANDONED, cart_abandoned(cartId=None), "cartId"),
        (CART_ABANDONED, {**cart_abandoned(), "abandonTime": "late"}, "abandonTime"),
        (CART_ABANDONED, {**cart_abandoned(), "buyerInfo": {"identityType": "ROBOT"}}, "buyerInfo.identityType"),
        (CART_ABANDONED, {**cart_abandoned(), "totals": {"total": -1}}, "totals.total"),
        (CART_ABANDONED, {**cart_abandoned(), "totals": {"subtotal": -1.6e308}}, "totals.subtotal"),
        (CART_ABANDONED, {**cart_abandoned(), "totals": {"total": "110.50"}}, "totals.total"),
        (CART_RECOVERED, {"cartId": "cart-1"}, "recoveredTime"),
    ],
)
def test_a_malformed_legacy_event_is_400_naming_the_field(api, store, path, body, field):
    response = api.post(path, body)
    assert response.status_code == 400
    assert [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]] == [field]
    assert not Checkout.objects.exists()
