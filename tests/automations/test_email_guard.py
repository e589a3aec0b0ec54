"""One recovery email per checkout within the guard window, whatever sent the first: a hand-sent
email, another automation, or another step due in the same batch."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from automations.models import ContactPolicy, ScheduledStep, SentEmail
from automations.services.manual import ManualResult, recovery_email_send
from tests.automations.helpers import T0, abandon, activities, after, dispatch_at, email_step, only_automation
from tests.factories import AutomationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def guard(settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 60


@pytest.fixture
def member(store):
    return get_user_model().objects.create_user("mia")


def test_a_buyer_emailed_by_hand_is_not_emailed_by_the_automation_42_minutes_later(store, member):
    email_step(only_automation(store), delay_value=60, delay_unit="MINUTES")
    (ac,) = abandon(store)
    with time_machine.travel(after(minutes=18), tick=False):
        assert recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=member).result == ManualResult.SENT
    report = dispatch_at(after(minutes=60))
    assert report.outcomes == {"AUTOMATION_SKIPPED:RECENTLY_EMAILED": 1}
    assert len(mail.outbox) == 1
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_SENT", ""), ("AUTOMATION_SKIPPED", "RECENTLY_EMAILED")]
    step = ScheduledStep.objects.get(abandoned_checkout=ac)
    assert (step.state, step.reason) == ("SKIPPED", "RECENTLY_EMAILED")


def test_past_the_guard_window_the_automation_emails_again(store, member):
    ContactPolicy.objects.create(store=store, window_hours=1)  # the store's cap no longer than the guard
    email_step(only_automation(store), delay_value=2, delay_unit="HOURS")
    (ac,) = abandon(store)
    with time_machine.travel(after(minutes=59), tick=False):
        recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=member)
    assert dispatch_at(after(hours=2)).outcomes == {"EMAIL_SENT": 1}
    assert len(mail.outbox) == 2


def test_two_automations_due_together_send_one_email(store):
    first = only_automation(store, name="First")
    email_step(first)
    email_step(AutomationFactory(store=store, name="Second"))
    (ac,) = abandon(store)
    report = dispatch_at(after(hours=1))
    assert report.outcomes == {"EMAIL_SENT": 1, "AUTOMATION_SKIPPED:RECENTLY_EMAILED": 1}
    assert len(mail.outbox) == 1
    assert SentEmail.objects.filter(abandoned_checkout=ac).count() == 1


def test_a_later_automation_step_within_the_window_is_skipped(store):
    automation = only_automation(store)
    email_step(automation, position=1, delay_value=60, delay_unit="MINUTES")
    email_step(automation, position=2, delay_value=90, delay_unit="MINUTES")
    abandon(store, 2)
    assert dispatch_at(after(minutes=60)).outcomes == {"EMAIL_SENT": 2}
    assert dispatch_at(after(minutes=90)).outcomes == {"AUTOMATION_SKIPPED:RECENTLY_EMAILED": 2}
    assert len(mail.outbox) == 2


def test_an_automated_email_guards_a_manual_send(store, member):
    email_step(only_automation(store))
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    with time_machine.travel(T0 + timedelta(hours=1, minutes=42), tick=False):
        result = recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=member)
    assert result.result == ManualResult.GUARDED
    assert len(mail.outbox) == 1


def test_a_zero_guard_lets_every_step_send(store, settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0
    ContactPolicy.objects.create(store=store, window_hours=0)  # and the store's frequency cap off
    email_step(only_automation(store, name="First"))
    email_step(AutomationFactory(store=store, name="Second"))
    abandon(store)
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 2}
