"""Wix API fixes: line-item images the SDK can use, real converted amounts, JSON 404s, `$date` filters."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkouts_detect
from tests.checkouts.api.conftest import ApiClient
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

MEDIA_ID = "11062b_6f3c9a8e1d2b4c5f8a7e6d5c4b3a2f10~mv2.jpg"
QUERY = "/ecom/v1/abandoned-checkout/query"


@pytest.fixture
def api(api_key):
    return ApiClient(api_key)


def line(image: dict, amount: str = "10", **extra) -> dict:
    return {"quantity": 1, "productName": {"original": "Mug"}, "price": {"amount": amount, **extra}, "image": image}


def test_images_keep_their_url_and_only_a_wix_media_id(store, api):
    ac = AbandonedCheckoutFactory(
        store=store,
        line_items=[
            {"quantity": 1, "image": {"id": "mug", "url": "https://shop.example/mug.png", "width": 240, "height": 240}},
            {"quantity": 1, "image": {"id": MEDIA_ID, "url": "https://cdn.example/x.jpg", "width": 5, "height": 5}},
            {"quantity": 1, "image": {"url": f"https://static.wixstatic.com/media/{MEDIA_ID}/v1/fill/w_80/a.jpg"}},
            {"quantity": 1},
        ],
    )
    items = api.get(f"/ecom/v1/abandoned-checkout/{ac.id}").json()["abandonedCheckout"]["lineItems"]
    assert items[0]["image"] == {"url": "https://shop.example/mug.png", "width": 240, "height": 240}
    assert items[1]["image"]["id"] == MEDIA_ID and items[1]["image"]["url"] == "https://cdn.example/x.jpg"
    assert items[2]["image"]["id"] == MEDIA_ID
    assert "image" not in items[3]
    assert AbandonedCheckout.objects.get(pk=ac.pk).line_items[0]["image"]["id"] == "mug"  # stored as sent


def ingest(api, checkout: dict) -> None:
    event = {"eventId": "e1", "type": "checkout.updated", "occurredAt": "2026-01-01T00:00:00Z", "checkout": checkout}
    assert api.post("/api/v1/checkout-events", {"events": [event]}).status_code == 200
    abandoned_checkouts_detect(now=datetime(2027, 1, 1, tzinfo=UTC))


def test_converted_amounts_are_converted_not_copied(store, api):
    store.currency = "USD"
    store.save()
    ingest(
        api,
        {
            "id": "c1",
            "currency": "USD",
            "conversionCurrency": "EUR",
            "buyerInfo": {"email": "a@example.com"},
            "totalPrice": {"amount": "200", "convertedAmount": "180"},
            "subtotalPrice": {"amount": "100"},
            "lineItems": [line({"url": "https://shop.example/a.png"}, "50")],
        },
    )
    body = api.post(QUERY, {"query": {}}).json()["abandonedCheckouts"][0]
    assert (
        body["totalPrice"]["convertedAmount"] == "180" and body["totalPrice"]["formattedConvertedAmount"] == "€180.00"
    )
    assert (
        body["subtotalPrice"]["convertedAmount"] == "90"
        and body["subtotalPrice"]["formattedConvertedAmount"] == "€90.00"
    )
    price = body["lineItems"][0]["price"]
    assert price["convertedAmount"] == "45" and price["formattedConvertedAmount"] == "€45.00"


def test_without_any_converted_amount_nothing_is_dressed_in_the_buyers_currency(store, api):
    store.currency = "USD"
    store.save()
    ingest(
        api,
        {
            "id": "c2",
            "currency": "USD",
            "conversionCurrency": "EUR",
            "buyerInfo": {"email": "a@example.com"},
            "totalPrice": {"amount": "200"},
            "lineItems": [line({"url": "https://shop.example/a.png"}, "50")],
        },
    )
    body = api.post(QUERY, {"query": {}}).json()["abandonedCheckouts"][0]
    for price in (body["totalPrice"], body["lineItems"][0]["price"]):
        assert price["convertedAmount"] == price["amount"]
        assert price["formattedConvertedAmount"] == price["formattedAmount"]
        assert "€" not in price["formattedConvertedAmount"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/ecom/v1/nothing", "/ecom/v1/abandoned-checkout/query/", "/ecom/", "/oauth2/x"])
def test_unknown_paths_under_ecom_answer_wixs_json_404(settings, debug, path):
    settings.DEBUG = debug
    for method in ("get", "post"):
        response = getattr(Client(), method)(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["details"]["applicationError"]["code"] == "NOT_FOUND"


def test_date_filters_accept_wixs_date_literal(store, api):
    early = AbandonedCheckoutFactory(store=store, created_at=datetime(2026, 1, 1, tzinfo=UTC), total=Decimal(1))
    late = AbandonedCheckoutFactory(store=store, created_at=datetime(2026, 6, 1, tzinfo=UTC), total=Decimal(1))

    def ids(filter_: dict) -> list[str]:
        response = api.post(QUERY, {"query": {"filter": filter_}})
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["abandonedCheckouts"]]

    assert ids({"createdDate": {"$gt": {"$date": "2026-03-01T00:00:00.000Z"}}}) == [str(late.id)]
    assert ids({"createdDate": {"$date": "2026-01-01T00:00:00.000Z"}}) == [str(early.id)]
    assert ids({"createdDate": {"$in": [{"$date": "2026-06-01T00:00:00.000Z"}]}}) == [str(late.id)]
    refused = api.post(QUERY, {"query": {"filter": {"createdDate": {"$lt": {"$date": 5}}}}})
    assert refused.status_code == 400
    assert refused.json()["details"]["validationError"]["fieldViolations"][0]["field"].endswith("createdDate.$lt")
