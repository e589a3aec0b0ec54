"""The judging scenario: an idle checkout fed in through ingest becomes abandoned, is SCHEDULED,
gets its email a minute later with working links; unsubscribing stops the next one."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from automations.models import Automation, AutomationStep
from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkouts_detect, checkout_events_ingest, store_create
from checkouts.wix import checkout_url
from tests.automations.helpers import activities
from tests.checkouts.helpers import at, updated_event

pytestmark = pytest.mark.django_db


def test_ingest_sweep_schedule_send_then_unsubscribe(client):
    store = store_create(name="Northwind", storefront_url="https://northwind.example.com")
    automation = Automation.objects.get(store=store)  # the default one, made with the store
    step = automation.steps.get()
    step.delay_value, step.delay_unit = 1, AutomationStep.Unit.MINUTES
    step.save()
    AutomationStep.objects.create(
        automation=automation, position=2, delay_value=2, delay_unit="MINUTES", subject="Still there?", body="Last call"
    )

    result = checkout_events_ingest(store=store, events=[updated_event("co-1", email="ada@example.com")])
    assert result[0].success
    with time_machine.travel(at(61), tick=False):  # idle past the store's hour
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    assert activities(ac) == [("SCHEDULED", "")]

    with time_machine.travel(at(61.5), tick=False):
        from automations.dispatcher import scheduled_steps_dispatch

        assert scheduled_steps_dispatch().claimed == 0  # not due yet
    with time_machine.travel(at(62), tick=False):
        scheduled_steps_dispatch()
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_SENT", "")]
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"] and message.subject == "Ada, you left something in your cart"

    recovery = checkout_url(ac.pk, store.pk)
    assert recovery in message.body and recovery in message.alternatives[0].content
    assert recovery.startswith("http://127.0.0.1:8000/ecom/v1/abandoned-checkout/")

    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe in message.body
    path = unsubscribe.removeprefix("http://127.0.0.1:8000")
    assert "Stop reminders from Northwind?" in client.get(path).content.decode()
    assert "You're unsubscribed" in client.post(path).content.decode()

    with time_machine.travel(at(61) + timedelta(minutes=2), tick=False):
        scheduled_steps_dispatch()
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_SENT", ""), ("EMAIL_NOT_SENT", "UNSUBSCRIBED")]
    assert len(mail.outbox) == 1
