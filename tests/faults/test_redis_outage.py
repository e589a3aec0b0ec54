"""Redis stopped mid-ingest: every request still answers 2xx at once, and the work catches up after.

Everything here is this test's own: a throwaway redis-server on a free port (the broker and
the rate-limit cache), gunicorn serving the app, a worker and a beat on a 2 s clock. The
shared Redis on 6379 is never touched. While Redis is down, storefront events keep
arriving over HTTP: new checkouts (to be abandoned later), updates and completions of
abandoned ones (whose webhook wake-ups must be published from the request, and fail).
"""

import contextlib
import shutil
import time
from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from automations.models import ScheduledStep
from checkouts.models import AbandonedCheckout, Checkout, IngestedEvent, WebhookDelivery
from checkouts.services import api_key_create

from .helpers import completed, figure, idle_event, percentile, post_json
from .services import (
    RedisServer,
    WebServer,
    base_env,
    celery,
    fast_beat,
    live_database_url,
    supervised,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BEFORE = 20  # checkouts abandoned before the outage; updated and completed during it
OUTAGE_SECONDS = 15
REQUESTS_DURING = 30
NEW_PER_REQUEST = 5
MAX_LATENCY = 2.0
CATCH_UP_TIMEOUT = 120


def open_work_is_done() -> bool:
    return (
        not Checkout.objects.filter(abandoned_at__isnull=True, completed_at__isnull=True).exists()
        and not ScheduledStep.objects.filter(
            state__in=[ScheduledStep.State.PENDING, ScheduledStep.State.RUNNING]
        ).exists()
        and not WebhookDelivery.objects.filter(~Q(state=WebhookDelivery.State.SUCCEEDED)).exists()
    )


@pytest.fixture
def redis(tmp_path):
    """This test's own Redis: it is stopped mid-test, so it can never be the shared one."""
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on the PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_ingest_answers_while_redis_is_down_and_everything_catches_up(redis, shop, smtp, receiver, tmp_path):
    env = base_env(
        DATABASE_URL=live_database_url(),
        EMAIL_URL=smtp.url,
        CELERY_BROKER_URL=redis.url,
        CACHE_URL=redis.url.replace("/0", "/1"),  # the rate limits' cache goes down with it
        COMEBACK_INGEST_RATE_LIMIT="100000/minute",
    )
    web = WebServer(env=env, log=tmp_path / "web.log")
    worker = celery("worker", env=env, log=tmp_path / "worker.log")
    beat = fast_beat(env=env, directory=tmp_path)
    _, key = api_key_create(store=shop, name="faults", scopes=["ingest"])
    url = f"{web.url}/api/v1/checkout-events"
    idle_since = lambda: timezone.now() - shop.abandon_after - timedelta(seconds=1)  # noqa: E731
    sent: list[str] = []
    answers: list[tuple[int, float]] = []

    def ingest(*events: dict) -> None:
        status, elapsed, body = post_json(url, {"events": list(events)}, key=key)
        answers.append((status, elapsed))
        assert status == 200, body
        sent.extend(event["eventId"] for event in events)

    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [process.kill() for process in (beat, worker, web)])
        web.start()
        worker.start()
        beat.start()
        # As in production (Restart=always). Celery's Redis transport can still crash a worker
        # that loses its broker while acknowledging a task ("Unrecoverable error:
        # AttributeError: 'NoneType' object has no attribute 'hostname'", a known kombu race);
        # its unit brings it back, and the wake-ups it held are the sweeps' to recreate.
        restarts = stack.enter_context(supervised(worker, beat))
        for i in range(BEFORE):
            ingest(idle_event(f"pre-{i}", since=idle_since()))
        wait_until(
            lambda: AbandonedCheckout.objects.count() == BEFORE and open_work_is_done(),
            timeout=CATCH_UP_TIMEOUT,
            every=0.5,
            what=lambda: "the work before the outage\n" + worker.tail(),
        )
        before = len(answers)

        redis.stop()
        # A steady trickle of storefront traffic through the outage: one request every
        # OUTAGE_SECONDS / REQUESTS_DURING seconds, so the backlog is the same on any machine.
        outage_started = time.monotonic()
        for i in range(REQUESTS_DURING):
            events = [idle_event(f"during-{i}-{n}", since=idle_since()) for n in range(NEW_PER_REQUEST)]
            if i < BEFORE:
                events.append(idle_event(f"pre-{i}", since=timezone.now(), event_id=f"upd2-pre-{i}"))
                events.append(completed(f"pre-{(i + 1) % BEFORE}", at=timezone.now()))
            ingest(*events)
            next_at = outage_started + (i + 1) * OUTAGE_SECONDS / REQUESTS_DURING
            time.sleep(max(0.0, next_at - time.monotonic()))
        during = answers[before:]

        redis.start()  # the same port, empty: every message queued before the outage is gone
        # The first abandonment after the restart: the worker and beat have reconnected.
        resumed = wait_until(
            lambda: AbandonedCheckout.objects.count() > BEFORE,
            timeout=CATCH_UP_TIMEOUT,
            every=0.1,
            what=lambda: "resumption\n" + worker.tail(),
        )
        caught_up = resumed + wait_until(
            open_work_is_done, timeout=CATCH_UP_TIMEOUT, every=0.25, what=lambda: "the catch-up\n" + worker.tail()
        )

    # Every request answered 2xx, fast, Redis or not; every event is stored.
    assert {status for status, _ in answers} == {200}
    latencies = [elapsed for _, elapsed in during]
    assert max(latencies) < MAX_LATENCY, sorted(latencies)[-5:]
    assert set(IngestedEvent.objects.values_list("event_id", flat=True)) == set(sent)
    # The request path did try to publish (and to rate-limit), failed, logged and carried on.
    log = (tmp_path / "web.log").read_text()
    assert "Could not publish" in log
    assert "Rate-limit cache unavailable" in log
    assert "Internal Server Error" not in log

    # The work caught up: every idle checkout abandoned once, every step resolved, every delivery sent.
    assert Checkout.objects.count() == BEFORE + NEW_PER_REQUEST * REQUESTS_DURING
    assert not Checkout.objects.filter(abandoned_at__isnull=True).exists()
    assert AbandonedCheckout.objects.count() == Checkout.objects.count()
    assert AbandonedCheckout.objects.values("checkout_id").distinct().count() == Checkout.objects.count()
    assert AbandonedCheckout.objects.filter(status="RECOVERED").count() == min(REQUESTS_DURING, BEFORE)
    received = {request.headers["webhook-id"] for request in receiver.received}
    assert received == {str(pk) for pk in WebhookDelivery.objects.values_list("event_id", flat=True)}
    figure(
        "Redis stopped",
        events=f"{len(sent)} ({REQUESTS_DURING} requests during a {OUTAGE_SECONDS} s outage)",
        non_2xx=0,
        max_latency=f"{max(latencies) * 1000:.0f} ms (p50 {percentile(latencies, 0.5) * 1000:.0f} ms)",
        lost=0,
        work_resumed=f"{resumed:.1f} s",
        restarted=", ".join(restarts) or "nothing",
        caught_up=f"{caught_up:.1f} s after Redis restarted",
    )
