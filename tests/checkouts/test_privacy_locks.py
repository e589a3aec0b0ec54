"""Erasure under concurrency: it takes row locks, so it waits for whoever holds the buyer's rows."""

import threading

import pytest
import time_machine
from django.db import connection, transaction

from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkouts_detect
from checkouts.services.privacy import buyer_erase
from tests.checkouts.helpers import at
from tests.checkouts.test_privacy import EMAIL, ingest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_erasure_waits_for_a_row_another_transaction_holds(store):
    ingest(store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    started, done = threading.Event(), threading.Event()
    errors = []

    def erase():
        started.set()
        try:
            buyer_erase(store=store, email=EMAIL)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()
            done.set()

    with transaction.atomic():
        AbandonedCheckout.objects.select_for_update().get(pk=ac.pk)  # as the dispatcher holds it
        thread = threading.Thread(target=erase)
        thread.start()
        assert started.wait(5)
        assert not done.wait(0.5)  # blocked behind our lock
        ac.refresh_from_db()
        assert ac.buyer_email == EMAIL
    thread.join(10)
    assert done.is_set() and errors == []
    ac.refresh_from_db()
    assert (ac.buyer_email, ac.phone) == ("", "")
