"""Merchant journeys through automations in a real browser, at desktop and phone widths:
saving an automation unchanged keeps its steps."""

import pytest
from django.contrib.auth import get_user_model

from automations.messages import defaults
from automations.models import Automation
from checkouts.models import Membership
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
