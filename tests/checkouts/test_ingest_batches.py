"""Ingest a batch at a time: the same outcomes as one event at a time, in a constant number of statements."""

import contextlib
import random
import re
import threading
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from checkouts.models import AbandonedCheckout, Checkout, IngestedEvent, Store, WebhookEvent
from checkouts.services import IngestOutcome, abandoned_checkouts_detect, checkout_events_ingest
from checkouts.services.ingest import body_hash, legacy_body_hash
from checkouts.services.ingest_writes import checkouts_lock
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.checkouts.test_concurrency import run_together
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def ingest(store, *events):
    return checkout_events_ingest(store=store, events=list(events))


def statements(store, events) -> int:
    with CaptureQueriesContext(connection) as captured:
        results = checkout_events_ingest(store=store, events=events)
    assert all(result.success for result in results), results
    # The test's own transaction makes the batch's a savepoint; in a request it is BEGIN/COMMIT.
    return sum(1 for query in captured if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))


def test_a_batch_of_updates_takes_the_same_statements_whatever_its_size(store):
    small = statements(store, [updated_event(f"small-{i}") for i in range(10)])
    large = statements(store, [updated_event(f"large-{i}") for i in range(500)])
    again = statements(store, [updated_event(f"large-{i}", minutes=5) for i in range(500)])
    # claim the ids (each with the outcome it gets: APPLIED), lock the checkouts, upsert them
    assert small == large == again == 3
    assert Checkout.objects.count() == 510
    # Stale ones: claim, lock, correct their outcomes to STALE (nothing to upsert)
    small = statements(store, [updated_event(f"small-{i}", minutes=-1) for i in range(10)])
    large = statements(store, [updated_event(f"large-{i}", minutes=-1) for i in range(500)])
    assert small == large == 3
    assert Counter(IngestedEvent.objects.values_list("outcome", flat=True)) == {"APPLIED": 1010, "STALE": 510}


def test_a_batch_of_replays_and_completions_takes_the_same_statements_whatever_its_size(store):
    def batch(prefix, size):
        events = [updated_event(f"{prefix}-{i}") for i in range(size)]
        checkout_events_ingest(store=store, events=events)
        return [*events, *(completed_event(f"{prefix}-{i}", minutes=5) for i in range(size))]

    small, large = batch("small", 5), batch("large", 300)
    # + read the replays, + look for abandoned checkouts the completions recover (each completion
    # gets the outcome it was claimed with, COMPLETED: nothing to correct)
    assert statements(store, small) == statements(store, large) == 5
    assert Counter(IngestedEvent.objects.values_list("outcome", flat=True)) == {"APPLIED": 305, "COMPLETED": 305}
    assert Checkout.objects.filter(completed_at=at(5)).count() == 305


def test_refreshing_abandoned_checkouts_takes_the_same_statements_whatever_their_number(store):
    checkout_events_ingest(store=store, events=[updated_event(f"co-{i}") for i in range(40)])
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    small = statements(store, [updated_event(f"co-{i}", minutes=62, total="5.00") for i in range(2)])
    large = statements(store, [updated_event(f"co-{i}", minutes=62, total="7.00") for i in range(2, 40)])
    assert small == large
    assert AbandonedCheckout.objects.filter(total=Decimal(5)).count() == 2
    assert AbandonedCheckout.objects.filter(total=Decimal(7), event_sequence=2).count() == 38
    assert WebhookEvent.objects.filter(type="updated").count() == 40


def test_events_of_one_checkout_in_one_batch_get_the_outcomes_they_would_get_one_by_one(store):
    results = ingest(
        store,
        updated_event("co-1", minutes=1, total="10"),
        updated_event("co-1", minutes=3, total="30"),
        updated_event("co-1", minutes=2, total="20"),
        completed_event("co-1", minutes=4),
        updated_event("co-1", minutes=5, total="50"),
    )
    assert [result.outcome for result in results] == [
        IngestOutcome.APPLIED,
        IngestOutcome.APPLIED,
        IngestOutcome.STALE,
        IngestOutcome.COMPLETED,
        IngestOutcome.ALREADY_COMPLETED,
    ]
    checkout = Checkout.objects.get()
    assert checkout.total == Decimal(30) and checkout.completed_at == at(4) and checkout.abandon_due_at is None
    # What CheckoutData.save would have derived: the order id is searchable.
    assert checkout.email_key == "ada@example.com" and " order" in checkout.search_text
    stored = Counter(IngestedEvent.objects.values_list("outcome", flat=True))
    assert stored == {"APPLIED": 2, "STALE": 1, "COMPLETED": 1, "ALREADY_COMPLETED": 1}


def test_an_event_id_twice_in_one_batch_is_a_replay_or_a_reuse(store):
    event = updated_event("co-1", event_id="evt-1")
    results = ingest(store, event, event, updated_event("co-1", event_id="evt-1", total="1"))
    assert [(result.success, result.outcome, result.error_code) for result in results] == [
        (True, IngestOutcome.APPLIED, None),
        (True, IngestOutcome.APPLIED, None),
        (False, None, "EVENT_ID_REUSED"),
    ]
    assert IngestedEvent.objects.get().outcome == IngestOutcome.APPLIED
    assert Checkout.objects.get().total == Decimal(120)


