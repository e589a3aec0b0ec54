"""Saleor webhooks, from the payloads in Saleor's docs, signed as a detached JWS against a served key set."""

import copy
import json
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.test import Client, TestCase
from jwt import api_jws
from jwt.algorithms import RSAAlgorithm

from checkouts.models import AbandonedCheckout, Checkout, ConnectionReceipt
from checkouts.services import abandoned_checkouts_detect
from checkouts.services.connections import connection_create

pytestmark = pytest.mark.django_db

CHECKOUT_ID = "Q2hlY2tvdXQ6M2Y2YjFjMmUtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAx"
UPDATED = {
    "__typename": "CheckoutUpdated",
    "issuedAt": "2025-03-01T10:05:00+00:00",
    "version": "3.21.0",
    "checkout": {
        "id": CHECKOUT_ID,
        "token": "3f6b1c2e-0000-4000-8000-000000000001",
        "created": "2025-03-01T10:00:00+00:00",
        "updatedAt": "2025-03-01T10:05:00+00:00",
        "email": "ana@example.com",
        "languageCode": "PT_PT",
        "voucherCode": "WELCOME5",
        "discount": {"amount": 2.0, "currency": "EUR"},
        "channel": {"slug": "default-channel", "currencyCode": "EUR"},
        "user": None,
        "billingAddress": {"firstName": "Ana", "lastName": "Lima", "phone": "+351900000000"},
        "subtotalPrice": {"gross": {"amount": 40.0, "currency": "EUR"}},
        "totalPrice": {"gross": {"amount": 42.5, "currency": "EUR"}},
        "metadata": [{"key": "marketing_consent", "value": "granted"}],
        "lines": [
            {
                "id": "Q2hlY2tvdXRMaW5lOjE=",
                "quantity": 2,
                "undiscountedUnitPrice": {"amount": 20.0, "currency": "EUR"},
                "variant": {
                    "id": "UHJvZHVjdFZhcmlhbnQ6MQ==",
                    "sku": "MUG-1",
                    "name": "Blue",
                    "product": {"id": "UHJvZHVjdDox", "name": "Mug", "thumbnail": None},
                },
            }
        ],
    },
}
ORDER = {
    "__typename": "OrderCreated",
    "issuedAt": "2025-03-01T12:00:00+00:00",
    "version": "3.21.0",
    "order": {
        "id": "T3JkZXI6OWY4ZTdkNmMtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAx",
        "number": "1001",
        "checkoutId": CHECKOUT_ID,
        "created": "2025-03-01T12:00:00+00:00",
        "userEmail": "ana@example.com",
        "languageCodeEnum": "PT_PT",
        "channel": {"slug": "default-channel", "currencyCode": "EUR"},
        "total": {"gross": {"amount": 42.5, "currency": "EUR"}},
    },
}


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid="1") -> dict:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}


def sign(raw: bytes, key, kid="1") -> str:
    return api_jws.encode(raw, key=key, algorithm="RS256", headers={"kid": kid}, is_payload_detached=True)


class Instance:
    """A Saleor instance's /.well-known/jwks.json, counting its fetches."""

    def __init__(self):
        self.keys: list[dict] = []
        self.fetches = 0
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                instance.fetches += 1
                raw = json.dumps({"keys": instance.keys}).encode()
                self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api_url = f"http://127.0.0.1:{self.server.server_port}/graphql/"


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture
def instance(key):
    served = Instance()
    served.keys = [jwk(key)]
    yield served
    served.server.shutdown()


@pytest.fixture
def connection(store, instance, settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True  # the instance stand-in listens on this machine
    cache.clear()
    return connection_create(
        store=store,
        platform="saleor",
        settings={"api_url": instance.api_url, "checkout_url": "https://shop.example.com/checkout?token={token}"},
    )


def deliver(connection, event, payload, key, *, raw=None, signature=None):
    """POST a delivery; the inbox's drain runs once it commits, as the woken worker would."""
    raw = raw if raw is not None else json.dumps(payload).encode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(
            f"/connect/saleor/{connection.token}/",
            raw,
            content_type="application/json",
            HTTP_SALEOR_EVENT=event,
            HTTP_SALEOR_SIGNATURE=signature if signature is not None else sign(raw, key),
            HTTP_SALEOR_DOMAIN="shop.example.com",
        )


def test_a_checkout_update_becomes_the_checkout(connection, store, key):
    response = deliver(connection, "checkout_updated", UPDATED, key)
    assert response.status_code == 200, response.content
    checkout = Checkout.objects.get(store=store)
    assert checkout.external_id == CHECKOUT_ID
    assert (checkout.buyer_email, checkout.first_name, checkout.phone) == ("ana@example.com", "Ana", "+351900000000")
    assert (checkout.currency, checkout.total, checkout.subtotal) == ("EUR", Decimal("42.5"), Decimal("40"))
    assert checkout.buyer_language == "pt-PT"
    assert checkout.line_items[0]["physicalProperties"]["sku"] == "MUG-1"
    assert checkout.applied_discounts[0]["coupon"]["code"] == "WELCOME5"
    assert checkout.storefront_checkout_url.endswith("token=3f6b1c2e-0000-4000-8000-000000000001")
    assert checkout.marketing_consent == {"email": True}


def test_the_key_set_is_cached(connection, instance, key):
    deliver(connection, "checkout_created", UPDATED, key)
    deliver(connection, "checkout_updated", {**UPDATED, "issuedAt": "x"}, key)
    assert instance.fetches == 1


def test_an_unknown_kid_fetches_the_key_set_again_once(connection, instance, key):
    deliver(connection, "checkout_updated", UPDATED, key)
    rotated = new_key()
    instance.keys = [jwk(key), jwk(rotated, kid="2")]
    raw = json.dumps(UPDATED).encode() + b" "
    assert (
        deliver(connection, "checkout_updated", None, key, raw=raw, signature=sign(raw, rotated, "2")).status_code
        == 200
    )
    assert instance.fetches == 2
    # Another unknown kid within the minute does not make Comeback fetch again.
    stranger = new_key()
    raw2 = raw + b" "
    assert (
        deliver(connection, "checkout_updated", None, key, raw=raw2, signature=sign(raw2, stranger, "3")).status_code
        == 401
    )
    assert instance.fetches == 2


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda raw, key: (raw.replace(b"42.5", b"1.0"), sign(raw, key)), id="tampered body"),
        pytest.param(lambda raw, key: (raw, sign(raw, new_key())), id="wrong key"),
        pytest.param(lambda raw, key: (raw, ""), id="no signature"),
        pytest.param(lambda raw, key: (raw, "a.b.c"), id="garbage"),
    ],
)
def test_a_bad_signature_is_a_401_and_nothing_written(connection, key, tamper):
    raw, signature = tamper(json.dumps(UPDATED).encode(), key)
    response = deliver(connection, "checkout_updated", None, key, raw=raw, signature=signature)
    assert response.status_code == 401
    assert not Checkout.objects.exists() and not ConnectionReceipt.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"__typename": "CheckoutUpdated"}, "checkout"),
        ({"checkout": {**UPDATED["checkout"], "totalPrice": {"gross": {"amount": "lots"}}}}, "checkout.totalPrice"),
        ({"checkout": {**UPDATED["checkout"], "email": "nope"}}, "checkout.buyerInfo.email"),
    ],
)
def test_a_malformed_payload_is_a_400_naming_the_field(connection, key, payload, field):
    response = deliver(connection, "checkout_updated", payload, key)
    assert response.status_code == 400 and field in response.json()["error"]["field"]
    assert not Checkout.objects.exists() and not ConnectionReceipt.objects.exists()


