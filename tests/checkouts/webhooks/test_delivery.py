"""Deliveries against a real HTTP receiver on loopback: order, retries, schedule, leases, disabling."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from checkouts.services import (
    abandoned_checkout_delete,
    abandoned_checkouts_detect,
    checkout_events_ingest,
    webhook_event_build,
    webhook_events_record,
)
from checkouts.webhooks import http
from checkouts.webhooks.attempts import MAX_ATTEMPTS, RETRY_DELAYS, webhook_delivery_attempt
from checkouts.webhooks.delivery import webhook_deliveries_claim_due
from checkouts.webhooks.services import webhook_endpoint_create
from checkouts.webhooks.tasks import webhook_delivery_send_task
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.factories import StoreFactory

from .conftest import ALL_EVENTS
from .helpers import abandoned, body, delivery_for, record, sweep, verified, verified_on_arrival
from .receiver import Receiver, Reply

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State


def test_each_event_fans_out_to_every_subscribed_active_endpoint_of_its_store(store, other_store, endpoint):
    only_recovered = webhook_endpoint_create(
        store=store, url=endpoint.url, event_types=["recovered"], format="standard"
    )
    paused = webhook_endpoint_create(store=store, url=endpoint.url, event_types=ALL_EVENTS, format="standard")
    paused.active = False
    paused.save()
    elsewhere = webhook_endpoint_create(store=other_store, url=endpoint.url, event_types=ALL_EVENTS, format="standard")

    events = [record(abandoned(store)) for _ in range(5)]

    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 5
    for quiet in (only_recovered, paused, elsewhere):
        assert not WebhookDelivery.objects.filter(endpoint=quiet).exists()
    delivery = delivery_for(events[0])
    assert (delivery.state, delivery.attempts, delivery.sequence) == (State.PENDING, 0, 1)
    assert delivery.next_attempt_at == events[0].created_at


def test_fan_out_is_set_based_whatever_the_batch_size(store, endpoint):
    def queries_for(count: int) -> tuple[int, int]:
        checkouts = [abandoned(store) for _ in range(count)]
        events = [
            webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1, activities=[]) for ac in checkouts
        ]
        with CaptureQueriesContext(connection) as captured:
            webhook_events_record(events)
        endpoint_reads = [q for q in captured.captured_queries if 'FROM "checkouts_webhookendpoint"' in q["sql"]]
        return len(captured.captured_queries), len(endpoint_reads)

    # Events, one endpoint read, deliveries (COPY on PostgreSQL is not a captured query).
    small, large = queries_for(3), queries_for(40)
    assert small[1] == large[1] == 1
    assert small[0] <= 3 and large[0] <= 3
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 43


def test_a_sweep_sized_batch_is_written_whole_and_wakes_the_dispatcher(
    store, endpoint, receiver, django_capture_on_commit_callbacks
):
    """Big batches go through COPY on PostgreSQL: the rows must be exactly what bulk_create writes."""
    checkouts = [abandoned(store) for _ in range(300)]
    events = [webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1, activities=[]) for ac in checkouts]
    with django_capture_on_commit_callbacks(execute=True):
        webhook_events_record(events)

    stored = {event.pk: event for event in WebhookEvent.objects.filter(pk__in=[e.pk for e in events])}
    assert all(stored[e.pk].payload == e.payload and stored[e.pk].created_at == e.created_at for e in events)
    assert WebhookDelivery.objects.filter(endpoint=endpoint, state=State.SUCCEEDED, attempts=1).count() == 300
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(str(e.pk) for e in events)


def test_a_checkouts_whole_life_arrives_in_order_and_signed(
    store, endpoint, receiver, django_capture_on_commit_callbacks
):
    # Each service commits; its on-commit wake-up runs the (eager) send task right away.
    with time_machine.travel(at(0), tick=False):
        checkout_events_ingest(store=store, events=[updated_event("co-1")])
    with time_machine.travel(at(61), tick=False), django_capture_on_commit_callbacks(execute=True):
        abandoned_checkouts_detect()
    with time_machine.travel(at(62), tick=False), django_capture_on_commit_callbacks(execute=True):
        checkout_events_ingest(store=store, events=[updated_event("co-1", minutes=62, total="150.00")])
    with time_machine.travel(at(70), tick=False), django_capture_on_commit_callbacks(execute=True):
        checkout_events_ingest(store=store, events=[completed_event("co-1", minutes=70)])
    ac_id = WebhookDelivery.objects.values_list("entity_id", flat=True).first()
    with time_machine.travel(at(80), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert abandoned_checkout_delete(abandoned_checkout_id=ac_id, store=store)

    payloads = [verified_on_arrival(endpoint.secret, request) for request in receiver.received]
    assert [p["slug"] for p in payloads] == ["created", "updated", "recovered", "updated", "deleted"]
    assert [p["entityEventSequence"] for p in payloads] == ["1", "2", "3", "4", "5"]
    assert [r.headers["webhook-id"] for r in receiver.received] == [p["id"] for p in payloads]
    assert payloads[1]["updatedEvent"]["currentEntity"]["totalPrice"]["amount"] == "150"
    assert payloads[2]["actionEvent"]["body"]["abandonedCheckout"]["status"] == "RECOVERED"
    assert payloads[4]["deletedEvent"]["deletedEntity"]["id"] == str(ac_id)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {State.SUCCEEDED}


def test_a_receiver_failing_three_times_gets_the_event_four_times_with_one_webhook_id(store, endpoint, receiver):
    receiver.reply(Reply(500), Reply(503), Reply(500))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = record(abandoned(store))
        sweep()
    delivery = delivery_for(event)
    while delivery.state == State.PENDING:
        with time_machine.travel(delivery.next_attempt_at, tick=False):
            sweep()
            verified(endpoint.secret, receiver.received[-1])
        delivery.refresh_from_db()

    assert delivery.state == State.SUCCEEDED and delivery.attempts == 4
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event.pk)] * 4
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 4
    assert len({r.body for r in receiver.received}) == 1


def test_the_whole_retry_schedule_with_jitter_then_failed(store, endpoint, receiver):
    receiver.default = Reply(500, body=b"down")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        event = record(abandoned(store))
        sweep()
    delivery = delivery_for(event)
    attempted_at = [start]
    while delivery.state == State.PENDING:
        due = delivery.next_attempt_at
        with time_machine.travel(due - timedelta(seconds=1), tick=False):
            assert sweep() == 0  # never early
        with time_machine.travel(due, tick=False):
            assert sweep() == 1
        attempted_at.append(due)
        delivery.refresh_from_db()

    gaps = [later - earlier for earlier, later in itertools.pairwise(attempted_at)]
    assert len(receiver.received) == MAX_ATTEMPTS == 8
    assert len(gaps) == len(RETRY_DELAYS)
    for gap, step in zip(gaps, RETRY_DELAYS, strict=True):
        assert step * 0.8 - timedelta(seconds=1) <= gap <= step * 1.2 + timedelta(seconds=1)
    assert delivery.state == State.FAILED and delivery.next_attempt_at is None
    assert delivery.last_status_code == 500 and delivery.last_response == "down"


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("3600", timedelta(hours=1)),
        ("Sat, 28 Nov 2026 12:00:00 GMT", timedelta(hours=2)),
        (str(10 * 86400), RETRY_DELAYS[-1]),  # capped at the schedule's longest step
    ],
)
def test_retry_after_is_honoured_up_to_a_cap(store, endpoint, receiver, retry_after, expected):
    receiver.reply(Reply(429, {"Retry-After": retry_after}))
    with time_machine.travel(at(0), tick=False):
        event = record(abandoned(store))
        sweep()
    delivery = delivery_for(event)
    assert delivery.state == State.PENDING and delivery.last_status_code == 429
    assert delivery.next_attempt_at - at(0) == expected


def test_410_gone_disables_the_endpoint_after_one_attempt(store, endpoint, receiver):
    receiver.reply(Reply(410))
    gone = record(abandoned(store))
    waiting = record(abandoned(store))
    assert webhook_delivery_attempt(delivery_id=delivery_for(gone).pk) == State.FAILED

    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason == WebhookEndpoint.DisabledReason.GONE
    assert delivery_for(waiting).state == State.CANCELLED
    assert sweep() == 0 and len(receiver.received) == 1
    record(abandoned(store))
    assert WebhookDelivery.objects.count() == 2  # a disabled endpoint gets no new deliveries


def test_an_endpoint_failing_everything_for_three_days_is_disabled(
    store, endpoint, receiver, owner, mailoutbox, django_capture_on_commit_callbacks
):
    receiver.default = Reply(500)
    start = at(0)
    for hours in (0, 24, 48, 71):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            webhook_delivery_attempt(delivery_id=delivery_for(record(abandoned(store))).pk)
        endpoint.refresh_from_db()
        assert endpoint.active and endpoint.failing_since == start

    with time_machine.travel(start + timedelta(hours=72), tick=False), django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_attempt(delivery_id=delivery_for(record(abandoned(store))).pk)
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason == WebhookEndpoint.DisabledReason.FAILING
    assert not WebhookDelivery.objects.filter(state=State.PENDING).exists()
    (mail,) = mailoutbox
    assert mail.to == [owner.email] and endpoint.url in mail.body and "3 days" in mail.body


def test_one_success_resets_the_three_day_clock(store, endpoint, receiver):
    receiver.reply(Reply(500), Reply(200))
    with time_machine.travel(at(0), tick=False):
        webhook_delivery_attempt(delivery_id=delivery_for(record(abandoned(store))).pk)
    with time_machine.travel(at(60 * 48), tick=False):
        webhook_delivery_attempt(delivery_id=delivery_for(record(abandoned(store))).pk)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None


def test_a_redirect_is_a_failure_and_is_not_followed(store, endpoint, receiver):
    with Receiver() as elsewhere:
        receiver.reply(Reply(302, {"Location": elsewhere.url}), Reply(307, {"Location": "http://169.254.169.254/"}))
        first, second = record(abandoned(store)), record(abandoned(store))
        webhook_delivery_attempt(delivery_id=delivery_for(first).pk)
        webhook_delivery_attempt(delivery_id=delivery_for(second).pk)
        assert elsewhere.received == []
    assert len(receiver.received) == 2
    for event, status in ((first, 302), (second, 307)):
        delivery = delivery_for(event)
        assert delivery.state == State.PENDING and delivery.last_status_code == status
        assert "redirects are not followed" in delivery.last_error


def test_only_64_kb_of_the_answer_is_read_and_1_kb_kept(store, endpoint, receiver):
    receiver.reply(Reply(200, body=b"x" * (5 * 1024 * 1024)))
    event = record(abandoned(store))
    started = timezone.now()
    assert webhook_delivery_attempt(delivery_id=delivery_for(event).pk) == State.SUCCEEDED
    delivery = delivery_for(event)
    assert delivery.last_response == "x" * 1024
    assert (timezone.now() - started).total_seconds() < 5


def test_an_attempt_never_outlasts_the_total_timeout(store, endpoint, monkeypatch):
    """A server that accepts but never answers: the deadline ends the attempt (shortened to 1 s here)."""
    import socket
    import time

    monkeypatch.setattr(http, "TOTAL_TIMEOUT", 1.0)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        endpoint.url = f"http://127.0.0.1:{silent.getsockname()[1]}/hooks"
        endpoint.save()
        event = record(abandoned(store))
        started = time.monotonic()
        assert webhook_delivery_attempt(delivery_id=delivery_for(event).pk) == State.PENDING
        assert time.monotonic() - started < 2.5
    assert "Timed out" in delivery_for(event).last_error


def test_a_claim_whose_worker_died_is_claimed_again_after_its_lease(store, endpoint, receiver, settings):
    settings.COMEBACK_WEBHOOK_LEASE_SECONDS = 60
    with time_machine.travel(at(0), tick=False):
        event = record(abandoned(store))
        ((delivery_id, lost_token),) = webhook_deliveries_claim_due(limit=10)  # the message is then lost
        assert sweep() == 0
    with time_machine.travel(at(0.9), tick=False):
        assert sweep() == 0  # the lease still holds
    with time_machine.travel(at(1.1), tick=False):
        assert sweep() == 1
        # The lost message turns up late: its token no longer holds the claim.
        assert webhook_delivery_send_task(delivery_id, str(lost_token)) is None
    assert len(receiver.received) == 1
    assert delivery_for(event).state == State.SUCCEEDED


def test_a_wake_up_that_never_came_is_picked_up_by_the_sweeper(store, endpoint, receiver):
    # In this test transaction on-commit wake-ups never run: exactly a lost message.
    events = [record(abandoned(store)) for _ in range(3)]
    assert receiver.received == []
    assert sweep() == 3
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(str(e.pk) for e in events)


def test_later_events_wait_for_an_earlier_one_until_it_first_fails(store, endpoint, receiver):
    ac = abandoned(store)
    first, second, third = record(ac, "created", 1), record(ac, "updated", 2), record(ac, "updated", 3)
    assert webhook_delivery_attempt(delivery_id=delivery_for(second).pk) is None  # #1 not yet tried
    receiver.reply(Reply(500))
    assert sweep() == 1  # only #1 is claimable
    assert [body(r)["entityEventSequence"] for r in receiver.received] == ["1"]
    # #1 failed once: #2 may go now (and, once it succeeds, #3), without waiting for #1's retry.
    assert sweep() == 1
    assert sweep() == 1
    assert [body(r)["entityEventSequence"] for r in receiver.received] == ["1", "2", "3"]
    with time_machine.travel(delivery_for(first).next_attempt_at, tick=False):
        sweep()
    assert [body(r)["entityEventSequence"] for r in receiver.received] == ["1", "2", "3", "1"]
    assert {delivery_for(e).state for e in (first, second, third)} == {State.SUCCEEDED}


def test_a_disabled_endpoints_claimed_delivery_is_cancelled_not_sent(store, endpoint, receiver):
    event = record(abandoned(store))
    ((delivery_id, token),) = webhook_deliveries_claim_due(limit=10)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    assert webhook_delivery_send_task(delivery_id, str(token)) == State.CANCELLED
    assert receiver.received == [] and delivery_for(event).state == State.CANCELLED


def test_the_connect_time_guard_refuses_what_the_settings_forbid(store, endpoint, receiver, settings):
    event = record(abandoned(store))
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = False
    assert webhook_delivery_attempt(delivery_id=delivery_for(event).pk) == State.PENDING
    assert receiver.received == []
    assert "loopback" in delivery_for(event).last_error


def test_events_of_other_stores_endpoints_are_kept_apart(endpoint, receiver):
    stranger = StoreFactory()
    record(abandoned(stranger))
    assert sweep() == 0 and receiver.received == []


def test_a_group_reuses_its_connection_yet_checks_every_attempt(store, endpoint, receiver, monkeypatch):
    from checkouts.webhooks import ssrf
    from checkouts.webhooks.attempts import webhook_deliveries_attempt

    answers = iter([["127.0.0.1"], ["127.0.0.1"], ["10.0.0.1"]])
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: next(answers))
    endpoint.url = receiver.url.replace("127.0.0.1", "hooks.example.test")
    endpoint.save()
    events = [record(abandoned(store)) for _ in range(3)]
    claims = sorted(webhook_deliveries_claim_due(limit=10))

    assert webhook_deliveries_attempt(claims=claims) == 3
    assert len(receiver.received) == 2 and receiver.received[0].client == receiver.received[1].client
    states = [delivery_for(event).state for event in events]
    assert states == [State.SUCCEEDED, State.SUCCEEDED, State.PENDING]
    assert "private network" in delivery_for(events[2]).last_error