def test_an_event_stored_with_a_json_dumps_digest_is_still_a_replay_or_a_reuse(store):
    """Digests stored before orjson wrote them (no "o:" prefix) are compared the old way."""
    event = updated_event("co-1", event_id="evt-1", buyerTimeZone="Europe/Zürich")
    ingest(store, event)
    stored = IngestedEvent.objects.get()
    assert stored.body_hash.startswith("o:") and stored.body_hash != legacy_body_hash(event)
    IngestedEvent.objects.update(body_hash=legacy_body_hash(event))

    same, other = ingest(store, event, updated_event("co-1", event_id="evt-1", total="1"))

    assert (same.success, same.outcome) == (True, IngestOutcome.APPLIED)
    assert (other.success, other.error_code) == (False, "EVENT_ID_REUSED")


def test_a_body_orjson_cannot_write_gets_json_dumps_digest_and_replays(store):
    event = {**updated_event("co-1", event_id="evt-1"), "extra": 2**70}  # past 64 bits
    assert body_hash(event) == legacy_body_hash(event)
    ingest(store, event)
    [again] = ingest(store, event)
    assert (again.success, again.outcome) == (True, IngestOutcome.APPLIED)


def test_a_completion_in_a_batch_recovers_once_and_reports_it(store):
    checkout_events_ingest(store=store, events=[updated_event("co-1"), updated_event("co-2")])
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    results = ingest(store, completed_event("co-1", minutes=70), completed_event("co-2", minutes=71, order_id="o-2"))
    recovered = {ac.checkout_external_id: ac for ac in AbandonedCheckout.objects.all()}
    assert [result.recovered for result in results] == [[str(recovered["co-1"].pk)], [str(recovered["co-2"].pk)]]
    assert {ac.status for ac in recovered.values()} == {AbandonedCheckout.Status.RECOVERED}
    assert recovered["co-2"].recovered_order_id == "o-2"
    assert Counter(WebhookEvent.objects.values_list("type", flat=True)) == {"created": 2, "recovered": 2, "updated": 2}


def test_any_order_recovery_in_a_batch_goes_to_the_first_matching_order(store):
    store.recovery_rule = Store.RecoveryRule.ANY_ORDER_WITHIN_DAYS
    store.save()
    checkout_events_ingest(store=store, events=[updated_event("co-1", email="Ada@example.com")])
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    results = ingest(
        store,
        updated_event("other-1", minutes=62, email="ada@example.com"),
        completed_event("other-1", minutes=63, order_id="first"),
        updated_event("other-2", minutes=62, email="ada@example.com"),
        completed_event("other-2", minutes=64, order_id="second"),
    )
    ac = AbandonedCheckout.objects.get()
    assert ac.status == AbandonedCheckout.Status.RECOVERED and ac.recovered_order_id == "first"
    assert [result.recovered for result in results] == [[], [str(ac.pk)], [], []]


def test_each_store_sees_only_its_own_checkouts_in_a_batch(store, other_store):
    ingest(other_store, updated_event("co-1", total="99"))
    ingest(store, updated_event("co-1", minutes=5, total="1"), completed_event("co-1", minutes=6))
    assert Checkout.objects.get(store=other_store).total == Decimal(99)
    assert Checkout.objects.get(store=other_store).completed_at is None


@pytest.mark.django_db(transaction=True)
def test_1000_events_replayed_and_shuffled_across_4_threads_leave_one_row_per_checkout_with_the_newest():
    store = StoreFactory()
    rnd = random.Random(17)
    events, newest = [], {}
    for index in range(1000):
        external = f"co-{index % 150}"
        minute = rnd.uniform(0, 50)
        if index % 7 == 0:
            event = completed_event(external, minutes=minute, event_id=str(uuid.uuid4()), order_id=f"o-{index}")
        else:
            event = updated_event(external, minutes=minute, event_id=str(uuid.uuid4()), total=f"{index}.00")
        events.append(event)
        if event["type"] == "checkout.updated":
            newest.setdefault(external, []).append((minute, event["eventId"], f"{index}.00"))
        else:
            newest.setdefault(external, []).append((minute, event["eventId"], None))
    deliveries = [event for event in events for _ in range(rnd.randint(1, 5))]
    rnd.shuffle(deliveries)
    chunks = [deliveries[start : start + 100] for start in range(0, len(deliveries), 100)]
    queues = [chunks[i::4] for i in range(4)]

    # SQLite has one writer at a time: on a file database IMMEDIATE transactions queue up behind
    # the busy timeout, but the suite's shared in-memory database answers "table is locked"
    # instead, so there the threads take turns batch by batch, as they would on a file.
    turns = threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()

    def worker(queue):
        results = []
        for chunk in queue:
            with turns:
                results.extend(checkout_events_ingest(store=store, events=chunk))
        return results

    results = run_together(*[lambda q=queue: worker(q) for queue in queues], timeout=120)
    assert all(result.success for batch in results for result in batch)
    assert Checkout.objects.count() == 150 and IngestedEvent.objects.count() == 1000
    for checkout in Checkout.objects.all():
        history = newest[checkout.external_id]
        completions = [entry for entry in history if entry[2] is None]
        if completions:
            # Completed by its first-applied completion; never reopened, whatever came after.
            assert checkout.completed_at is not None and checkout.abandon_due_at is None
            continue
        minute, event_id, total = max(history)
        assert (f"{checkout.total:.2f}", checkout.snapshot_event_id) == (total, event_id)
    # Each completed checkout was completed by exactly one event, however often it was delivered.
    completed = {event["checkout"]["id"] for event in events if event["type"] == "checkout.completed"}
    assert IngestedEvent.objects.filter(outcome=IngestOutcome.COMPLETED).count() == len(completed)
    assert Checkout.objects.filter(completed_at__isnull=False).count() == len(completed)


