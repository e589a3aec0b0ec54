"""Two schedulers at once, by mistake: every sweep runs side by side with itself, nothing is done twice.

Two real `celery beat` processes (the production sweepers on a 2 s clock) feed one worker,
and two threads in this process run the same sweeps in a tight loop, all against the same
PostgreSQL database while checkouts go idle one after another. SKIP LOCKED claims, the
conditional abandonment UPDATE and the unique constraints must leave exactly one of
everything: no crash happens here, so no duplicate is allowed at all.
"""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from automations.dispatcher import scheduled_steps_dispatch
from automations.models import ScheduledStep, SentEmail
from checkouts.models import Activity, Checkout, WebhookDelivery, WebhookEvent
from checkouts.services import abandoned_checkouts_detect, checkout_events_ingest
from checkouts.webhooks.tasks import webhook_deliveries_dispatch_task
from config.settings.base import _mailer_from_url

from .helpers import assert_abandoned_once, figure, idle_event
from .services import base_env, celery, fast_beat, live_database_url, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BATCHES = 15
BATCH = 20
CHECKOUTS = BATCHES * BATCH
DRAIN_TIMEOUT = 120
# A mistaken second scheduler ticks; it does not spin. This is the threads' tick.
LOOP_TICK = 0.25


def sweep_loop(stop: threading.Event, runs: Counter) -> None:
    """A second scheduler's worth of sweeps, back to back, in this thread's own connection."""
    try:
        while not stop.is_set():
            runs["detect"] += 1
            abandoned_checkouts_detect()
            runs["steps"] += 1
            scheduled_steps_dispatch(batch_size=20)
            runs["webhooks"] += 1
            webhook_deliveries_dispatch_task()  # claims here, sends on the worker
            stop.wait(LOOP_TICK)
    finally:
        connection.close()


def test_two_beats_and_two_sweep_loops_do_everything_exactly_once(broker, shop, smtp, receiver, settings, tmp_path):
    settings.MAILERS = {"default": _mailer_from_url(smtp.url)}
    env = base_env(DATABASE_URL=live_database_url(), EMAIL_URL=smtp.url, CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    beats = [fast_beat(env=env, directory=tmp_path, name=f"beat-{n}") for n in range(2)]
    worker = celery("worker", env=env, log=tmp_path / "worker.log")
    stop = threading.Event()
    runs: Counter = Counter()
    loops = [threading.Thread(target=sweep_loop, args=(stop, runs), daemon=True) for _ in range(2)]

    def finished() -> bool:
        return (
            not Checkout.objects.filter(store=shop, abandoned_at__isnull=True).exists()
            and ScheduledStep.objects.count() == CHECKOUTS
            and not ScheduledStep.objects.exclude(state=ScheduledStep.State.DONE).exists()
            and not WebhookDelivery.objects.exclude(state=WebhookDelivery.State.SUCCEEDED).exists()
        )

    started = time.monotonic()
    try:
        for process in (*beats, worker):
            process.start()
        for loop in loops:
            loop.start()
        # Checkouts go idle batch after batch while all four schedulers run: each batch falls due
        # a moment after it lands, and the next lands once it has been swept.
        for b in range(BATCHES):
            idle_since = timezone.now() - shop.abandon_after + timedelta(seconds=0.5)
            checkout_events_ingest(
                store=shop, events=[idle_event(f"two-{b}-{i}", since=idle_since) for i in range(BATCH)]
            )
            wait_until(
                lambda: not Checkout.objects.filter(store=shop, abandoned_at__isnull=True).exists(),
                timeout=60,
                what=f"batch {b} to be abandoned",
            )
        drained = wait_until(
            finished, timeout=DRAIN_TIMEOUT, every=0.5, what=lambda: "the work to drain\n" + worker.tail()
        )
        # Both beats really ran (each fires a tick every 2 s), and kept running to the end.
        assert all(beat.running for beat in beats), [beat.tail() for beat in beats]
    finally:
        stop.set()
        for loop in loops:
            loop.join(timeout=60)
        for process in (*beats, worker):
            process.kill()

    assert_abandoned_once(shop, CHECKOUTS)

    steps = list(ScheduledStep.objects.all())
    assert len(steps) == CHECKOUTS and {step.state for step in steps} == {ScheduledStep.State.DONE}
    assert SentEmail.objects.count() == CHECKOUTS
    per_checkout = Counter(
        Activity.objects.filter(type__in=["SCHEDULED", "EMAIL_SENT"]).values_list("abandoned_checkout_id", "type")
    )
    assert set(per_checkout.values()) == {1} and len(per_checkout) == 2 * CHECKOUTS
    keys = smtp.keys()
    assert sorted(keys) == sorted(step.idempotency_key for step in steps)  # each email exactly once

    hook_ids = [request.headers["webhook-id"] for request in receiver.received]
    assert sorted(hook_ids) == sorted(str(pk) for pk in WebhookEvent.objects.values_list("id", flat=True))
    figure(
        "two schedulers",
        checkouts=CHECKOUTS,
        schedulers="2 celery beats + 2 sweep threads",
        sweeps_in_threads=f"{runs['detect']} detect / {runs['steps']} dispatch / {runs['webhooks']} webhook",
        duplicate_abandonments=0,
        duplicate_emails=len(keys) - len(set(keys)),
        duplicate_deliveries=len(hook_ids) - len(set(hook_ids)),
        drained=f"{drained:.1f} s after the last batch ({time.monotonic() - started:.0f} s in all)",
    )