def test_a_retry_of_the_same_bytes_changes_nothing(connection, key):
    deliver(connection, "checkout_updated", UPDATED, key)
    Checkout.objects.update(buyer_email="changed@example.com")
    assert deliver(connection, "checkout_updated", UPDATED, key).json()["accepted"] == 0
    assert Checkout.objects.get().buyer_email == "changed@example.com"


def test_an_older_update_arriving_late_loses(connection, key):
    newer = copy.deepcopy(UPDATED)
    newer["checkout"]["updatedAt"] = "2025-03-01T10:10:00+00:00"
    newer["checkout"]["totalPrice"]["gross"]["amount"] = 60.0
    deliver(connection, "checkout_updated", newer, key)
    deliver(connection, "checkout_created", UPDATED, key)
    assert Checkout.objects.get().total == Decimal("60")


def test_order_created_recovers_the_abandoned_checkout(connection, key):
    deliver(connection, "checkout_updated", UPDATED, key)
    abandoned_checkouts_detect(now=Checkout.objects.get().last_activity_at + timedelta(days=1))
    assert deliver(connection, "order_created", ORDER, key).status_code == 200
    assert AbandonedCheckout.objects.get().status == "RECOVERED"
    assert Checkout.objects.get().order_id == "1001"


def test_checkout_fully_paid_completes_it(connection, key):
    deliver(connection, "checkout_updated", UPDATED, key)
    paid = {
        "__typename": "CheckoutFullyPaid",
        "issuedAt": "2025-03-01T11:59:00+00:00",
        "checkout": {"id": CHECKOUT_ID, "updatedAt": "2025-03-01T11:59:00+00:00"},
    }
    assert deliver(connection, "checkout_fully_paid", paid, key).status_code == 200
    assert Checkout.objects.get().completed_at is not None


def test_the_wrapped_subscription_root_is_read_too(connection, key):
    wrapped = {"data": {"checkoutUpdated": {"checkout": UPDATED["checkout"]}}}
    assert deliver(connection, "checkout_updated", wrapped, key).status_code == 200
    assert Checkout.objects.get().external_id == CHECKOUT_ID


def test_the_key_set_is_never_fetched_from_a_url_in_the_request(connection, instance, key):
    response = Client().post(
        f"/connect/saleor/{connection.token}/",
        json.dumps(UPDATED),
        content_type="application/json",
        HTTP_SALEOR_EVENT="checkout_updated",
        HTTP_SALEOR_SIGNATURE=sign(json.dumps(UPDATED).encode(), new_key()),
        HTTP_SALEOR_API_URL="https://evil.example/graphql/",
    )
    assert response.status_code == 401


def test_a_key_set_on_an_internal_address_is_never_fetched(connection, instance, key, settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = False
    assert deliver(connection, "checkout_updated", UPDATED, key).status_code == 401
    assert instance.fetches == 0


def test_the_buyers_country_comes_from_the_shipping_address_else_the_billing_one(connection, store, key):
    billing = {**UPDATED["checkout"]["billingAddress"], "country": {"code": "PT", "country": "Portugal"}}
    deliver(
        connection, "checkout_updated", {**UPDATED, "checkout": {**UPDATED["checkout"], "billingAddress": billing}}, key
    )
    assert Checkout.objects.get(store=store).buyer_country == "PT"
    shipped = {**UPDATED["checkout"], "billingAddress": billing, "shippingAddress": {"country": {"code": "ES"}}}
    deliver(
        connection,
        "checkout_updated",
        {
            **UPDATED,
            "issuedAt": "2025-03-01T10:06:00+00:00",
            "checkout": {**shipped, "updatedAt": "2025-03-01T10:06:00+00:00"},
        },
        key,
    )
    assert Checkout.objects.get(store=store).buyer_country == "ES"