def test_recording_a_batch_s_outcomes_stays_on_the_event_rows_pages(store):
    """The outcome update of every claimed event is heap-only (HOT): no new index entries
    (the table keeps half its pages free, migration 0027)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's storage")
    ingest(store, *(updated_event(f"co-{i}", minutes=5) for i in range(200)))
    # Older snapshots: claimed as APPLIED, then corrected to STALE.
    results = ingest(store, *(updated_event(f"co-{i}", minutes=1) for i in range(200)))
    assert {result.outcome for result in results} == {IngestOutcome.STALE}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s",
            [IngestedEvent._meta.db_table],
        )
        updated, hot = cursor.fetchone()
    # Every outcome update is HOT (the count is PostgreSQL's for this transaction, which may include
    # a retried claim or two: what matters is that none of them added index entries).
    assert updated >= 200 and hot == updated


def test_a_batch_finds_its_rows_through_the_unique_indexes_whatever_the_statistics(store):
    """A store the statistics have never seen (a new one, filling faster than autovacuum analyses
    it) looks tiny to the planner: `store_id = … AND external_id IN (…)`, or even a probe by both
    with the store's id as a constant, may then go by another index on store_id and read every
    row of the store on each batch. The lock and the replays' read probe the unique indexes."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    ingest(StoreFactory(), *(updated_event(f"other-{i}") for i in range(300)))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE checkouts_checkout, checkouts_ingestedevent")  # statistics without `store`
    events = [updated_event(f"co-{i}") for i in range(300)]
    ingest(store, *events)
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        results = ingest(store, *(updated_event(f"co-{i}", minutes=5) for i in range(300)), *events)
    assert [result.outcome for result in results] == [IngestOutcome.APPLIED] * 300 + [IngestOutcome.APPLIED] * 300
    probes = {
        "checkout_unique_external_id": "checkouts_checkout",
        "ingested_event_unique_per_store": "checkouts_ingestedevent",
    }
    for index, table in probes.items():
        [(probe, params)] = [(sql, params) for sql, params in captured if "LATERAL" in sql and f'FROM "{table}"' in sql]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {probe}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # Only the unique index reaches the table (an Index Scan, or a Bitmap Index Scan of it).
        assert set(re.findall(r"Index Scan (?:using|on) (\w+)", plan)) == {index}, plan
        assert f"Seq Scan on {table}" not in plan, plan


def test_the_lock_reads_checkouts_as_the_orm_does(store):
    """`checkouts_lock` builds the locked checkouts itself on PostgreSQL (its own statement, the
    fields' converters, `from_db`); on SQLite it is the ORM's select_for_update. Either way each
    checkout holds exactly what the ORM reads: every field's value and type (JSON, decimals,
    nulls, time zones), a saved instance of this database."""
    ingest(
        store,
        updated_event("co-1", total="12.34", marketingConsent={"email": True}, buyerTimeZone="Europe/Zürich"),
        updated_event(
            "co-2",
            minutes=2,
            email="Zoë@example.com",
            contactDetails={"company": "Äcme", "vatId": {"id": "1", "type": "CPF"}},
        ),
        completed_event("co-2", minutes=3, order_id="o-2"),
    )
    with transaction.atomic():
        locked = checkouts_lock(store=store, external_ids=["co-2", "co-1", "absent"])
    assert sorted(locked) == ["co-1", "co-2"]
    for external_id, checkout in locked.items():
        expected = Checkout.objects.get(store=store, external_id=external_id)
        for field in Checkout._meta.concrete_fields:
            ours, theirs = getattr(checkout, field.attname), getattr(expected, field.attname)
            assert (ours, type(ours)) == (theirs, type(theirs)), field.name
            if isinstance(theirs, datetime):
                assert ours.utcoffset() == theirs.utcoffset(), field.name
        assert not checkout._state.adding and checkout._state.db == expected._state.db
