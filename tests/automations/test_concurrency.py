"""Races and crashes on PostgreSQL: real threads, a real killed process, real row locks."""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone

from automations.dispatcher import scheduled_steps_dispatch
from automations.models import ContactPolicy, ScheduledStep, SendReceipt, SentEmail
from automations.services.manual import recovery_email_send
from checkouts import hooks
from checkouts.models import AbandonedCheckout, Activity
from checkouts.services import abandoned_checkout_recover
from tests.automations.helpers import abandon, email_step, only_automation
from tests.automations.mailers import send_started
from tests.checkouts.test_concurrency import run_together
from tests.factories import AutomationFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 150


def daytime_store(**rules):
    """A store without quiet hours: these tests run on the real clock, at any hour."""
    store = StoreFactory()
    ContactPolicy.objects.create(store=store, quiet_hours=False, **rules)
    return store


class RecoveryClock:
    """When each recovery took its checkout's row."""

    def __init__(self):
        self.recoveries: dict[str, float] = {}

    def on_recovered(self, sender, *, abandoned_checkout, **kwargs):
        # Runs inside the recovery, right after its conditional UPDATE got the row: before COMMIT.
        self.recoveries[str(abandoned_checkout.pk)] = time.monotonic()


def test_completion_racing_a_due_email_never_emails_after_the_recovery(settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.automations.mailers.TimedLocmemBackend"}}
    store = daytime_store()
    email_step(only_automation(store))
    clock = RecoveryClock()
    hooks.abandoned_checkout_recovered.connect(clock.on_recovered, dispatch_uid="race-clock")
    outcomes = Counter()
    rnd = random.Random(5)
    try:
        for _ in range(ROUNDS):
            (ac,) = abandon(store, when=timezone.now() - timedelta(hours=2))
            step = ScheduledStep.objects.get(abandoned_checkout=ac)
            # The dispatcher needs a few milliseconds to claim and lock before it sends: the
            # completion waits a little longer on average, so both orders happen often.
            jitter = (rnd.uniform(0, 0.012), rnd.uniform(0, 0.004))

            def complete(pk=ac.pk, wait=jitter[0]):
                time.sleep(wait)
                return abandoned_checkout_recover(abandoned_checkout_id=pk, order_id="o")

            def dispatch(wait=jitter[1]):
                time.sleep(wait)
                return scheduled_steps_dispatch()

            recovered, _ = run_together(complete, dispatch)
            assert recovered
            step.refresh_from_db()
            after_schedule = list(
                Activity.objects.filter(abandoned_checkout=ac).exclude(type="SCHEDULED").values_list("type", "reason")
            )
            # Exactly one activity for the step, and the step is finished.
            assert len(after_schedule) == 1, after_schedule
            assert step.state in ScheduledStep.FINAL
            assert Activity.objects.filter(detail__scheduledStep=step.pk).count() == 1
            key = step.idempotency_key
            if after_schedule[0] == ("EMAIL_SENT", ""):
                # The email went out before the recovery could even take the row.
                assert send_started[key] < clock.recoveries[str(ac.pk)]
                outcomes["sent before recovery"] += 1
            else:
                assert after_schedule[0] == ("AUTOMATION_SKIPPED", "RECOVERED")
                assert key not in send_started
                outcomes["skipped"] += 1
            assert AbandonedCheckout.objects.get(pk=ac.pk).status == "RECOVERED"
    finally:
        hooks.abandoned_checkout_recovered.disconnect(dispatch_uid="race-clock")
    print(f"\n{ROUNDS} rounds: {dict(outcomes)}")
    assert sum(outcomes.values()) == ROUNDS
    assert len(mail.outbox) == outcomes["sent before recovery"]
    # Both orders happened, so the test saw the race from both sides.
    assert outcomes["sent before recovery"] and outcomes["skipped"]


def test_two_dispatchers_at_once_send_each_email_once(settings):
    # Both steps are due at once: with the guard on (tested below and in test_email_guard.py)
    # the second would be skipped. Off, every step sends, and none may send twice.
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0
    store = daytime_store(window_hours=0)  # and the store's frequency cap off
    automation = only_automation(store)
    email_step(automation, position=1)
    email_step(automation, position=2, delay_value=90, delay_unit="MINUTES")
    abandon(store, 150, when=timezone.now() - timedelta(hours=2))
    run_together(*[lambda: scheduled_steps_dispatch(batch_size=20) for _ in range(4)])
    keys = [m.extra_headers["X-Comeback-Idempotency-Key"] for m in mail.outbox]
    assert len(keys) == len(set(keys)) == 300
    assert ScheduledStep.objects.filter(state="DONE").count() == 300
    assert Activity.objects.filter(type="EMAIL_SENT").count() == 300


BLOCKING_WORKER = """
import os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail.backends.base import BaseEmailBackend

class HangingSmtp(BaseEmailBackend):
    # An SMTP server that accepts the connection and then never answers.
    def send_messages(self, messages):
        open(sys.argv[1], "w").write("sending")
        time.sleep(120)

settings.MAILERS = {"default": {"BACKEND": "__main__.HangingSmtp"}}
from automations.dispatcher import scheduled_steps_dispatch
scheduled_steps_dispatch()
"""


def test_a_worker_killed_mid_step_leaves_it_to_be_done_once_after_the_lease(tmp_path):
    store = daytime_store()
    email_step(only_automation(store))
    (ac,) = abandon(store, when=timezone.now() - timedelta(hours=2))
    marker = tmp_path / "sending"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(Path(settings.BASE_DIR)),
    }
    worker = subprocess.Popen([sys.executable, "-c", BLOCKING_WORKER, str(marker)], cwd=settings.BASE_DIR, env=env)
    try:
        for _ in range(300):
            if marker.exists() or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the worker never reached the send"
        step = ScheduledStep.objects.get(abandoned_checkout=ac)
        assert (step.state, step.attempts) == ("RUNNING", 1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # Its transaction died with it: nothing sent, nothing logged, the row still leased.
    assert scheduled_steps_dispatch().claimed == 0
    assert Activity.objects.filter(abandoned_checkout=ac).exclude(type="SCHEDULED").count() == 0
    lease = timedelta(seconds=settings.COMEBACK_DISPATCH_LEASE_SECONDS)
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=5), tick=False):
        report = scheduled_steps_dispatch()
    assert report.outcomes == {"EMAIL_SENT": 1}
    step.refresh_from_db()
    assert (step.state, step.attempts) == ("DONE", 2)
    assert len(mail.outbox) == 1 and SentEmail.objects.count() == 1
    assert list(Activity.objects.filter(abandoned_checkout=ac).values_list("type", flat=True).order_by("id")) == [
        "SCHEDULED",
        "EMAIL_SENT",
    ]


