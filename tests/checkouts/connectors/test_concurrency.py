"""Deliveries racing on PostgreSQL, with real threads: a platform's retry arriving while the first is in flight."""

import pytest

from checkouts.models import AbandonedCheckout, Checkout, ConnectionReceipt, IngestedEvent
from checkouts.services.connections import connection_create
from tests.checkouts.test_concurrency import run_together
from tests.factories import StoreFactory

from .test_shopify import CHECKOUT, ORDER, deliver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_shopify_delivery_twice_at_once_is_taken_once():
    connection = connection_create(store=StoreFactory(), platform="shopify", secret="shpss_test_client_secret")
    responses = run_together(*[lambda: deliver(connection, "checkouts/create", CHECKOUT, webhook_id="same")] * 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(r.json()["accepted"] for r in responses) == [0, 0, 0, 1]
    assert ConnectionReceipt.objects.count() == 1 and IngestedEvent.objects.count() == 1
    assert Checkout.objects.count() == 1


def test_an_order_racing_its_checkouts_update_leaves_the_checkout_completed_and_never_abandoned():
    connection = connection_create(store=StoreFactory(), platform="shopify", secret="shpss_test_client_secret")
    later = {**CHECKOUT, "updated_at": "2025-03-01T11:00:00+00:00"}
    for round_ in range(5):
        update = {**later, "token": f"tok-{round_}"}
        order = {**ORDER, "checkout_token": f"tok-{round_}"}
        run_together(
            lambda body=update, n=round_: deliver(connection, "checkouts/update", body, webhook_id=f"u-{n}"),
            lambda body=order, n=round_: deliver(connection, "orders/create", body, webhook_id=f"o-{n}"),
        )
    assert Checkout.objects.filter(completed_at__isnull=False).count() == 5
    assert not AbandonedCheckout.objects.exists()
    assert list(Checkout.objects.values_list("order_id", flat=True)) == [str(ORDER["id"])] * 5


def test_the_same_delivery_twice_at_once_to_a_remembered_connection_is_taken_once():
    # The first delivery teaches the process the connection: the racing ones take the one-statement path.
    connection = connection_create(store=StoreFactory(), platform="shopify", secret="shpss_test_client_secret")
    assert deliver(connection, "checkouts/create", CHECKOUT, webhook_id="first").json() == {"accepted": 1}
    second = {**CHECKOUT, "token": "second"}
    responses = run_together(*[lambda: deliver(connection, "checkouts/update", second, webhook_id="same")] * 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(r.json()["accepted"] for r in responses) == [0, 0, 0, 1]
    assert ConnectionReceipt.objects.filter(delivery_id="same").count() == 1
    assert Checkout.objects.filter(external_id="second").count() == 1
