"""Merchant journeys through automations in a real browser, at desktop and phone widths:
saving an automation unchanged keeps its steps; a buyer emailed by hand is not emailed again
by the automation when its step falls due."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from automations.dispatcher import scheduled_steps_dispatch
from automations.messages import defaults
from automations.models import Automation, ScheduledStep, Unsubscribe
from checkouts.models import Membership
from tests.automations.helpers import abandon
from tests.factories import AutomationFactory, AutomationStepFactory, StoreFactory

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [pytest.param(1366, id="desktop"), pytest.param(390, id="phone")]


@pytest.fixture
def merchant():
    store = StoreFactory(name="Northwind")
    Automation.objects.filter(store=store).delete()
    user = get_user_model().objects.create_user("olivia", "olivia@example.com", PASSWORD)
    Membership.objects.create(user=user, store=store, role=Membership.Role.OWNER)
    return store


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_saving_an_automation_unchanged_twice_keeps_its_steps(context_factory, shoot, merchant, width, javascript):
    automation = AutomationFactory(store=merchant, name="Win back")
    # The default email's words, line breaks and all, as a merchant's first automation has them.
    words = {"subject": defaults.EMAIL_SUBJECT, "body": defaults.EMAIL_BODY}
    AutomationStepFactory(automation=automation, position=1, **words)
    AutomationStepFactory(automation=automation, position=2, delay_value=1, delay_unit="DAYS", **words)
    page = context_factory(width=width, javascript=javascript).new_page()
    log_in(page, "olivia")

    for attempt in range(2):
        page.goto(f"/automations/{automation.pk}/edit/")
        if attempt == 0:
            shoot(page, f"automation-edit-{width}-{'js' if javascript else 'nojs'}")
        page.get_by_role("button", name="Save automation").click()
        page.wait_for_url(f"**/automations/{automation.pk}/")
        assert page.get_by_role("heading", name="Win back").is_visible()
        assert page.locator("ol li").count() == 2
        assert automation.steps.filter(archived=False).count() == 2


@pytest.mark.parametrize("width", WIDTHS)
def test_a_manual_send_then_the_automations_due_time_gives_one_email(context_factory, shoot, merchant, width):
    automation = AutomationFactory(store=merchant, name="Recovery email")
    AutomationStepFactory(automation=automation, position=1, delay_value=60, delay_unit="MINUTES")
    (ac,) = abandon(merchant, when=timezone.now() - timedelta(minutes=18))
    page = context_factory(width=width).new_page()
    log_in(page, "olivia")

    page.goto(f"/checkouts/{ac.pk}/")
    page.get_by_role("link", name="Send recovery email").click()
    page.get_by_role("button", name="Send it now").click()
    page.wait_for_url(f"**/checkouts/{ac.pk}/")
    assert f"Recovery email sent to {ac.buyer_email}" in page.content()
    assert len(mail.outbox) == 1

    # 42 minutes later the automation's step falls due.
    with time_machine.travel(timezone.now() + timedelta(minutes=42), tick=False):
        scheduled_steps_dispatch()
    assert len(mail.outbox) == 1
    assert ScheduledStep.objects.get(abandoned_checkout=ac).reason == "RECENTLY_EMAILED"

    page.reload()
    timeline = page.locator("ol.timeline")
    assert timeline.get_by_text("Recovery email · step 1: Email the buyer · Recently emailed").is_visible()
    assert timeline.get_by_text("By olivia").is_visible()
    assert timeline.locator("li").filter(has_text="Email:").count() == 1
    shoot(page, f"checkout-manual-then-automation-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_unsubscribed_buyer_is_not_offered_a_recovery_email(context_factory, shoot, merchant, width):
    (ac,) = abandon(merchant, when=timezone.now() - timedelta(minutes=5))
    Unsubscribe.objects.create(store=merchant, email=ac.email_key)
    page = context_factory(width=width).new_page()
    log_in(page, "olivia")
    page.goto(f"/checkouts/{ac.pk}/")
    button = page.get_by_role("button", name="Send recovery email")
    assert button.is_disabled()
    day = timezone.localtime(timezone.now(), merchant.zone).strftime("%Y-%m-%d")
    assert page.get_by_text(f"Unsubscribed on {day}: no email can be sent.").is_visible()
    shoot(page, f"checkout-unsubscribed-{width}")
