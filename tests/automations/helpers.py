"""Building automations and abandoned checkouts for the automations tests."""

from datetime import datetime, timedelta

import time_machine

from automations.dispatcher import DispatchReport, scheduled_steps_dispatch
from automations.models import Automation, ScheduledStep
from automations.services import automations_schedule
from checkouts.models import AbandonedCheckout, Activity, Store
from tests.checkouts.helpers import at
from tests.factories import AbandonedCheckoutFactory, AutomationFactory, AutomationStepFactory

# Every test runs on this clock: checkouts are abandoned at T0, steps fall due after it.
T0 = at(0)


def only_automation(store: Store, **fields) -> Automation:
    """Replace the store's default automation with a fresh one (no steps yet)."""
    Automation.objects.filter(store=store).delete()
    return AutomationFactory(store=store, **fields)


def email_step(automation: Automation, **fields):
    return AutomationStepFactory(automation=automation, **fields)


def abandon(store: Store, count: int = 1, *, when: datetime = T0, **fields) -> list[AbandonedCheckout]:
    """Abandoned checkouts created at `when` and scheduled as the sweep schedules them."""
    checkouts = [
        AbandonedCheckoutFactory(store=store, created_at=when, updated_at=when, **fields) for _ in range(count)
    ]
    for ac in checkouts:
        ac.latest_activities = []
    with time_machine.travel(when, tick=False):
        automations_schedule(abandoned_checkouts=checkouts)
    return checkouts


def dispatch_at(moment: datetime, **kwargs) -> DispatchReport:
    with time_machine.travel(moment, tick=False):
        return scheduled_steps_dispatch(**kwargs)


def after(**delta) -> datetime:
    return T0 + timedelta(**delta)


def activities(ac: AbandonedCheckout) -> list[tuple[str, str]]:
    """(type, reason) of a checkout's activities, oldest first."""
    return list(
        Activity.objects.filter(abandoned_checkout=ac).order_by("created_at", "id").values_list("type", "reason")
    )


def one_step(ac: AbandonedCheckout) -> ScheduledStep:
    return ScheduledStep.objects.get(abandoned_checkout=ac)
