"""Issue 18's judged contact rules with real threads, on PostgreSQL and on SQLite.

Each round starts two workers at once (two dispatchers, or a dispatcher and a click), each
holding a different step or checkout of the same buyer. On PostgreSQL they run together and
the row locks decide. SQLite has one writer at a time and the suite's shared in-memory
database answers "table is locked" rather than waiting, so there the threads take turns, in
whichever order they reach the turn: both orders happen over the rounds, and each must end
the same way.
"""

import contextlib
import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from automations.dispatcher.batch import process_batch
from automations.models import ContactPolicy, Reason, ScheduledStep
from automations.notify.backends import locmem as sms
from automations.services.manual import recovery_email_send
from tests.automations.helpers import abandon, email_step, only_automation
from tests.checkouts.test_concurrency import run_together
from tests.factories import AutomationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 12
State = ScheduledStep.State
SMS = {"action": "NOTIFY_BUYER", "message": "Your cart is waiting"}


@pytest.fixture(autouse=True)
def empty_outboxes():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def together(*targets):
    """Run the targets in threads started at once; on SQLite each waits for its turn."""
    turn = threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()

    def taking_turns(target):
        def run():
            with turn:
                return target()

        return run

    return run_together(*(taking_turns(target) for target in targets))


def daytime_store(**rules):
    """A store whose buyers are never in their night: these rounds run on the real clock."""
    store = StoreFactory()
    ContactPolicy.objects.create(store=store, quiet_hours=False, **rules)
    return store


def claimed(steps) -> list[list[int]]:
    """Each step claimed on its own, as two workers would claim them: one batch each."""
    ids = [step.pk for step in steps]
    ScheduledStep.objects.filter(pk__in=ids).update(
        state=State.RUNNING, attempts=1, locked_until=timezone.now() + timedelta(minutes=5)
    )
    return [[pk] for pk in ids]


def due_steps(*checkouts) -> list[ScheduledStep]:
    return list(ScheduledStep.objects.filter(abandoned_checkout__in=checkouts).order_by("pk"))


def two_hours_ago() -> datetime:
    return timezone.now() - timedelta(hours=2)


def test_a_manual_send_and_a_due_step_of_the_same_buyer_inside_the_window_send_once():
    store = daytime_store()
    email_step(only_automation(store))
    user = UserFactory()
    results = Counter()
    for round_ in range(ROUNDS):
        email = f"ada{round_}@example.com"
        clicked_on, due = abandon(store, 2, when=two_hours_ago(), buyer_email=email)
        ScheduledStep.objects.filter(abandoned_checkout=clicked_on).delete()
        [batch] = claimed(due_steps(due))
        mail.outbox = []
        dispatched, clicked = together(
            lambda batch=batch: process_batch(batch),
            lambda pk=clicked_on.pk: recovery_email_send(store=store, abandoned_checkout_id=pk, user=user),
        )
        assert [m.to for m in mail.outbox] == [[email]]
        results.update(dispatched)
        results[f"manual:{clicked.result}"] += 1
    assert results["EMAIL_SENT"] + results["manual:SENT"] == ROUNDS
    assert results["AUTOMATION_SKIPPED:RECENTLY_CONTACTED"] + results["manual:GUARDED"] == ROUNDS


def test_two_automations_due_at_the_same_second_for_the_same_buyer_send_once(settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0  # the per-checkout guard off: the buyer's cap decides
    store = daytime_store()
    email_step(only_automation(store, name="First"))
    email_step(AutomationFactory(store=store, name="Second"))
    outcomes = Counter()
    for round_ in range(ROUNDS):
        (ac,) = abandon(store, when=two_hours_ago(), buyer_email=f"bob{round_}@example.com")
        first, second = due_steps(ac)
        assert first.due_at == second.due_at and first.automation_id != second.automation_id
        mail.outbox = []
        for result in together(*(lambda ids=ids: process_batch(ids) for ids in claimed([first, second]))):
            outcomes.update(result)
        assert len(mail.outbox) == 1
    assert outcomes == {"EMAIL_SENT": ROUNDS, "AUTOMATION_SKIPPED:RECENTLY_CONTACTED": ROUNDS}


def test_a_newer_checkout_of_the_same_buyer_cancels_the_older_sequence_whichever_runs_first():
    store = daytime_store()
    email_step(only_automation(store))
    for round_ in range(ROUNDS):
        email = f"cy{round_}@example.com"
        (older,) = abandon(store, when=two_hours_ago(), buyer_email=email)
        (newer,) = abandon(store, when=two_hours_ago() + timedelta(minutes=1), buyer_email=email.upper())
        mail.outbox = []
        together(*(lambda ids=ids: process_batch(ids) for ids in claimed(due_steps(older, newer))))
        old_step, new_step = (
            ScheduledStep.objects.get(abandoned_checkout=older),
            ScheduledStep.objects.get(abandoned_checkout=newer),
        )
        assert (old_step.state, old_step.reason) == (State.SKIPPED, Reason.NEWER_CHECKOUT)
        assert (new_step.state, new_step.activity_type) == (State.DONE, "EMAIL_SENT")
        assert [m.to for m in mail.outbox] == [[email.upper()]]


def night_zone(now: datetime) -> tuple[ZoneInfo, datetime]:
    """A fixed-offset zone where `now` is between 01:00 and 05:59, and 08:00 there next."""
    for offset in range(-12, 15):
        zone = ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")  # POSIX signs: Etc/GMT-2 is UTC+2
        local = now.astimezone(zone)
        if 1 <= local.hour <= 5:
            return zone, local.replace(hour=8, minute=0, second=0, microsecond=0)
    raise AssertionError("every hour of the day has a zone")


def test_quiet_hours_move_due_sends_to_8_in_the_buyers_zone():
    store = StoreFactory()  # the default rules: quiet from 21:00 to 08:00
    email_step(only_automation(store))
    zone, morning = night_zone(timezone.now())
    checkouts = abandon(store, 2 * ROUNDS, when=two_hours_ago(), buyer_time_zone=zone.key)
    batches = claimed(due_steps(*checkouts))
    outcomes = Counter()
    for start in range(0, len(batches), 2):
        for result in together(*(lambda ids=ids: process_batch(ids) for ids in batches[start : start + 2])):
            outcomes.update(result)
    assert outcomes == {"DEFERRED:QUIET_HOURS": 2 * ROUNDS}
    assert mail.outbox == []
    steps = due_steps(*checkouts)
    assert {(s.state, s.attempts, s.due_at) for s in steps} == {(State.PENDING, 0, morning)}


def test_no_text_without_consent_whoever_dispatches():
    store = daytime_store(window_hours=0)
    email_step(only_automation(store), **SMS)
    for consent in (None, {"sms": False}, {"email": True}, {"sms": True}) * (ROUNDS // 4):
        refused, accepted = (
            abandon(store, when=two_hours_ago(), phone="+15555550100", marketing_consent=consent)[0],
            abandon(store, when=two_hours_ago(), phone="+15555550199", marketing_consent={"sms": True})[0],
        )
        sms.outbox.clear()
        outcomes = Counter()
        for result in together(*(lambda ids=ids: process_batch(ids) for ids in claimed(due_steps(refused, accepted)))):
            outcomes.update(result)
        if consent == {"sms": True}:
            assert outcomes == {"NOTIFICATION_SENT": 2}
        else:
            assert outcomes == {"NOTIFICATION_SENT": 1, "AUTOMATION_SKIPPED:NO_CONSENT": 1}
            assert [text.to for text in sms.outbox] == ["+15555550199"]
