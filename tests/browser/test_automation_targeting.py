"""Building an automation with targeting conditions in a real browser: the automation's and a
step's, a mistake shown on its field, then saved and applied when the step falls due."""

from decimal import Decimal

import pytest
from django.core import mail

from automations.models import Automation, Reason, ScheduledStep
from tests.automations.helpers import abandon, after, dispatch_at
from tests.factories import MembershipFactory, StoreFactory, UserFactory

from .test_automations import shoot, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MUG = [{"quantity": 1, "catalogReference": {"catalogItemId": "prod-mug", "appId": "stores"}}]


def test_building_an_automation_with_conditions(browser, live_server):
    store = StoreFactory(name="Northwind", currency="EUR")
    owner = MembershipFactory(store=store, user=UserFactory(username="olivia")).user
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/automations/new/")
    page.get_by_label("Name").fill("Big EUR carts")
    page.get_by_label("Minimum cart total").fill("100")
    page.get_by_label("Maximum cart total").fill("50")  # a mistake, refused on its field
    page.get_by_label("Checkout currency is one of").fill("eur")
    page.get_by_label("Buyer", exact=True).select_option("FIRST_TIME")
    step = page.locator("[data-step]").nth(0)
    step.locator("summary", has_text="Conditions for this step").click()  # a <details>: opens without script
    step.get_by_label("Only if the cart holds none of these products or SKUs").fill("prod-mug")
    step.get_by_label("Only if the number of items is at least").fill("1")
    page.get_by_role("button", name="Save automation").click()

    assert errors == [f"400 {live_server.url}/automations/new/"]  # the refused form, as a 400
    errors.clear()
    error = page.locator("#id_max_total_error")
    assert "Must not be below the minimum cart total (100" in error.inner_text()
    # Sent back open, with what was typed still there.
    assert step.get_by_label("Only if the cart holds none of these products or SKUs").input_value() == "prod-mug"
    shoot(page, "automation-conditions-error")
    assert not Automation.objects.filter(name="Big EUR carts").exists()

    page.get_by_label("Maximum cart total").fill("")
    shoot(page, "automation-conditions-form")
    page.get_by_role("button", name="Save automation").click()
    page.wait_for_url("**/automations/*/")

    automation = Automation.objects.get(name="Big EUR carts")
    assert (automation.min_total, automation.max_total, automation.currencies) == (Decimal("100"), None, "EUR")
    assert automation.buyer == "FIRST_TIME"
    saved = automation.steps.get()
    assert (saved.products_excluded, saved.min_items) == ("prod-mug", 1)

    # Applied: a cart without the mug gets the email; one with it is skipped, the condition named.
    plain, with_mug = abandon(store, 2, currency="EUR", total=Decimal("120"))
    type(with_mug).objects.filter(pk=with_mug.pk).update(line_items=MUG)
    type(plain).objects.filter(pk=plain.pk).update(line_items=[{**MUG[0], "catalogReference": {"catalogItemId": "x"}}])
    dispatch_at(after(minutes=60 * 24))
    assert [m.to for m in mail.outbox] == [[plain.buyer_email]]
    skipped = ScheduledStep.objects.get(abandoned_checkout=with_mug)
    assert skipped.reason == Reason.CONDITION_NOT_MET
    page.goto(f"{live_server.url}/checkouts/{with_mug.pk}/")
    assert page.get_by_text("Condition not met: cart does not contain prod-mug").is_visible()
    shoot(page, "automation-conditions-skipped-timeline")
    assert errors == []
