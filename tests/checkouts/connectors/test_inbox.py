"""The webhook inbox: a delivery is stored and answered, the drain ingests it in batches, nothing is lost."""

import json
from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import Client

from checkouts.connectors.tasks import connection_inbox_drain_task
from checkouts.models import Checkout, Connection, ConnectionReceipt
from checkouts.services import connection_inbox
from checkouts.services.connection_inbox import connection_inbox_drain, connection_inbox_drain_batch
from checkouts.services.connections import connection_create

from .test_shopify import CHECKOUT, ORDER, SECRET, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(store):
    return connection_create(store=store, platform="shopify", secret=SECRET)


def post(connection, topic, payload, webhook_id):
    """A delivery without the after-commit wake-up: it stays in the inbox until a drain runs."""
    raw = json.dumps(payload).encode()
    return Client().post(
        f"/connect/shopify/{connection.token}/",
        raw,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_HMAC_SHA256=sign(raw),
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
    )


def test_a_delivery_is_answered_before_it_is_ingested_and_the_drain_ingests_it(connection, store):
    response = post(connection, "checkouts/create", CHECKOUT, "w-1")
    assert response.status_code == 200 and response.json() == {"accepted": 1}
    receipt = ConnectionReceipt.objects.get()
    # Stored as it came (verified and checked, not yet mapped): the drain maps it.
    assert json.loads(receipt.payload) == CHECKOUT and receipt.events is None and not Checkout.objects.exists()
    assert connection_inbox_drain_task() == 1
    assert Checkout.objects.get(store=store).external_id == CHECKOUT["token"]
    receipt.refresh_from_db()
    assert receipt.events is None and receipt.payload is None and receipt.ok
    connection.refresh_from_db()
    assert connection.last_event_at is not None and connection.last_error == ""
    assert connection_inbox_drain_task() == 0


def test_a_replay_while_the_first_waits_in_the_inbox_is_stored_once(connection):
    assert post(connection, "checkouts/create", CHECKOUT, "same").json() == {"accepted": 1}
    assert post(connection, "checkouts/create", CHECKOUT, "same").json()["accepted"] == 0
    assert ConnectionReceipt.objects.count() == 1
    assert connection_inbox_drain() == 1 and Checkout.objects.count() == 1


def test_the_drain_takes_batches_in_arrival_order(connection):
    post(connection, "orders/create", ORDER, "w-order")
    for n in range(3):
        post(connection, "checkouts/update", {**CHECKOUT, "total_price": f"{n}0.00"}, f"w-{n}")
    assert connection_inbox_drain_batch(size=2) == 2
    assert ConnectionReceipt.objects.filter(payload__isnull=False).count() == 2
    assert connection_inbox_drain() == 2
    checkout = Checkout.objects.get()
    assert checkout.completed_at is not None  # the order came first; later updates never reopen it


def test_a_drain_that_fails_leaves_every_delivery_for_the_next_one(connection):
    post(connection, "checkouts/create", CHECKOUT, "w-1")
    failing = mock.patch.object(connection_inbox, "checkout_events_ingest", side_effect=DatabaseError("gone"))
    with failing, pytest.raises(DatabaseError):
        connection_inbox_drain()
    assert ConnectionReceipt.objects.get().payload is not None and not Checkout.objects.exists()
    assert connection_inbox_drain() == 1 and Checkout.objects.exists()


def test_an_event_ingest_refuses_at_drain_time_is_the_connections_last_error(connection, store):
    post(connection, "checkouts/create", CHECKOUT, "w-1")
    connection_inbox_drain()
    # The same event id with another body (a platform re-using a webhook id after the dedup window).
    ConnectionReceipt.objects.all().delete()
    post(connection, "checkouts/create", {**CHECKOUT, "total_price": "99.00"}, "w-1")
    assert connection_inbox_drain() == 1
    connection.refresh_from_db()
    assert "checkouts/create was refused" in connection.last_error
    assert not ConnectionReceipt.objects.get().ok


def test_a_topic_without_events_is_only_a_receipt(connection):
    delete = {"id": CHECKOUT["id"], "presentment_currency": "EUR", "total_price": "42.50"}
    assert post(connection, "checkouts/delete", delete, "w-del").status_code == 200
    receipt = ConnectionReceipt.objects.get()
    assert receipt.events is None and receipt.payload is None
    assert connection_inbox_drain() == 0
    connection.refresh_from_db()
    assert connection.last_event_at is not None


def test_each_store_gets_only_its_own_connections_deliveries(connection, store, other_store):
    other = connection_create(store=other_store, platform="shopify", secret=SECRET)
    post(connection, "checkouts/create", CHECKOUT, "w-1")
    post(other, "checkouts/create", {**CHECKOUT, "token": "other-token"}, "w-1")
    assert connection_inbox_drain() == 2
    assert list(Checkout.objects.filter(store=store).values_list("external_id", flat=True)) == [CHECKOUT["token"]]
    assert list(Checkout.objects.filter(store=other_store).values_list("external_id", flat=True)) == ["other-token"]


def test_a_removed_connection_takes_its_waiting_deliveries_with_it(connection):
    post(connection, "checkouts/create", CHECKOUT, "w-1")
    Connection.objects.filter(pk=connection.pk).delete()
    assert connection_inbox_drain() == 0 and not Checkout.objects.exists()


def test_an_event_only_ingests_validation_refuses_is_noted_at_drain_time_and_written_nowhere(connection):
    future = {**CHECKOUT, "updated_at": "2099-01-01T00:00:00+00:00"}
    assert post(connection, "checkouts/update", future, "w-future").status_code == 200
    assert connection_inbox_drain() == 1
    connection.refresh_from_db()
    assert "occurredAt" in connection.last_error and not Checkout.objects.exists()
    assert ConnectionReceipt.objects.get().ok is False


def test_a_wix_delivery_is_verified_and_stored_then_the_drain_applies_it_at_wixs_time(store):
    from checkouts.models import AbandonedCheckout

    from .wix_payloads import created_event, key_pair, signed

    private, public = key_pair()
    store.currency = "EUR"
    store.save()
    wix = Connection.objects.create(store=store, platform="wix", public_key=public)
    body = signed(private, *created_event())
    response = Client().post(f"/connect/wix/{wix.token}/webhook", body, content_type="text/plain")
    assert response.status_code == 200 and response.json()["duplicate"] is False
    receipt = ConnectionReceipt.objects.get()
    assert receipt.payload == body.decode().strip() and not Checkout.objects.exists()
    assert connection_inbox_drain() == 1
    abandoned = AbandonedCheckout.objects.get(store=store)
    assert abandoned.checkout_external_id == "cart-1" and abandoned.created_at.isoformat().startswith("2026-03-01T10")
    receipt.refresh_from_db()
    assert receipt.payload is None and receipt.ok


def test_a_stored_wix_delivery_the_drain_cannot_apply_is_the_connections_last_error(store):
    wix = Connection.objects.create(store=store, platform="wix")
    # Stored as the receiver would, then made unreadable (a row damaged or written by an older release).
    ConnectionReceipt.objects.create(connection=wix, delivery_id="e-1", topic="x", payload="not a jwt")
    assert connection_inbox_drain() == 1
    wix.refresh_from_db()
    assert "refused" in wix.last_error and not ConnectionReceipt.objects.get().ok
    assert not Checkout.objects.exists()
