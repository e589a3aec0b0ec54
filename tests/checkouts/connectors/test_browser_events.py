"""comeback.js's endpoint: a publishable key, its listed origins only, a rate limit, GA4 events → checkouts."""

import html
import json
from datetime import timedelta

import pytest
from django.test import Client, TestCase, override_settings

from checkouts.models import AbandonedCheckout, Checkout, Connection
from checkouts.services import abandoned_checkouts_detect
from checkouts.services.connections import connection_create

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"
ITEMS = [{"item_id": "MUG-1", "item_name": "Mug", "item_variant": "Blue", "price": 20.0, "quantity": 2}]
BEGIN = {
    "name": "begin_checkout",
    "ecommerce": {"currency": "EUR", "value": 40.0, "coupon": "WELCOME5", "items": ITEMS},
}


@pytest.fixture
def script(store):
    return connection_create(
        store=store, platform="script", settings={"origins": f"{SHOP}\nhttp://localhost:8080", "capture": True}
    )


def beacon(connection, *events, session="s3ss10n-abc", origin=SHOP, key=None, ip="203.0.113.7"):
    body = {"key": key or f"pk_{connection.token}", "session": session, "events": list(events)}
    with TestCase.captureOnCommitCallbacks(execute=True):  # the inbox's drain runs once it commits
        return Client().post(
            "/connect/browser/events", json.dumps(body), content_type="text/plain", HTTP_ORIGIN=origin, REMOTE_ADDR=ip
        )


def test_a_begin_checkout_with_a_typed_email_becomes_a_checkout_that_is_abandoned(script, store):
    response = beacon(script, {**BEGIN, "email": "ana@example.com", "url": f"{SHOP}/checkout", "lang": "pt"})
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == SHOP
    checkout = Checkout.objects.get(store=store)
    assert checkout.external_id == "web-s3ss10n-abc"
    assert (checkout.buyer_email, checkout.currency, str(checkout.total)) == ("ana@example.com", "EUR", "40.0000")
    assert checkout.line_items[0]["productName"]["original"] == "Mug"
    assert checkout.applied_discounts[0]["coupon"]["code"] == "WELCOME5"
    assert checkout.storefront_checkout_url == f"{SHOP}/checkout"
    abandoned_checkouts_detect(now=checkout.last_activity_at + timedelta(days=1))
    assert AbandonedCheckout.objects.get().buyer_email == "ana@example.com"


def test_a_browser_purchase_completes_the_checkout(script):
    beacon(script, {**BEGIN, "email": "ana@example.com"})
    beacon(script, {"name": "purchase", "ecommerce": {"transaction_id": "1001"}})
    checkout = Checkout.objects.get()
    assert checkout.completed_at is not None and checkout.order_id == "browser:1001"


def test_without_capture_a_typed_email_is_dropped(store):
    connection = connection_create(store=store, platform="script", settings={"origins": SHOP, "capture": False})
    beacon(connection, {**BEGIN, "email": "ana@example.com", "phone": "+351900000000"})
    checkout = Checkout.objects.get()
    assert checkout.buyer_email == "" and checkout.phone == ""


def test_another_origin_or_key_is_refused_and_nothing_written(script, other_store):
    assert beacon(script, BEGIN, origin="https://evil.example").status_code == 403
    assert beacon(script, BEGIN, origin="").status_code == 403
    assert beacon(script, BEGIN, key="pk_nope").status_code == 403
    assert beacon(script, BEGIN, key=script.token).status_code == 403  # the token alone is not the key
    theirs = connection_create(store=other_store, platform="script", settings={"origins": "https://globex.example"})
    assert beacon(theirs, BEGIN, origin=SHOP).status_code == 403
    assert not Checkout.objects.exists()


def test_a_shopify_token_is_not_a_publishable_key(store):
    shopify = connection_create(store=store, platform="shopify", secret="s")
    assert beacon(shopify, BEGIN).status_code == 403


@pytest.mark.parametrize(
    "event, field",
    [
        ({"name": "view_item", "ecommerce": {}}, "events[0].name"),
        ({**BEGIN, "ecommerce": {**BEGIN["ecommerce"], "currency": ""}}, "events[0].ecommerce.currency"),
        ({**BEGIN, "ecommerce": {**BEGIN["ecommerce"], "value": "lots"}}, "events[0].ecommerce.value"),
        (
            {**BEGIN, "ecommerce": {"currency": "EUR", "items": [{"price": 1}]}},
            "events[0].ecommerce.items[0].item_name",
        ),
        ({**BEGIN, "email": "not-an-email"}, "checkout.buyerInfo.email"),
    ],
)
def test_a_malformed_beacon_is_a_400_naming_the_field(script, event, field):
    response = beacon(script, event)
    assert response.status_code == 400
    assert field in response.json()["error"]["field"]
    assert not Checkout.objects.exists()


def test_a_bad_session_is_a_400(script):
    assert beacon(script, BEGIN, session="x").json()["error"]["field"] == "session"


def test_a_paused_connection_takes_nothing(script):
    Connection.objects.filter(pk=script.pk).update(status="paused")
    assert beacon(script, BEGIN).status_code == 200
    assert not Checkout.objects.exists()


@override_settings(COMEBACK_BROWSER_RATE_LIMIT="3/minute")
def test_an_address_over_the_rate_limit_gets_429(script):
    codes = [beacon(script, {**BEGIN, "lang": str(n)}).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    assert beacon(script, BEGIN, ip="203.0.113.8").status_code == 200  # another address has its own budget


def test_the_endpoint_never_reads(script):
    assert Client().get("/connect/browser/events", HTTP_ORIGIN=SHOP).status_code == 405
    preflight = Client().options("/connect/browser/events", HTTP_ORIGIN=SHOP)
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Methods"] == "POST"


def test_the_setup_step_gives_the_script_tag_with_the_publishable_key(owner, script):
    client = Client()
    client.force_login(owner)
    page = html.unescape(client.get(f"/settings/connections/{script.pk}/").content.decode())
    assert f'data-key="pk_{script.token}"' in page and "/static/comeback.js" in page and "data-capture" in page


def test_the_origins_must_be_origins(owner):
    client = Client()
    client.force_login(owner)
    response = client.post("/settings/connections/new/script/", {"origins": "https://shop.example.com/checkout"})
    assert response.status_code == 400 and "origins" in response.context["form"].errors
