"""Wix webhooks at a connection's URL: JWT verified with the pasted key, replays ignored, one lifecycle."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.test import Client, TestCase

from checkouts.connectors import connector_for
from checkouts.models import AbandonedCheckout, Checkout, Connection, ConnectionReceipt, IngestedEvent
from checkouts.services.connections import connection_events_ingest
from tests.factories import StoreFactory

from .wix_payloads import created_event, key_pair, recovered_event, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys():
    return key_pair()


@pytest.fixture
def connection(store, keys):
    store.currency = "EUR"
    store.save()
    return Connection.objects.create(store=store, platform="wix", public_key=keys[1])


def deliver(connection, body: bytes):
    """POST a delivery; the inbox's drain runs once it commits, as the woken worker would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(f"/connect/wix/{connection.token}/webhook", body, content_type="text/plain")


def nothing_written() -> bool:
    return not (Checkout.objects.exists() or IngestedEvent.objects.exists() or ConnectionReceipt.objects.exists())


def test_created_then_recovered_is_one_abandonment_at_wixs_time_then_its_recovery(connection, keys):
    response = deliver(connection, signed(keys[0], *created_event()))
    assert response.status_code == 200, response.content
    ac = AbandonedCheckout.objects.get()
    assert ac.store == connection.store and ac.status == "ABANDONED"
    assert ac.created_at == datetime(2026, 3, 1, 10, tzinfo=UTC)  # Wix's moment, not the sweep's
    assert ac.checkout_external_id == "cart-1" and ac.buyer_email == "ana@example.com" and str(ac.total) == "42.5000"
    assert ac.line_items[0]["catalogReference"]["catalogItemId"] == "p-1"
    assert ac.line_items[0]["physicalProperties"]["sku"] == "MUG-1"

    assert deliver(connection, signed(keys[0], *recovered_event())).status_code == 200
    ac.refresh_from_db()
    assert ac.status == "RECOVERED" and ac.checkout_recovered_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert AbandonedCheckout.objects.count() == 1
    connection.refresh_from_db()
    assert connection.last_event_at is not None and connection.last_error == ""


def test_recovered_first_still_gives_one_recovered_abandonment(connection, keys):
    assert deliver(connection, signed(keys[0], *recovered_event())).status_code == 200
    assert deliver(connection, signed(keys[0], *created_event())).status_code == 200  # a late resend: stale
    ac = AbandonedCheckout.objects.get()
    assert ac.status == "RECOVERED" and ac.created_at == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_a_replayed_event_id_is_acknowledged_and_changes_nothing(connection, keys):
    body = signed(keys[0], *created_event())
    assert deliver(connection, body).json()["duplicate"] is False
    before = AbandonedCheckout.objects.values().get()
    replay = deliver(connection, body)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert AbandonedCheckout.objects.values().get() == before
    assert ConnectionReceipt.objects.count() == 1


@pytest.mark.parametrize("tamper", ["wrong key", "edited payload", "not a jwt", "expired", "HS256"])
def test_a_bad_signature_is_401_and_writes_nothing(connection, keys, tamper):
    if tamper == "wrong key":
        body = signed(key_pair()[0], *created_event())
    elif tamper == "edited payload":
        header, payload, signature = signed(keys[0], *created_event()).split(b".")
        body = b".".join([header, payload[:-4] + (b"AAAA" if payload[-4:] != b"AAAA" else b"BBBB"), signature])
    elif tamper == "not a jwt":
        body = b'{"data": "{}"}'
    elif tamper == "expired":
        body = signed(keys[0], *created_event(), exp=datetime.now(UTC) - timedelta(minutes=1))
    else:
        # The key-confusion attack: HMAC keyed with the public PEM (PyJWT itself refuses to build it).
        signing_input = b".".join(
            jwt.utils.base64url_encode(json.dumps(part).encode()) for part in ({"alg": "HS256"}, {"data": "{}"})
        )
        digest = hmac.new(keys[1].encode(), signing_input, hashlib.sha256).digest()
        body = signing_input + b"." + jwt.utils.base64url_encode(digest)
    response = deliver(connection, body)
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert nothing_written()
    connection.refresh_from_db()
    assert "signature" in connection.last_error


