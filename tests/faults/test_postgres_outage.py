"""PostgreSQL stopped for a few seconds under ingest: fast 503s in Wix's envelope, nothing accepted is lost.

A throwaway cluster (initdb into a temp dir, trust auth, a free port; never the shared 5432),
migrated, served by gunicorn with the production connect timeout. Two client threads ingest
without pause and record every answer; PostgreSQL is stopped (`pg_ctl stop -m fast`, which
also cuts the open connections) and started again.
"""

import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone

from checkouts.models import Checkout, IngestedEvent

from .helpers import figure, idle_event, post_json
from .services import ROOT, PostgresCluster, WebServer, base_env, postgres_bin, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.faults]

OUTAGE_SECONDS = 5
MAX_FAILURE_LATENCY = 3.0
CLIENTS = 2
EVENTS_PER_REQUEST = 2

SETUP = """
import django
django.setup()
from checkouts.services import api_key_create
from tests.factories import StoreFactory
_, key = api_key_create(store=StoreFactory(), name="faults", scopes=["ingest"])
print(key)
"""


@dataclass
class Answer:
    event_ids: list[str]
    status: int
    seconds: float
    body: dict
    at: float


@pytest.fixture
def cluster():
    if not postgres_bin("initdb"):
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    cluster = PostgresCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


def test_a_postgres_outage_is_fast_503s_and_loses_no_accepted_event(cluster, tmp_path):
    env = base_env(
        DATABASE_URL=cluster.url(),
        DATABASE_CONNECT_TIMEOUT=str(settings.DATABASE_CONNECT_TIMEOUT),
        CELERY_BROKER_URL="memory://",
        COMEBACK_INGEST_RATE_LIMIT="100000/minute",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=180)
    key = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=60
    ).stdout.split()[-1]
    web = WebServer(env=env, log=tmp_path / "web.log")
    url = f"{web.url}/api/v1/checkout-events"
    answers: list[Answer] = []
    stop = threading.Event()

    def client(number: int) -> None:
        sequence = 0
        while not stop.is_set():
            events = [idle_event(f"c{number}-{sequence}-{n}", since=timezone.now()) for n in range(EVENTS_PER_REQUEST)]
            sequence += 1
            status, seconds, body = post_json(url, {"events": events}, key=key, timeout=30)
            answers.append(Answer([event["eventId"] for event in events], status, seconds, body, time.time()))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    try:
        web.start()
        for thread in threads:
            thread.start()
        wait_until(lambda: sum(a.status == 200 for a in answers) >= 20, timeout=60, what="ingest before the outage")
        cluster.stop()
        stopped = time.time()
        # The outage lasts its length, and at least until the clients have met it.
        wait_until(lambda: any(a.status == 503 for a in answers), timeout=60, what="a 503 during the outage")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.time() - stopped)))
        cluster.start()
        restarted = time.time()
        recovered = wait_until(
            lambda: sum(a.status == 200 and a.at > restarted for a in answers) >= 20,
            timeout=60,
            what=lambda: "ingest after the restart\n" + web.tail(),
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
        web.kill()

    statuses = {answer.status for answer in answers}
    assert statuses <= {200, 503}, statuses
    failures = [answer for answer in answers if answer.status == 503]
    assert failures
    assert max(answer.seconds for answer in failures) < MAX_FAILURE_LATENCY
    assert {answer.body["details"]["applicationError"]["code"] for answer in failures} == {"UNAVAILABLE"}

    accepted = {event_id for answer in answers if answer.status == 200 for event_id in answer.event_ids}
    refused = {event_id for answer in answers if answer.status == 503 for event_id in answer.event_ids}
    with psycopg.connect(cluster.url(), autocommit=True) as db:
        stored = {row[0] for row in db.execute(f"SELECT event_id FROM {IngestedEvent._meta.db_table}")}  # noqa: S608
        checkouts = {row[0] for row in db.execute(f"SELECT external_id FROM {Checkout._meta.db_table}")}  # noqa: S608
    assert accepted <= stored, f"{len(accepted - stored)} accepted events lost"
    # Each event is its own transaction: a refused one is wholly there (applied before the
    # connection died, a client retry replays it) or wholly absent, never half-applied.
    for event_id in refused:
        external_id = event_id.removeprefix("upd-").rsplit("-", 1)[0]
        assert (event_id in stored) == (external_id in checkouts), event_id
    figure(
        "PostgreSQL stopped",
        requests=len(answers),
        events_accepted=len(accepted),
        lost=0,
        refused_503=f"{len(failures)} requests (max {max(a.seconds for a in failures) * 1000:.0f} ms)",
        other_5xx=0,
        outage=f"{restarted - stopped:.1f} s",
        recovered=f"20 accepted requests {recovered:.1f} s after the restart",
    )
