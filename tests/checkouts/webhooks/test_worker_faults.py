"""At least once through worker crashes: a real Celery worker on Redis is SIGKILLed again and again.

1,000 deliveries are pending for a loopback receiver while `celery -A config worker` (its own
process group, started and killed by this test only) is killed every few seconds and
restarted. Afterwards every event has arrived at least once with a valid signature, no
delivery is left pending or in flight, and the duplicates are reported.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import Count
from standardwebhooks import Webhook

from checkouts.models import WebhookDelivery, WebhookEndpoint
from checkouts.services import webhook_event_build, webhook_events_record
from checkouts.webhooks.services import webhook_endpoint_create
from checkouts.webhooks.tasks import webhook_deliveries_dispatch_task
from tests.factories import AbandonedCheckoutFactory, StoreFactory

from .receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = 1000
KILLS = 10
LEASE_SECONDS = 8
DRAIN_TIMEOUT = 150
ROOT = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery -A config worker` in its own session, so one killpg stops it and its pool children."""

    def __init__(self, log: Path):
        self.log = log
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "COMEBACK_WEBHOOK_ALLOW_LOOPBACK": "true",
            "COMEBACK_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        }

    def start(self) -> None:
        celery = Path(sys.executable).with_name("celery")
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    *(str(celery), "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def test_killing_the_worker_repeatedly_loses_nothing(broker, tmp_path, settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    store = StoreFactory()
    # 50 ms per request: with 2 worker processes the 1,000 deliveries span the whole kill phase,
    # so kills land mid-request, mid-claim and mid-queue.
    receiver = Receiver(delay=0.05)
    with receiver:
        endpoint = webhook_endpoint_create(
            store=store, url=receiver.url, event_types=["created"], format=WebhookEndpoint.Format.STANDARD
        )
        checkouts = AbandonedCheckoutFactory.create_batch(EVENTS, store=store, event_sequence=1)
        events = [webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1) for ac in checkouts]
        worker = Worker(tmp_path / "worker.log")
        try:
            webhook_events_record(events)  # on commit: one wake-up message for the dispatcher
            assert WebhookDelivery.objects.count() == EVENTS
            worker.start()
            for _ in range(KILLS):
                time.sleep(random.uniform(3, 6))
                worker.kill()
                # The beat sweeper, run more often than its minute so the test stays short.
                webhook_deliveries_dispatch_task.delay()
                worker.start()
            kills_ended = time.time()
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while time.monotonic() < deadline:
                if not WebhookDelivery.objects.exclude(state=WebhookDelivery.State.SUCCEEDED).exists():
                    break
                webhook_deliveries_dispatch_task.delay()
                time.sleep(2)
        finally:
            worker.kill()

    states = dict(WebhookDelivery.objects.values_list("state").annotate(n=Count("id")))
    assert states == {WebhookDelivery.State.SUCCEEDED: EVENTS}, (states, (tmp_path / "worker.log").read_text()[-2000:])
    signer = Webhook(endpoint.secret)
    received_ids = []
    for request in receiver.received:
        # As the receiver would have on arrival: signature, and timestamp within the 5-minute tolerance.
        with time_machine.travel(request.at, tick=False):
            signer.verify(request.body, request.headers)
        received_ids.append(request.headers["webhook-id"])
    expected = {str(event.pk) for event in events}
    assert set(received_ids) == expected
    duplicates = len(received_ids) - len(expected)
    during_kills = sum(1 for request in receiver.received if request.at <= kills_ended)
    print(f"\n{during_kills} of {len(receiver.received)} requests arrived while the worker was being killed")
    print(
        f"\n{EVENTS} events, {KILLS} SIGKILLs: {len(received_ids)} requests, {duplicates} duplicates "
        f"({100 * duplicates / EVENTS:.1f} %), 0 lost, 0 stuck"
    )
    assert duplicates <= EVENTS * 0.05
