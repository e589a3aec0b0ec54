"""Benchmark: webhook deliveries per second to a local receiver with 2 worker processes, signing included.

Runs in its own scratch PostgreSQL database (created and migrated here, dropped at the end)
with a real `celery -A config worker --concurrency 2` on Redis and a receiver on loopback
that checks every signature. Goal: >= 200 deliveries/s. Also measures what the fan-out
adds to the abandonment sweep (one endpoint query and one COPY per batch), and the sweep of
100,000 abandonments with and without an endpoint (goal: <= 10 s).

    .venv/bin/python tests/benchmarks/bench_webhooks.py [--deliveries 3000]

Environment: BENCH_POSTGRES (server, default postgres://postgres@127.0.0.1:5432),
CELERY_BROKER_URL (default redis://127.0.0.1:6379/4).
"""

import argparse
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = "comeback_bench_webhooks"
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=f"{SERVER}/{SCRATCH}",
    CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/4"),
    COMEBACK_WEBHOOK_ALLOW_LOOPBACK="true",
    DJANGO_LOG_LEVEL="WARNING",
)
sys.path.insert(0, str(ROOT))


def scratch_database(action: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        if action == "create":
            admin.execute(f"CREATE DATABASE {SCRATCH}")


class CountingReceiver:
    """Answers 200 at once and verifies each Standard Webhooks signature with the official library."""

    def __init__(self, secret_holder: dict):
        from standardwebhooks import Webhook

        self.ids: list[str] = []
        self.bad = 0
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else keep-alive replies wait 40 ms for a delayed ACK

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(secret_holder["secret"]).verify(body, headers)
                    ok = True
                except Exception:
                    ok = False
                with lock:
                    receiver.ids.append(headers["webhook-id"])
                    receiver.bad += not ok
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def start_worker(log: Path) -> subprocess.Popen:
    celery = Path(sys.executable).with_name("celery")
    command = [str(celery), "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        command, cwd=ROOT, env=os.environ, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_for_worker(app, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise SystemExit("the worker did not start; see var/bench_webhooks_worker.log")


def bench_deliveries(count: int, fmt: str, receiver: CountingReceiver, secret_holder: dict) -> float:
    from django.db.models import Count

    from checkouts.models import WebhookDelivery
    from checkouts.services import webhook_event_build, webhook_events_record
    from checkouts.webhooks.services import webhook_endpoint_create
    from tests.factories import AbandonedCheckoutFactory, StoreFactory

    store = StoreFactory()
    endpoint = webhook_endpoint_create(store=store, url=receiver.url, event_types=["created"], format=fmt)
    secret_holder["secret"] = endpoint.secret
    checkouts = AbandonedCheckoutFactory.build_batch(count, store=store, event_sequence=1)
    type(checkouts[0]).objects.bulk_create(checkouts)
    events = [webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1, store=store) for ac in checkouts]
    receiver.ids.clear()
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        webhook_events_record(events)  # on commit: one message wakes the dispatcher
    pending = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(state="succeeded")
    while pending.exists():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    states = dict(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("state").annotate(n=Count("id")))
    assert states == {"succeeded": count}, states
    if fmt == "standard":
        assert receiver.bad == 0 and len(set(receiver.ids)) == count, (receiver.bad, len(set(receiver.ids)))
    return elapsed


def bench_fan_out(batches: int, batch_size: int) -> tuple[float, float]:
    """Seconds to record `batches` sweep-sized batches of created events with 0 and with 2 endpoints."""
    from django.db import transaction

    from checkouts.services import webhook_event_build, webhook_events_record
    from checkouts.webhooks.services import webhook_endpoint_create
    from tests.factories import AbandonedCheckoutFactory, StoreFactory

    timings = []
    for endpoints in (0, 2):
        store = StoreFactory()
        # No worker runs now: only the database work of the fan-out is timed, nothing is sent.
        for index in range(endpoints):
            webhook_endpoint_create(
                store=store, url=f"https://hooks{index}.example.com/", event_types=["created"], format="standard"
            )
        total = 0.0
        for _ in range(batches):
            checkouts = AbandonedCheckoutFactory.build_batch(batch_size, store=store, event_sequence=1)
            type(checkouts[0]).objects.bulk_create(checkouts)
            events = [
                webhook_event_build(abandoned_checkout=ac, slug="created", sequence=1, store=store) for ac in checkouts
            ]
            started = time.perf_counter()
            with transaction.atomic():
                webhook_events_record(events)
            total += time.perf_counter() - started
        timings.append(total)
    return timings[0], timings[1]


def bench_sweep(count: int, endpoints: int) -> float:
    """Seconds for `abandoned_checkouts_detect` to turn `count` idle checkouts into abandoned ones
    (with their outbox events and, per endpoint, their deliveries)."""
    from datetime import timedelta

    from django.utils import timezone

    from checkouts.models import Checkout
    from checkouts.services import abandoned_checkouts_detect
    from checkouts.webhooks.services import webhook_endpoint_create
    from tests.factories import CheckoutFactory, StoreFactory

    store = StoreFactory()
    for index in range(endpoints):
        webhook_endpoint_create(
            store=store, url=f"https://hooks{index}.example.com/", event_types=["created"], format="standard"
        )
    idle_since = timezone.now() - timedelta(hours=2)
    for _ in range(0, count, 5000):
        checkouts = CheckoutFactory.build_batch(5000, store=store, last_activity_at=idle_since)
        for checkout in checkouts:
            checkout.abandon_due_at = idle_since + store.abandon_after
        Checkout.objects.bulk_create(checkouts)
    started = time.perf_counter()
    created = abandoned_checkouts_detect()
    elapsed = time.perf_counter() - started
    assert created == count, created
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    args = parser.parse_args()

    scratch_database("create")
    import django

    django.setup()
    from django.core.management import call_command

    from config.celery_app import app

    call_command("migrate", verbosity=0)
    app.control.purge()
    secret_holder: dict = {"secret": ""}
    receiver = CountingReceiver(secret_holder)
    log = ROOT / "var" / "bench_webhooks_worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = start_worker(log)
    try:
        wait_for_worker(app)
        bench_deliveries(200, "standard", receiver, secret_holder)  # warm the pool processes
        for fmt in ("standard", "wix-jwt"):
            elapsed = bench_deliveries(args.deliveries, fmt, receiver, secret_holder)
            rate = args.deliveries / elapsed
            verdict = "PASS" if rate >= 200 else "FAIL"
            print(
                f"{fmt:8}  {args.deliveries} deliveries in {elapsed:.2f} s = {rate:.0f} deliveries/s "
                f"with 2 worker processes ({1000 * elapsed / args.deliveries:.2f} ms each), goal >= 200/s: {verdict}"
            )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        app.control.purge()

    batches, size = 10, 2000
    without, with_two = bench_fan_out(batches, size)
    events = batches * size
    print(
        f"fan-out   recording {events} created events in batches of {size}: {without:.2f} s with no endpoint, "
        f"{with_two:.2f} s with 2 endpoints ({2 * events} deliveries); +{(with_two - without) / events * 1e5:.2f} s "
        f"per 100,000 abandonments"
    )
    for endpoints in (0, 1):
        elapsed = bench_sweep(100_000, endpoints)
        verdict = "PASS" if elapsed <= 10 else "FAIL"
        print(
            f"sweep     100,000 abandonments with {endpoints} endpoint(s): {elapsed:.2f} s "
            f"({100_000 / elapsed:,.0f}/s), goal <= 10 s: {verdict}"
        )
    from django.db import connections

    app.control.purge()
    connections.close_all()
    scratch_database("drop")


if __name__ == "__main__":
    main()
