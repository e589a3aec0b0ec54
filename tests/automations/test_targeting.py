"""Targeting conditions, each at its bounds: an automation's decide enrolment and are checked
again when a step is due; a step's are checked when it is due, with the failed one named."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.dispatcher import claim_due_steps
from automations.dispatcher.batch import process_batch
from automations.models import ContactPolicy, Enrollment, Reason, ScheduledStep
from checkouts.models import Activity
from tests.automations.helpers import T0, abandon, after, dispatch_at, email_step, one_step, only_automation
from tests.factories import CheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"


def cart(*lines: tuple[str, str, int]) -> list[dict]:
    """Line items as ingest stores them: (catalog item id, SKU, quantity)."""
    return [
        {
            "quantity": quantity,
            "productName": {"original": product},
            "catalogReference": {"catalogItemId": product, "appId": "stores"},
            "physicalProperties": {"sku": sku, "shippable": True},
        }
        for product, sku, quantity in lines
    ]


TWO_SHIRTS = cart(("prod-shirt", "SHIRT-M", 2))
SHIRT_AND_MUG = cart(("prod-shirt", "SHIRT-M", 2), ("prod-mug", "MUG-1", 1))

# condition -> (its setting, a checkout right at the bound that passes, one just past it that fails)
BOUNDS = {
    "min_total": ({"min_total": Decimal("100")}, {"total": Decimal("100.00")}, {"total": Decimal("99.99")}),
    "max_total": ({"max_total": Decimal("100")}, {"total": Decimal("100.00")}, {"total": Decimal("100.01")}),
    "products_included": (
        {"products_included": "mug-1\nprod-hat"},
        {"line_items": SHIRT_AND_MUG},  # SKUs match whatever their case
        {"line_items": TWO_SHIRTS},
    ),
    "products_excluded": (
        {"products_excluded": "prod-mug"},
        {"line_items": TWO_SHIRTS},
        {"line_items": SHIRT_AND_MUG},
    ),
    "currencies": ({"currencies": "EUR, GBP"}, {"currency": "GBP"}, {"currency": "USD"}),
    # A country the storefront did not send matches no list: "only buyers in FR" means known ones.
    "countries": ({"countries": "FR, de"}, {"buyer_country": "DE"}, {"buyer_country": "AT"}),
    "countries_unknown": ({"countries": "FR"}, {"buyer_country": "FR"}, {"buyer_country": ""}),
    "buyer_first_time": ({"buyer": "FIRST_TIME"}, {"completed_before": False}, {"completed_before": True}),
    "buyer_returning": ({"buyer": "RETURNING"}, {"completed_before": True}, {"completed_before": False}),
    "require_phone": ({"require_phone": True}, {"phone": "+33612345678"}, {"phone": ""}),
    "min_items": ({"min_items": 3}, {"line_items": SHIRT_AND_MUG}, {"line_items": TWO_SHIRTS}),
    "max_items": ({"max_items": 2}, {"line_items": TWO_SHIRTS}, {"line_items": SHIRT_AND_MUG}),
}


def checkout(store, *, completed_before: bool = False, **fields):
    """One abandoned checkout of EMAIL, scheduled at T0; `completed_before`: the same email
    completed an order in this store earlier."""
    if completed_before:
        CheckoutFactory(store=store, buyer_email=EMAIL.upper(), completed_at=T0 - timedelta(days=3))
    (ac,) = abandon(store, buyer_email=EMAIL, **fields)
    return ac


def condition_name(case: str) -> str:
    return case.split("_")[0] if case.startswith(("buyer", "countries")) else case


@pytest.mark.parametrize("case", BOUNDS)
def test_an_automation_enrols_a_checkout_at_the_bound_and_not_past_it(store, case):
    setting, passing, failing = BOUNDS[case]
    email_step(only_automation(store, **setting))
    assert Enrollment.objects.filter(abandoned_checkout=checkout(store, **passing)).exists()
    other = StoreFactory()  # its own automation and history: the failing checkout stands alone
    email_step(only_automation(other, **setting))
    assert not Enrollment.objects.filter(abandoned_checkout=checkout(other, **failing)).exists()


@pytest.mark.parametrize("case", BOUNDS)
def test_a_step_is_sent_at_the_bound_and_skipped_past_it_naming_the_condition(store, case):
    setting, passing, failing = BOUNDS[case]
    email_step(only_automation(store), **setting)
    sent = checkout(store, **passing)
    other = StoreFactory()
    email_step(only_automation(other), **setting)
    skipped = checkout(other, **failing)

    dispatch_at(after(hours=1))

    assert one_step(sent).state == ScheduledStep.State.DONE
    assert [message.to for message in mail.outbox] == [[EMAIL]]
    step = one_step(skipped)
    assert (step.state, step.reason) == (ScheduledStep.State.SKIPPED, Reason.CONDITION_NOT_MET)
    activity = Activity.objects.get(abandoned_checkout=skipped, type=Activity.Type.AUTOMATION_SKIPPED)
    assert activity.reason == Reason.CONDITION_NOT_MET
    assert activity.detail["condition"] == condition_name(case)
    assert activity.detail["reasonText"]


@pytest.mark.parametrize("case", BOUNDS)
def test_an_automations_conditions_are_checked_again_when_its_step_is_due(store, case):
    setting, passing, failing = BOUNDS[case]
    automation = only_automation(store)
    email_step(automation)
    fields = dict(failing)
    completed_before = fields.pop("completed_before", None)
    ac = checkout(store, **passing)  # enrolled while the checkout met them
    # Then the checkout (or the buyer's history) changed, and the merchant set the condition.
    if completed_before:
        CheckoutFactory(store=store, buyer_email=EMAIL, completed_at=after(minutes=30))
    elif completed_before is False:  # now a new email, with no order behind it
        type(ac).objects.filter(pk=ac.pk).update(buyer_email="new@example.com", email_key="new@example.com")
    if fields:
        type(ac).objects.filter(pk=ac.pk).update(**fields)
    type(automation).objects.filter(pk=automation.pk).update(**setting)

    dispatch_at(after(hours=1))

    step = one_step(ac)
    assert (step.state, step.reason) == (ScheduledStep.State.SKIPPED, Reason.CONDITION_NOT_MET)
    assert mail.outbox == []
    activity = Activity.objects.get(abandoned_checkout=ac, type=Activity.Type.AUTOMATION_SKIPPED)
    assert activity.detail["condition"] == condition_name(case)


def test_another_stores_orders_do_not_make_a_buyer_returning(store):
    email_step(only_automation(store), buyer="RETURNING")
    CheckoutFactory(store=StoreFactory(), buyer_email=EMAIL, completed_at=T0)
    CheckoutFactory(store=store, buyer_email=EMAIL, completed_at=None)  # an order never completed
    ac = checkout(store)
    dispatch_at(after(hours=1))
    assert one_step(ac).reason == Reason.CONDITION_NOT_MET


def test_conditions_of_a_step_and_its_automation_all_hold_together(store):
    automation = only_automation(store, min_total=Decimal("50"), currencies="USD")
    email_step(automation, position=1, delay_value=1, max_items=2)
    email_step(automation, position=2, delay_value=2, min_items=3)
    ac = checkout(store, line_items=TWO_SHIRTS)
    dispatch_at(after(hours=2))
    first, second = ScheduledStep.objects.filter(abandoned_checkout=ac).order_by("due_at")
    assert (first.state, second.state) == (ScheduledStep.State.DONE, ScheduledStep.State.SKIPPED)
    assert second.reason == Reason.CONDITION_NOT_MET


def test_a_batch_with_a_buyer_condition_runs_a_constant_number_of_queries(store):
    automation = only_automation(store)
    email_step(automation, buyer="FIRST_TIME", require_phone=True, products_excluded="NOPE")

    def batch_queries(count: int, when) -> int:
        abandon(store, count, when=when, phone="+15550100")
        CheckoutFactory(store=store, completed_at=T0)  # someone else's order
        due = when + (after(hours=1) - T0)
        with time_machine.travel(due, tick=False), CaptureQueriesContext(connection) as captured:
            outcomes = process_batch(claim_due_steps(now=due, batch_size=100))
        assert outcomes == {"EMAIL_SENT": count}
        return len(captured)

    assert batch_queries(5, T0) == batch_queries(60, after(days=1))


def test_a_batch_of_10_and_of_100_with_contact_rules_and_every_condition_run_the_same_queries(store):
    """Contact rules (cap, quiet hours, email consent) and every condition on the automation and
    its step: the dispatcher's queries per batch do not grow with the batch."""
    ContactPolicy.objects.create(store=store, window_hours=16, quiet_hours=True, require_email_consent=True)
    conditions = {
        "min_total": Decimal("10"),
        "max_total": Decimal("1000"),
        "products_included": "prod-shirt",
        "products_excluded": "NOPE",
        "currencies": "USD, EUR",
        "countries": "FR, DE",
        "buyer": "FIRST_TIME",
        "require_phone": True,
        "min_items": 1,
        "max_items": 5,
    }
    email_step(only_automation(store, **conditions), **conditions)

    def batch_queries(count: int, when) -> int:
        abandon(
            store,
            count,
            when=when,
            phone="+15550100",
            total=Decimal("100"),
            currency="EUR",
            buyer_country="FR",
            line_items=TWO_SHIRTS,
            marketing_consent={"email": True},
        )
        CheckoutFactory(store=store, buyer_email="someone@else.example", completed_at=T0)  # not one of theirs
        due = when + (after(hours=1) - T0)
        with time_machine.travel(due, tick=False), CaptureQueriesContext(connection) as captured:
            outcomes = process_batch(claim_due_steps(now=due, batch_size=100))
        assert outcomes == {"EMAIL_SENT": count}
        return len(captured)

    ten, hundred = batch_queries(10, T0), batch_queries(100, after(days=1))
    print(f"queries per batch: {ten} for 10 due steps, {hundred} for 100")
    assert ten == hundred
