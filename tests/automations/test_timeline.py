"""A checkout's timeline names what acted: the automation and step of each scheduled, sent or
skipped entry, the member who sent by hand; and it shows one line per email."""

import pytest
import time_machine
from django.contrib.auth import get_user_model

from automations.models import ContactPolicy
from automations.services.manual import recovery_email_send
from checkouts.selectors import abandoned_checkout_timeline
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation

pytestmark = pytest.mark.django_db


def lines(ac) -> list[tuple[str, str]]:
    return [(e.title, e.detail) for e in abandoned_checkout_timeline(abandoned_checkout=ac)]


def test_each_entry_names_its_automation_and_step_and_each_email_is_one_line(store, settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 60
    ContactPolicy.objects.create(store=store, window_hours=1)  # the store's cap no longer than the guard
    automation = only_automation(store, name="Recovery email")
    email_step(automation, position=1, delay_value=1, delay_unit="HOURS", subject="Your cart")
    email_step(automation, position=2, delay_value=90, delay_unit="MINUTES", subject="Still there?")
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    dispatch_at(after(minutes=90))
    member = get_user_model().objects.create_user("mia")
    with time_machine.travel(after(hours=3), tick=False):
        recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=member)

    assert lines(ac) == [
        ("Checkout abandoned", ""),
        ("Scheduled", "Recovery email · 2 steps"),
        ("Email: Your cart", f"Recovery email · step 1: Email the buyer · To {ac.buyer_email} · Automation"),
        ("Automation skipped", "Recovery email · step 2: Email the buyer · Recently emailed"),
        ("Email: Your cart", f"By mia · To {ac.buyer_email} · Sent by hand"),
    ]