CRASHING_WORKER = """
import os, signal, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail.backends.base import BaseEmailBackend

class DiesOnTheThirdEmail(BaseEmailBackend):
    # The mail server accepts two emails; the worker is killed while handing over the third.
    sent = 0

    def send_messages(self, messages):
        for message in messages:
            if DiesOnTheThirdEmail.sent == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            with open(sys.argv[1], "a") as accepted:
                accepted.write(message.extra_headers["Message-ID"] + "\\n")
            DiesOnTheThirdEmail.sent += 1
        return len(messages)

settings.MAILERS = {"default": {"BACKEND": "__main__.DiesOnTheThirdEmail"}}
from automations.dispatcher import scheduled_steps_dispatch
scheduled_steps_dispatch()
"""


def test_a_worker_killed_after_some_sends_of_a_batch_never_sends_those_again(tmp_path):
    store = daytime_store()
    email_step(only_automation(store))
    abandon(store, count=3, when=timezone.now() - timedelta(hours=2))
    accepted = tmp_path / "accepted"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(Path(settings.BASE_DIR)),
    }
    worker = subprocess.run(
        [sys.executable, "-c", CRASHING_WORKER, str(accepted)], cwd=settings.BASE_DIR, env=env, timeout=60, check=False
    )
    assert worker.returncode == -signal.SIGKILL
    sent_before = accepted.read_text().split()
    assert len(sent_before) == 2
    # The batch's transaction died with the worker; the receipts of the two accepted sends did not.
    assert SentEmail.objects.count() == 0
    assert sorted(SendReceipt.objects.values_list("message_id", flat=True)) == sorted(sent_before)

    lease = timedelta(seconds=settings.COMEBACK_DISPATCH_LEASE_SECONDS)
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=5), tick=False):
        report = scheduled_steps_dispatch()

    assert report.outcomes == {"EMAIL_SENT": 3}
    # Only the email that never left goes out now; the other two are recorded, not repeated.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] not in sent_before
    recorded = set(SentEmail.objects.values_list("message_id", flat=True))
    assert recorded == {*sent_before, mail.outbox[0].extra_headers["Message-ID"]}
    assert not SendReceipt.objects.exists()
    assert Activity.objects.filter(type="EMAIL_SENT").count() == 3


