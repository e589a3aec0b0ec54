"""Scheduling: the sweep enrols abandoned checkouts, a new store gets its default automation,
recovery cancels what is pending."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import Automation, AutomationStep, Enrollment, Reason, ScheduledStep
from automations.services import automations_schedule
from checkouts.models import AbandonedCheckout, Activity, WebhookEvent
from checkouts.services import (
    abandoned_checkout_recover,
    abandoned_checkouts_detect,
    checkout_events_ingest,
    store_create,
)
from tests.automations.helpers import T0, abandon, activities, after, email_step, one_step, only_automation
from tests.checkouts.helpers import at, updated_event
from tests.factories import AbandonedCheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_a_new_store_gets_one_default_automation_emailing_after_an_hour():
    store = store_create(name="Fresh")
    automation = Automation.objects.get(store=store)
    step = automation.steps.get()
    assert automation.active and automation.require_email and automation.holdout_percent == 0
    assert (step.action, step.delay) == (AutomationStep.Action.EMAIL_BUYER, timedelta(hours=1))
    assert "{{ first_name" in step.subject and "{{ store_name }}" in step.body
    assert set(step.translations.values_list("language", flat=True)) == {"de", "es", "fr", "ja"}


def test_the_sweep_schedules_the_default_automation_in_its_transaction():
    store = store_create(name="Shop")
    checkout_events_ingest(store=store, events=[updated_event("co-1")])
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    scheduled = one_step(ac)
    assert scheduled.due_at == ac.created_at + timedelta(hours=1)
    assert scheduled.state == ScheduledStep.State.PENDING
    assert activities(ac) == [("SCHEDULED", "")]
    # The `created` webhook event that followed carries the SCHEDULED activity.
    created = WebhookEvent.objects.get(entity_id=ac.pk, type="created")
    assert [a["type"] for a in created.payload["createdEvent"]["entity"]["activities"]] == ["SCHEDULED"]


def test_each_matching_automation_gets_its_steps_and_one_scheduled_activity():
    store = StoreFactory()
    first = only_automation(store, name="Two emails")
    email_step(first, position=1, delay_value=30, delay_unit="MINUTES")
    email_step(first, position=2, delay_value=1, delay_unit="DAYS")
    second = Automation.objects.create(store=store, name="Big carts", min_total=Decimal("500"))
    email_step(second, delay_value=2)
    off = Automation.objects.create(store=store, name="Off", active=False)
    email_step(off)
    small, big = abandon(store, total=Decimal("120")) + abandon(store, total=Decimal("900"))

    assert sorted(s.due_at - T0 for s in ScheduledStep.objects.filter(abandoned_checkout=small)) == [
        timedelta(minutes=30),
        timedelta(days=1),
    ]
    assert ScheduledStep.objects.filter(abandoned_checkout=big).count() == 3
    assert activities(small) == [("SCHEDULED", "")]
    assert activities(big) == [("SCHEDULED", ""), ("SCHEDULED", "")]
    assert not ScheduledStep.objects.filter(automation=off).exists()


def test_a_buyer_without_email_is_not_enrolled_when_the_automation_requires_one():
    store = StoreFactory()
    email_step(only_automation(store, require_email=True))
    (ac,) = abandon(store, buyer_email="", member_id="member-1")
    assert not ScheduledStep.objects.filter(abandoned_checkout=ac).exists()
    assert activities(ac) == []


def test_holdout_is_drawn_at_random_at_the_chosen_share():
    store = StoreFactory()
    automation = only_automation(store, holdout_percent=50)
    email_step(automation)
    abandon(store, 400)
    held = Enrollment.objects.filter(automation=automation, holdout=True).count()
    # Binomial(400, 0.5): outside 140..260 has a probability below one in a billion.
    assert 140 <= held <= 260
    assert ScheduledStep.objects.filter(holdout=True).count() == held


def test_scheduling_a_sweep_batch_costs_the_same_queries_for_10_or_200_checkouts():
    store = StoreFactory()
    automation = only_automation(store)
    email_step(automation, position=1)
    email_step(automation, position=2)

    def queries(count: int) -> int:
        checkouts = [AbandonedCheckoutFactory(store=store, created_at=T0) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            automations_schedule(abandoned_checkouts=checkouts)
        return len(captured)

    assert queries(10) == queries(200) <= 8


def test_recovery_cancels_pending_steps_with_one_skipped_activity_each():
    store = StoreFactory()
    automation = only_automation(store)
    email_step(automation, position=1)
    email_step(automation, position=2, delay_value=2)
    (ac,) = abandon(store)
    with time_machine.travel(after(minutes=30), tick=False):
        assert abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="o-1")
    states = Counter(ScheduledStep.objects.values_list("state", "reason"))
    assert states == {(ScheduledStep.State.CANCELLED, Reason.RECOVERED): 2}
    assert activities(ac) == [
        ("SCHEDULED", ""),
        ("AUTOMATION_SKIPPED", "RECOVERED"),
        ("AUTOMATION_SKIPPED", "RECOVERED"),
    ]
    # The recovery's own `updated` event carries them.
    updated = WebhookEvent.objects.filter(entity_id=ac.pk, type="updated").latest("sequence")
    assert [a["type"] for a in updated.payload["updatedEvent"]["currentEntity"]["activities"]] == [
        "SCHEDULED",
        "AUTOMATION_SKIPPED",
        "AUTOMATION_SKIPPED",
    ]
    assert Activity.objects.filter(type="AUTOMATION_SKIPPED").count() == 2
