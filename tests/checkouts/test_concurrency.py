"""Races on PostgreSQL with real threads released together by a barrier."""

import logging
import random
import threading
import time
import uuid
from collections import Counter

import pytest
import time_machine
from django.db import close_old_connections, connection, transaction
from django.db.backends.signals import connection_created

from checkouts import hooks
from checkouts.models import AbandonedCheckout, Checkout, WebhookEvent
from checkouts.services import abandoned_checkout_recover, abandoned_checkouts_detect, checkout_events_ingest
from config.logs import RequestContextFilter, task_var
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.factories import StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*targets, timeout: float = 60):
    """Start every target in its own thread, release them at once, return their results."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)
    errors: list[BaseException] = []

    def runner(index, target):
        try:
            barrier.wait()
            results[index] = target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not errors, errors
    close_old_connections()
    return results


def test_two_sweeps_at_once_abandon_each_checkout_once():
    store = StoreFactory()
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(300)])

    def sweep():
        with time_machine.travel(at(61), tick=False):
            return abandoned_checkouts_detect(batch_size=40)

    for _ in range(3):
        counts = run_together(sweep, sweep)
        checkout_events_ingest(store=store, events=[updated_event(f"more-{_}-{i}") for i in range(50)])
    assert AbandonedCheckout.objects.count() == 400
    assert WebhookEvent.objects.filter(type="created").count() == 400
    assert sum(counts) <= 50
    assert not Checkout.objects.filter(abandon_due_at__isnull=False, abandoned_at__isnull=False).exists()


def test_one_sweep_in_threads_abandons_each_checkout_once_and_closes_its_connections():
    store = StoreFactory()
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(500)])
    before = _connections_to_this_database()

    with time_machine.travel(at(61), tick=False):
        created = abandoned_checkouts_detect(batch_size=30, threads=3)

    assert created == 500
    assert AbandonedCheckout.objects.values("checkout_id").distinct().count() == 500
    assert WebhookEvent.objects.filter(type="created").count() == 500
    assert not Checkout.objects.filter(abandon_due_at__isnull=False).exists()
    assert _connections_closed_down_to(before)


def test_the_other_threads_take_batches_while_the_first_is_being_written():
    """A full first claim starts the other threads at once: a batch of theirs is written while
    the caller's first batch is still open (it waits for one before it goes on)."""
    store = StoreFactory()
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(100)])
    other_batch = threading.Event()
    waited = []
    caller = threading.current_thread()

    def receiver(sender, abandoned_checkouts, **kwargs):
        if threading.current_thread() is caller:
            if not waited:
                # A safety net, not a measure: without the overlap this would wait for nothing.
                waited.append(other_batch.wait(timeout=30))
        else:
            other_batch.set()
        return []

    hooks.abandoned_checkouts_created.connect(receiver)
    try:
        with time_machine.travel(at(61), tick=False):
            assert abandoned_checkouts_detect(batch_size=20, threads=2) == 100
    finally:
        hooks.abandoned_checkouts_created.disconnect(receiver)
    assert waited == [True]
    assert AbandonedCheckout.objects.values("checkout_id").distinct().count() == 100


def test_the_sweeps_threads_log_under_the_task_that_runs_them(caplog):
    store = StoreFactory()
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(100)])
    # The filter the logging configuration puts on every handler, run as each record is emitted.
    caplog.handler.addFilter(RequestContextFilter())
    token = task_var.set(("task-1", "checkouts.tasks.abandoned_checkouts_detect_task"))
    try:
        with time_machine.travel(at(61), tick=False), caplog.at_level(logging.INFO, logger="checkouts"):
            abandoned_checkouts_detect(batch_size=20, threads=2)
    finally:
        task_var.reset(token)
    batches = [record for record in caplog.records if record.getMessage().startswith("Marked ")]
    assert len({record.threadName for record in batches}) >= 2
    assert {record.task_id for record in batches} == {"task-1"}


def test_a_sweep_with_less_than_a_batch_to_do_opens_no_connection():
    store = StoreFactory()
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(10)])
    opened = []

    def note(sender, connection, **kwargs):
        opened.append(connection)

    connection_created.connect(note)
    try:
        with time_machine.travel(at(61), tick=False):
            assert abandoned_checkouts_detect(batch_size=20, threads=3) == 10
    finally:
        connection_created.disconnect(note)
    assert opened == []


def test_a_sweep_inside_a_transaction_runs_in_it():
    store = StoreFactory()
    with transaction.atomic():
        checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(50)])
        with time_machine.travel(at(61), tick=False):
            # Threads with their own connections would not see these uncommitted checkouts.
            assert abandoned_checkouts_detect(batch_size=20, threads=3) == 50
    assert AbandonedCheckout.objects.count() == 50


def _connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _connections_closed_down_to(count: int) -> bool:
    # A closed connection's backend leaves pg_stat_activity when its process has exited, a
    # moment after the client hung up: a connection still open stays, however long this waits.
    for _ in range(50):
        if _connections_to_this_database() <= count:
            return True
        time.sleep(0.1)
    return False


def test_completion_racing_completion_recovers_once():
    store = StoreFactory()
    for round_ in range(20):
        external = f"co-{round_}"
        checkout_events_ingest(store=store, events=[updated_event(external)])
        with time_machine.travel(at(61), tick=False):
            abandoned_checkouts_detect()
        ac = AbandonedCheckout.objects.get(checkout_external_id=external)
        first = completed_event(external, minutes=70, order_id="a")
        second = completed_event(external, minutes=71, order_id="b")
        run_together(
            lambda e=first: checkout_events_ingest(store=store, events=[e]),
            lambda e=second: checkout_events_ingest(store=store, events=[e]),
            lambda pk=ac.pk: abandoned_checkout_recover(abandoned_checkout_id=pk, order_id="direct"),
        )
        events = Counter(WebhookEvent.objects.filter(entity_id=ac.pk).values_list("type", flat=True))
        assert events == {"created": 1, "recovered": 1, "updated": 1}
        ac.refresh_from_db()
        assert ac.status == AbandonedCheckout.Status.RECOVERED and ac.event_sequence == 3


def test_replayed_shuffled_concurrent_events_leave_the_newest_snapshot():
    store = StoreFactory()
    rnd = random.Random(7)
    events, newest = [], {}
    for index in range(1000):
        external = f"co-{index % 100}"
        minute = rnd.uniform(0, 50)
        event = updated_event(external, minutes=minute, event_id=str(uuid.uuid4()), total=f"{index}.00")
        events.append(event)
        if external not in newest or minute > newest[external][0]:
            newest[external] = (minute, f"{index}.00")
    deliveries = [event for event in events for _ in range(rnd.randint(1, 5))]
    rnd.shuffle(deliveries)
    workers = 8
    chunks = [deliveries[i::workers] for i in range(workers)]
    results = run_together(*[lambda c=chunk: checkout_events_ingest(store=store, events=c) for chunk in chunks])
    assert all(result.success for chunk in results for result in chunk)
    assert Checkout.objects.count() == 100
    for checkout in Checkout.objects.all():
        assert f"{checkout.total:.2f}" == newest[checkout.external_id][1]
