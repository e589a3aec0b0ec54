"""A Celery worker SIGKILLed again and again during a burst of abandonments, emails and webhooks.

Real processes: `celery -A config worker` (killed and restarted by this test only) and a beat
on a 2 s clock, both on the suite's Redis and the PostgreSQL test database; buyers' mail goes
to a loopback SMTP sink and webhooks to a loopback receiver, both in this process, each
recording what it accepted. Afterwards: nothing lost, nothing stuck, nothing done twice
except what the known crash window allows (an email or webhook that the far side accepted
before the killed worker could commit it), and every such duplicate is counted.
"""

import random
import time

import pytest
from django.utils import timezone

from automations.models import ScheduledStep, SentEmail
from checkouts.models import AbandonedCheckout, Checkout, WebhookDelivery, WebhookEvent
from checkouts.services import checkout_events_ingest

from .helpers import assert_abandoned_once, due_over, duplicates, figure, idle_event, outside_crash_window
from .services import WORKER_CONCURRENCY, base_env, celery, fast_beat, live_database_url, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

CHECKOUTS = 300
DUE_OVER_SECONDS = 20  # the abandonments arrive as a burst spread over the kill phase
KILLS = 10
LEASE_SECONDS = 8
DRAIN_TIMEOUT = 180


def test_a_worker_killed_ten_times_loses_nothing_and_repeats_only_crash_window_sends(
    broker, shop, smtp, receiver, tmp_path
):
    now = timezone.now()
    events = [
        idle_event(f"kill-{i}", since=due_over(now, shop.abandon_after, i, CHECKOUTS, DUE_OVER_SECONDS))
        for i in range(CHECKOUTS)
    ]
    checkout_events_ingest(store=shop, events=events)
    env = base_env(
        DATABASE_URL=live_database_url(),
        EMAIL_URL=smtp.url,
        # Short leases: a killed worker's claims are taken again in seconds, not minutes.
        COMEBACK_WEBHOOK_LEASE_SECONDS=str(LEASE_SECONDS),
        COMEBACK_DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    worker = celery("worker", env=env, log=tmp_path / "worker.log")
    beat = fast_beat(env=env, directory=tmp_path)

    def done() -> int:
        return AbandonedCheckout.objects.filter(store=shop).count() + len(smtp.accepted) + len(receiver.received)

    kills: list[float] = []
    mid_work = 0
    started = time.monotonic()
    try:
        beat.start()
        worker.start()
        for _ in range(KILLS):
            before = done()
            # Kill once this worker has done some work (or after a bound, if there is none left),
            # at a random moment after: mid-claim, mid-send, mid-commit, or while idle.
            try:
                wait_until(lambda before=before: done() > before, timeout=30, every=0.05, what="worker progress")
                mid_work += 1
            except AssertionError:
                pass
            time.sleep(random.uniform(0.1, 1.5))
            worker.kill()
            kills.append(time.time())
            worker.start()
        kill_phase = time.monotonic() - started

        def finished() -> bool:
            return (
                not Checkout.objects.filter(store=shop, abandoned_at__isnull=True).exists()
                and not ScheduledStep.objects.exclude(state=ScheduledStep.State.DONE).exists()
                and not WebhookDelivery.objects.exclude(state=WebhookDelivery.State.SUCCEEDED).exists()
                and ScheduledStep.objects.count() == CHECKOUTS
            )

        drained = wait_until(
            finished, timeout=DRAIN_TIMEOUT, every=0.5, what=lambda: "the work to drain\n" + worker.tail()
        )
    finally:
        worker.kill()
        beat.kill()

    # Nothing lost, nothing abandoned twice.
    assert_abandoned_once(shop, CHECKOUTS)

    # Every step done once in the database, every email accepted at least once.
    steps = list(ScheduledStep.objects.all())
    assert {step.state for step in steps} == {ScheduledStep.State.DONE}
    assert SentEmail.objects.count() == CHECKOUTS
    assert SentEmail.objects.values("scheduled_step_id").distinct().count() == CHECKOUTS
    expected_keys = {step.idempotency_key for step in steps}
    mail_arrivals = [(message.key, message.at) for message in smtp.accepted]
    assert {key for key, _ in mail_arrivals} == expected_keys
    assert len({message.message_id for message in smtp.accepted}) == CHECKOUTS  # one Message-ID per key
    mail_repeats = duplicates(mail_arrivals)
    # A repeat is only ever a send the mail server accepted before its worker was killed, and
    # that step was claimed again (its attempts count the claims).
    assert outside_crash_window(mail_repeats, kills) == []
    attempts = {step.idempotency_key: step.attempts for step in steps}
    assert all(len(ats) <= attempts[key] for key, ats in mail_repeats.items())

    # Every delivery arrived at least once; repeats only across a kill.
    expected_ids = {str(pk) for pk in WebhookEvent.objects.values_list("id", flat=True)}
    hook_arrivals = [(request.headers["webhook-id"], request.at) for request in receiver.received]
    assert {key for key, _ in hook_arrivals} == expected_ids
    hook_repeats = duplicates(hook_arrivals)
    assert outside_crash_window(hook_repeats, kills) == []

    # Nothing left claimed: no step RUNNING, no delivery in flight (checked by `finished` too).
    assert not ScheduledStep.objects.filter(state=ScheduledStep.State.RUNNING).exists()
    assert not WebhookDelivery.objects.filter(state=WebhookDelivery.State.DELIVERING).exists()

    mail_dups = len(mail_arrivals) - CHECKOUTS
    hook_dups = len(hook_arrivals) - len(expected_ids)
    figure(
        "worker SIGKILL",
        checkouts=CHECKOUTS,
        sigkills=f"{len(kills)} ({mid_work} mid-work)",
        emails=f"{len(mail_arrivals)} sent / {CHECKOUTS} unique ({mail_dups} crash-window duplicates)",
        webhooks=f"{len(hook_arrivals)} sent / {len(expected_ids)} unique ({hook_dups} duplicates)",
        lost=0,
        stuck=0,
        kill_phase=f"{kill_phase:.0f} s",
        drained=f"{drained:.1f} s after the last restart",
    )
    # The crash window, per kill and pool process: the one email the mail server accepted
    # before its send receipt committed, and the one webhook request in flight (each outcome
    # commits at once). Emails sent earlier in a killed batch are receipted, never repeated.
    assert mail_dups <= KILLS * WORKER_CONCURRENCY
    assert hook_dups <= KILLS * WORKER_CONCURRENCY