def test_a_manual_send_racing_two_automations_due_steps_emails_the_buyer_once(settings):
    """A hand-sent email and two automations' steps due for the same checkout, run in three
    threads (two dispatchers and the dashboard): the buyer gets one email, whoever wins."""
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 60
    store = daytime_store()
    email_step(only_automation(store, name="First"))
    email_step(AutomationFactory(store=store, name="Second"))
    member = get_user_model().objects.create_user("mia")
    winners = Counter()
    for _ in range(40):
        (ac,) = abandon(store, when=timezone.now() - timedelta(hours=2))
        mail.outbox = []
        manual, *_ = run_together(
            lambda pk=ac.pk: recovery_email_send(store=store, abandoned_checkout_id=pk, user=member).result,
            lambda: scheduled_steps_dispatch(batch_size=1, max_batches=1),
            lambda: scheduled_steps_dispatch(batch_size=1, max_batches=1),
        )
        scheduled_steps_dispatch()  # whatever a lost race left due
        assert [m.to for m in mail.outbox] == [[ac.buyer_email]]
        assert SentEmail.objects.filter(abandoned_checkout=ac).count() == 1
        skipped = Activity.objects.filter(abandoned_checkout=ac, type="AUTOMATION_SKIPPED", reason="RECENTLY_EMAILED")
        assert skipped.count() == (2 if manual == "SENT" else 1)
        winners[manual] += 1
    # Both orders happened: the manual send won some rounds and was guarded in others.
    assert set(winners) == {"SENT", "GUARDED"}, winners


def test_a_dispatcher_run_writes_every_receipt_on_one_connection(monkeypatch):
    from automations.dispatcher import receipts

    store = daytime_store()
    email_step(only_automation(store))
    abandon(store, count=5, when=timezone.now() - timedelta(hours=2))
    opened = []
    create = receipts.connections.create_connection
    monkeypatch.setattr(receipts.connections, "create_connection", lambda alias: opened.append(alias) or create(alias))

    report = scheduled_steps_dispatch(batch_size=2, threads=1)

    assert (report.batches, report.outcomes) == (3, {"EMAIL_SENT": 5})
    assert len(opened) == 1  # not one per batch
    # Each batch's emails recorded, their receipts then deleted.
    assert SentEmail.objects.count() == 5 and not SendReceipt.objects.exists()


def test_a_receipt_connection_whose_server_process_ended_is_replaced(caplog):
    from automations.dispatcher.receipts import SendReceipts

    receipts = SendReceipts()
    try:
        receipts.write(idempotency_key="first", message_id="<first@example.com>")
        receipts.confirm()
        pid = receipts._connection.connection.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if not cursor.fetchone()[0]:
                    break
            time.sleep(0.02)
        # The next receipt is lost on the dead connection (and logged); the one after is written.
        receipts.write(idempotency_key="second", message_id="<second@example.com>")
        receipts.confirm()
        receipts.write(idempotency_key="third", message_id="<third@example.com>")
        receipts.confirm()
    finally:
        receipts.close()

    assert set(SendReceipt.objects.values_list("idempotency_key", flat=True)) == {"first", "third"}
    assert "Send receipt for second not written" in caplog.text


def test_one_dispatcher_run_in_threads_sends_each_email_once_and_closes_its_connections(monkeypatch):
    import threading

    import automations.dispatcher as dispatcher
    from tests.checkouts.test_concurrency import _connections_closed_down_to, _connections_to_this_database

    store = daytime_store()
    email_step(only_automation(store))
    abandon(store, count=60, when=timezone.now() - timedelta(hours=2))
    workers = Counter()
    process = dispatcher.process_batch

    def counted(ids, **kwargs):
        workers[threading.current_thread().name] += 1
        return process(ids, **kwargs)

    monkeypatch.setattr(dispatcher, "process_batch", counted)
    before = _connections_to_this_database()

    report = scheduled_steps_dispatch(batch_size=5, threads=3)

    assert report.claimed == 60 and report.outcomes == {"EMAIL_SENT": 60}
    assert report.batches == sum(workers.values()) == 12
    assert len(workers) > 1  # the first full claim started the other threads, and they took batches
    assert len(mail.outbox) == 60
    assert len({message.to[0] for message in mail.outbox}) == 60
    assert SentEmail.objects.count() == 60 and not SendReceipt.objects.exists()
    assert not ScheduledStep.objects.exclude(state="DONE").exists()
    assert _connections_closed_down_to(before)


def test_a_dispatcher_run_with_a_partial_first_claim_starts_no_thread(monkeypatch):
    import automations.dispatcher as dispatcher

    store = daytime_store()
    email_step(only_automation(store))
    abandon(store, count=3, when=timezone.now() - timedelta(hours=2))
    started = []
    monkeypatch.setattr(
        dispatcher, "_batches_in_thread", lambda run: started.append(run) or dispatcher.DispatchReport()
    )

    report = scheduled_steps_dispatch(batch_size=5, threads=3)

    assert report.outcomes == {"EMAIL_SENT": 3} and report.batches == 1
    assert not started  # a tick with a few due steps opens no other connection

    abandon(store, count=5, when=timezone.now() - timedelta(hours=2))
    report = scheduled_steps_dispatch(batch_size=5, threads=3)
    assert report.outcomes == {"EMAIL_SENT": 5} and len(started) == 2  # a full claim starts them
