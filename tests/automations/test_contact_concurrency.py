"""The frequency cap under real concurrency on PostgreSQL: two dispatchers, or a dispatcher and
a click, each holding a different checkout of the same buyer, write to that buyer once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from automations.dispatcher import claim_due_steps
from automations.dispatcher.batch import process_batch
from automations.models import ContactLedger, ContactPolicy, ScheduledStep, buyer_key
from automations.services.manual import recovery_email_send
from tests.automations.helpers import abandon, email_step, only_automation
from tests.checkouts.test_concurrency import run_together
from tests.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20


def _store():
    store = StoreFactory()
    # The clock is the real one here: the buyer's night must not hold the sends back.
    ContactPolicy.objects.create(store=store, quiet_hours=False)
    return store


def _twin_checkouts(store, email: str):
    """Two checkouts of one buyer abandoned at the same moment: neither is the newer, so only
    the contact ledger stands between them."""
    when = timezone.now() - timedelta(hours=2)
    # Contacted once, days ago: the ledger row exists, so only its row lock (not the unique
    # index an INSERT would wait on) keeps the two apart.
    ContactLedger.objects.create(
        store=store, buyer_key=buyer_key(email=email, phone=""), last_contacted_at=when - timedelta(days=3)
    )
    return abandon(store, 2, when=when, buyer_email=email)


def test_two_dispatchers_with_one_buyers_two_checkouts_send_once():
    store = _store()
    email_step(only_automation(store))
    outcomes = Counter()
    for round_ in range(ROUNDS):
        first, second = _twin_checkouts(store, f"ada{round_}@example.com")
        batches = [
            [ScheduledStep.objects.get(abandoned_checkout=ac).pk] for ac in (first, second)
        ]  # one step each, claimed as two workers would
        ScheduledStep.objects.filter(pk__in=[b[0] for b in batches]).update(
            state=ScheduledStep.State.RUNNING, attempts=1, locked_until=timezone.now() + timedelta(minutes=5)
        )
        for result in run_together(*(lambda ids=ids: process_batch(ids) for ids in batches)):
            outcomes.update(result)
    assert outcomes == {"EMAIL_SENT": ROUNDS, "AUTOMATION_SKIPPED:RECENTLY_CONTACTED": ROUNDS}
    assert len(mail.outbox) == ROUNDS


def test_a_click_racing_a_due_step_of_the_buyers_other_checkout_sends_once():
    store = _store()
    email_step(only_automation(store))
    user = UserFactory()
    results = Counter()
    for round_ in range(ROUNDS):
        _first, second = _twin_checkouts(store, f"bob{round_}@example.com")
        ScheduledStep.objects.filter(abandoned_checkout=second).delete()
        ids = claim_due_steps(now=timezone.now(), batch_size=10)
        assert len(ids) == 1
        dispatched, clicked = run_together(
            lambda ids=ids: process_batch(ids),
            lambda pk=second.pk: recovery_email_send(store=store, abandoned_checkout_id=pk, user=user),
        )
        results.update(dispatched)
        results[f"manual:{clicked.result}"] += 1
    assert len(mail.outbox) == ROUNDS
    assert results["EMAIL_SENT"] + results["manual:SENT"] == ROUNDS
    assert results["AUTOMATION_SKIPPED:RECENTLY_CONTACTED"] + results["manual:GUARDED"] == ROUNDS
