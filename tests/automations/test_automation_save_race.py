"""Two managers saving one automation at once on PostgreSQL: each holdout change is noted from the share it replaced."""

import pytest

from automations.forms import AutomationForm, StepFormSet, new_step_initial
from automations.models import Automation, HoldoutChange
from automations.services import automation_save
from tests.automations.helpers import email_step, only_automation
from tests.automations.test_views_automations import form_data, step_data
from tests.checkouts.test_concurrency import run_together
from tests.factories import StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 10


def bound_forms(automation: Automation, share: int):
    """The edit page's forms, posted with `share` and validated, as the view holds them before saving."""
    step = automation.steps.get()
    data = form_data([{**step_data(0), "steps-0-id": step.pk}], initial=1, name="Race", holdout_percent=share)
    form = AutomationForm(data, instance=automation)
    steps = StepFormSet(data, instance=automation, prefix="steps", store=automation.store, new_step=new_step_initial(2))
    assert form.is_valid() and steps.is_valid(), (form.errors, steps.errors)
    return form, steps


def test_racing_holdout_changes_chain_from_the_share_each_replaced():
    store = StoreFactory()
    automation = only_automation(store, name="Race", holdout_percent=10)
    email_step(automation, position=1)
    for _ in range(ROUNDS):
        Automation.objects.filter(pk=automation.pk).update(holdout_percent=10)
        HoldoutChange.objects.all().delete()
        # Both edit pages were loaded while the share was 10.
        saves = [bound_forms(Automation.objects.get(pk=automation.pk), share) for share in (20, 30)]
        run_together(
            *(
                lambda form=form, steps=steps: automation_save(store=store, form=form, steps=steps)
                for form, steps in saves
            )
        )
        changes = list(HoldoutChange.objects.order_by("id").values_list("before", "after"))
        final = Automation.objects.get(pk=automation.pk).holdout_percent
        assert len(changes) == 2 and changes[0][0] == 10, changes
        assert changes[1][0] == changes[0][1] and changes[1][1] == final, changes
