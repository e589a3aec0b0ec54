"""An automation's counters add up (steps scheduled = sent + skipped + still to run), after
deletions too, and its holdout report matches the form and explains a changed share."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from automations.models import AutomationStep
from automations.selectors import automation_counts
from checkouts.services import abandoned_checkout_delete
from tests.automations.browser_form import form_submission
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation

pytestmark = pytest.mark.django_db


def test_the_counters_add_up_after_a_checkout_and_a_step_are_deleted(client, store, owner):
    automation = only_automation(store, name="Two touches")
    email_step(automation, position=1, delay_value=1, delay_unit="HOURS")
    email_step(automation, position=2, delay_value=1, delay_unit="DAYS")
    third = email_step(automation, position=3, delay_value=2, delay_unit="DAYS")
    first, *_ = abandon(store, 3)
    dispatch_at(after(hours=1))
    abandoned_checkout_delete(abandoned_checkout_id=first.pk, store=store)
    AutomationStep.objects.filter(pk=third.pk).delete()  # the admin can delete a step outright

    counts = automation_counts(store=store)[automation.pk]
    assert (counts.checkouts, counts.scheduled, counts.sent, counts.skipped, counts.pending) == (2, 6, 3, 1, 2)
    assert counts.scheduled == counts.sent + counts.skipped + counts.pending

    client.force_login(owner)
    page = client.get(reverse("automations:detail", args=[automation.pk])).content.decode()
    assert "Steps scheduled = sent + skipped + still to run" in page


def test_the_holdout_report_matches_the_form_and_explains_a_changed_share(client, store, owner):
    automation = only_automation(store, name="Win back", holdout_percent=10)
    email_step(automation)
    client.force_login(owner)
    edit = reverse("automations:edit", args=[automation.pk])
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        data = form_submission(client.get(edit).content, "automation-form")
        data["holdout_percent"] = ["20"]
        assert client.post(edit, data).status_code == 302
        # Saved again unchanged: nothing more to explain.
        client.post(edit, form_submission(client.get(edit).content, "automation-form"))
    page = client.get(reverse("automations:detail", args=[automation.pk])).content.decode()
    assert "Holdout share: <strong>20%</strong>" in page
    assert "Holdout was 10% until Dec 1, 20% since." in page