def test_a_base64_encoded_pem_works_as_wixs_sdk_accepts(connection, keys):
    Connection.objects.filter(pk=connection.pk).update(public_key=base64.b64encode(keys[1].encode()).decode())
    connection.refresh_from_db()
    assert deliver(connection, signed(keys[0], *created_event())).status_code == 200


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (("wix.ecom.v1.abandoned_checkout_created", {"id": "e", "createdEvent": {}}), "data.data"),
        (("wix.ecom.v1.abandoned_checkout_created", {"createdEvent": {}}), "data.data.id"),
        (created_event(currency="XYZ"), "checkout.currency"),
        (("com.wix.ecommerce.cart.CartAbandonedEvent", {"id": "e", "cartId": "c"}), "data.data.abandonTime"),
    ],
)
def test_a_signed_but_malformed_event_is_400_naming_the_field_and_writes_nothing(connection, keys, event, field):
    response = deliver(connection, signed(keys[0], *event))
    assert response.status_code == 400
    fields = [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]]
    assert any(name.endswith(field) for name in fields), fields
    assert nothing_written()


def test_legacy_stores_cart_events_use_the_legacy_mapping(connection, keys):
    abandoned = {"id": "e-1", "cartId": "cart-9", "creationTime": "2026-03-02T09:00:00Z"}
    abandoned |= {"abandonTime": "2026-03-02T10:00:00Z", "buyerInfo": {"email": "bo@example.com"}}
    abandoned |= {"totals": {"subtotal": 10, "total": 12.5}}
    assert (
        deliver(connection, signed(keys[0], "com.wix.ecommerce.cart.CartAbandonedEvent", abandoned)).status_code == 200
    )
    ac = AbandonedCheckout.objects.get()
    assert ac.checkout_external_id == "cart-9" and ac.created_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    recovered = {"id": "e-2", "cartId": "cart-9", "recoveredTime": "2026-03-02T11:00:00Z"}
    assert (
        deliver(connection, signed(keys[0], "com.wix.ecommerce.cart.CartRecoveredEvent", recovered)).status_code == 200
    )
    ac.refresh_from_db()
    assert ac.status == "RECOVERED"


def test_other_topics_are_acknowledged_and_ignored(connection, keys):
    response = deliver(connection, signed(keys[0], "wix.ecom.v1.abandoned_checkout_deleted", {"id": "e-9"}))
    assert response.status_code == 200 and not Checkout.objects.exists()


def test_one_stores_connection_never_writes_into_another(connection, keys):
    other = StoreFactory(currency="EUR")
    theirs = Connection.objects.create(store=other, platform="wix", public_key=key_pair()[1])
    assert deliver(theirs, signed(keys[0], *created_event())).status_code == 401  # our key, their URL
    assert deliver(connection, signed(keys[0], *created_event())).status_code == 200
    assert not AbandonedCheckout.objects.filter(store=other).exists()
    assert Client().post("/connect/wix/nope/webhook", b"x", content_type="text/plain").status_code == 404


def test_a_paused_connection_is_retried_later_and_an_unknown_instance_refused(connection, keys):
    Connection.objects.filter(pk=connection.pk).update(status="paused")
    connection.refresh_from_db()
    assert deliver(connection, signed(keys[0], *created_event())).status_code == 409
    assert nothing_written()
    Connection.objects.filter(pk=connection.pk).update(status="active", settings={"instance_id": "inst-2"})
    connection.refresh_from_db()
    assert deliver(connection, signed(keys[0], *created_event())).status_code == 400
    assert nothing_written()


def test_the_connector_gives_numbered_steps_with_this_connections_url_and_a_test_event_that_ingests(connection):
    wix = connector_for("wix")
    steps = wix.setup_steps(connection)
    urls = [value for step in steps for value in step.copy.values()]
    assert urls == [f"{settings.COMEBACK_PUBLIC_URL}/connect/wix/{connection.token}/webhook"]
    assert any("Public Key" in step.text for step in steps) and "site_id" in wix.settings_fields
    results = connection_events_ingest(connection=connection, events=wix.test_events(connection))
    assert all(result.success for result in results)
    assert Checkout.objects.get(store=connection.store).buyer_email == "test.buyer@example.com"
