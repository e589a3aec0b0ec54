"""Wix deliveries racing on PostgreSQL: the same webhook twice at once, and Wix's abandonment against the sweep."""

import pytest
from django.test import Client

from checkouts.models import AbandonedCheckout, Connection, ConnectionReceipt, WebhookEvent
from checkouts.services import abandoned_checkouts_detect
from checkouts.services.abandon_at import checkouts_abandon_at
from tests.checkouts.test_concurrency import run_together
from tests.factories import CheckoutFactory, StoreFactory

from .wix_payloads import created_event, key_pair, recovered_event, signed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_webhook_delivered_twice_at_once_is_applied_once():
    private, pem = key_pair()
    connection = Connection.objects.create(store=StoreFactory(currency="EUR"), platform="wix", public_key=pem)
    bodies = [signed(private, *created_event()), signed(private, *recovered_event())]

    def deliver(body):
        return lambda: Client().post(f"/connect/wix/{connection.token}/webhook", body, content_type="text/plain")

    answers = run_together(*(deliver(body) for body in bodies for _ in range(3)))
    assert {answer.status_code for answer in answers} == {200}
    assert sorted(answer.json()["duplicate"] for answer in answers) == [False, False, True, True, True, True]
    ac = AbandonedCheckout.objects.get()
    assert ac.status == "RECOVERED" and ConnectionReceipt.objects.count() == 2
    assert WebhookEvent.objects.filter(type="created").count() == 1


def test_wixs_abandonment_racing_the_sweep_abandons_once():
    store = StoreFactory()
    checkouts = [CheckoutFactory(store=store, abandon_due_at="2026-01-01T00:00:00Z") for _ in range(20)]
    moments = {checkout.external_id: checkout.last_activity_at for checkout in checkouts}
    run_together(lambda: checkouts_abandon_at(store=store, moments=moments), lambda: abandoned_checkouts_detect())
    assert AbandonedCheckout.objects.count() == 20
    assert WebhookEvent.objects.filter(type="created").count() == 20
