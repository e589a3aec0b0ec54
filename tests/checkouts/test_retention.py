"""Retention: abandoned checkouts older than N days are deleted, a batch per transaction, silently."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations.models import Reason, ScheduledStep, SentEmail, Task
from checkouts.models import AbandonedCheckout, Activity, Checkout, WebhookDelivery, WebhookEvent
from checkouts.services import webhook_event_build, webhook_events_record
from checkouts.services.privacy import abandoned_checkouts_retention_apply
from checkouts.tasks import abandoned_checkouts_retention_task
from config.celery_app import app
from tests.factories import (
    AbandonedCheckoutFactory,
    ActivityFactory,
    AutomationFactory,
    AutomationStepFactory,
    CheckoutFactory,
)

pytestmark = pytest.mark.django_db


def aged(store, days: float, **fields) -> AbandonedCheckout:
    """An abandoned checkout abandoned `days` ago, with what usually hangs off one."""
    when = timezone.now() - timedelta(days=days)
    checkout = CheckoutFactory(store=store, last_activity_at=when - timedelta(hours=1))
    ac = AbandonedCheckoutFactory(store=store, checkout=checkout, created_at=when, event_sequence=1, **fields)
    ActivityFactory(store=store, abandoned_checkout=ac)
    webhook_events_record([webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1, activities=[])])
    Task.objects.create(store=store, abandoned_checkout=ac, title="Call", due_at=when)
    SentEmail.objects.create(
        store=store,
        abandoned_checkout=ac,
        kind=SentEmail.Kind.AUTOMATION,
        idempotency_key=f"k-{ac.pk}",
        message_id="m",
        to_email=ac.buyer_email,
        subject="s",
        text_body="b",
    )
    return ac


def test_deletes_only_checkouts_older_than_the_period_with_what_belongs_to_them(store, other_store):
    old = [aged(store, 91), aged(other_store, 200)]
    young = [aged(store, 89), aged(other_store, 1)]

    assert abandoned_checkouts_retention_apply(days=90) == 2

    assert set(AbandonedCheckout.objects.values_list("pk", flat=True)) == {ac.pk for ac in young}
    assert set(Checkout.objects.values_list("pk", flat=True)) == {ac.checkout_id for ac in young}
    for model in (Activity, Task, SentEmail):
        assert set(model.objects.values_list("abandoned_checkout_id", flat=True)) == {ac.pk for ac in young}
    assert set(WebhookEvent.objects.values_list("entity_id", flat=True)) == {ac.pk for ac in young}
    assert not WebhookDelivery.objects.filter(entity_id__in=[ac.pk for ac in old]).exists()


def test_retention_is_silent_no_deleted_events(store):
    aged(store, 100)
    before = WebhookEvent.objects.count()
    abandoned_checkouts_retention_apply(days=90)
    assert not WebhookEvent.objects.filter(type="deleted").exists()
    assert WebhookEvent.objects.count() == before - 1  # its own `created` event went with it


def test_pending_steps_of_a_deleted_checkout_end_skipped(store):
    automation = AutomationFactory(store=store)
    step = AutomationStepFactory(automation=automation)
    ac = aged(store, 100)
    scheduled = ScheduledStep.objects.create(
        store=store, automation=automation, step=step, abandoned_checkout=ac, due_at=timezone.now()
    )
    abandoned_checkouts_retention_apply(days=90)
    scheduled.refresh_from_db()
    assert (scheduled.abandoned_checkout_id, scheduled.state, scheduled.reason) == (
        None,
        ScheduledStep.State.SKIPPED,
        Reason.CHECKOUT_DELETED,
    )


def test_a_checkout_that_moved_on_since_is_kept(store):
    ac = aged(store, 100)
    Checkout.objects.filter(pk=ac.checkout_id).update(last_activity_at=timezone.now())
    abandoned_checkouts_retention_apply(days=90)
    assert Checkout.objects.filter(pk=ac.checkout_id).exists()


def test_works_in_batches_of_the_given_size(store):
    for _ in range(5):
        aged(store, 100)
    batches = []
    assert abandoned_checkouts_retention_apply(days=90, batch_size=2, progress=batches.append) == 5
    assert batches == [2, 2, 1]


def test_a_batch_costs_the_same_queries_whatever_its_size(store):
    def queries_for(count: int) -> int:
        for _ in range(count):
            aged(store, 100)
        with CaptureQueriesContext(connection) as captured:
            assert abandoned_checkouts_retention_apply(days=90, batch_size=1000) == count
        return len(captured)

    assert queries_for(2) == queries_for(12)


def test_dry_run_counts_and_deletes_nothing(store):
    aged(store, 100)
    aged(store, 1)
    assert abandoned_checkouts_retention_apply(days=90, dry_run=True) == 1
    assert AbandonedCheckout.objects.count() == 2


def test_zero_days_turns_retention_off(store, settings):
    aged(store, 1000)
    settings.COMEBACK_RETENTION_DAYS = 0
    assert abandoned_checkouts_retention_apply() == 0
    assert AbandonedCheckout.objects.count() == 1


def test_the_setting_defaults_to_90_days_and_is_used(store, settings):
    from config.settings import base

    assert base.COMEBACK_RETENTION_DAYS == 90
    settings.COMEBACK_RETENTION_DAYS = 10
    aged(store, 11)
    aged(store, 9)
    assert abandoned_checkouts_retention_apply() == 1


def test_the_command_dry_run_and_run(store):
    aged(store, 40)
    aged(store, 10)
    out = StringIO()
    call_command("retention_apply", "--days", "30", "--dry-run", stdout=out, stderr=StringIO())
    assert "Would delete 1 abandoned checkouts" in out.getvalue()
    assert AbandonedCheckout.objects.count() == 2
    out, err = StringIO(), StringIO()
    call_command("retention_apply", "--days", "30", stdout=out, stderr=err)
    assert "Deleted 1 abandoned checkouts" in out.getvalue()
    assert "1/1" in err.getvalue()  # the tqdm bar
    assert AbandonedCheckout.objects.count() == 1


def test_the_task_runs_daily_on_the_beat_schedule():
    entry = app.conf.beat_schedule["abandoned-checkouts-retention"]
    assert entry["task"] == "checkouts.tasks.abandoned_checkouts_retention_task"
    assert entry["schedule"] == 24 * 3600
    assert abandoned_checkouts_retention_task.name == entry["task"]
