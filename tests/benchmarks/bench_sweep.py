"""Benchmark: 100,000 checkouts going idle together, all marked abandoned by one sweep.

Target (issue 2): ≤ 10 s on PostgreSQL, including the `created` outbox events and
whatever the automations hook schedules in the same transactions.

    .venv/bin/python tests/benchmarks/bench_sweep.py [--count 100000]

The database (DATABASE_URL, by default comeback_bench_sweep on the local server) is created
or emptied by the script: never point it at real data. `bench_sweep_floor.py` writes the
same rows with PostgreSQL alone: the least this can take. `bench_sweep_ratio.py` runs both
in turns and reports the ratio.
"""

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/comeback_bench_sweep")


def bench_database_create() -> None:
    """Create DATABASE_URL's database if it does not exist yet (before Django connects to it)."""
    from urllib.parse import urlsplit

    import psycopg
    from psycopg import sql

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def idle_checkouts_load(count: int) -> tuple:
    """Migrate and empty the database, then COPY `count` checkouts of one store, idle for an
    hour, due now. Returns the store and the moment the sweep should run at."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from checkouts.inserts import copy_rows
    from checkouts.models import Checkout
    from checkouts.services import store_create
    from config.demo import checkouts as demo

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    store = store_create(name="Sweep bench", currency="USD")
    now = timezone.now()
    template = demo._product_lines(store)[0]
    rows = []
    for index in range(count):
        seen = now - timedelta(minutes=61, seconds=index % 600)
        rows.append(
            {
                "store_id": store.pk,
                "external_id": f"bench-{index}",
                "last_activity_at": seen,
                "snapshot_event_id": "",
                "abandon_due_at": seen + store.abandon_after,
                "buyer_email": f"buyer{index}@example.com",
                "email_key": f"buyer{index}@example.com",
                "first_name": "Bench",
                "last_name": f"Buyer {index}",
                "currency": "USD",
                "subtotal": template["price"],
                "total": template["price"],
                "line_items": [demo._line_item(template, 1, store, demo.random.Random(index))[0]],
                "created_at": seen,
                "updated_at": seen,
            }
        )
    started = time.perf_counter()
    for start in range(0, len(rows), demo.WRITE_BATCH):
        copy_rows(Checkout, rows[start : start + demo.WRITE_BATCH])
    print(f"loaded {count:,} idle checkouts in {time.perf_counter() - started:.1f} s")
    return store, now


def sweep_run(*, count: int, threads: int | None = None) -> tuple[float, int, float, float]:
    """Load `count` idle checkouts and sweep them: (seconds, abandoned checkouts created, CPU
    seconds of this process, CPU seconds of the backends the sweep used)."""
    from checkouts.services import abandoned_checkouts_detect
    from tests.benchmarks.cpu import BackendsCpu

    _, now = idle_checkouts_load(count)
    with BackendsCpu() as backends:
        started, cpu = time.perf_counter(), time.process_time()
        created = abandoned_checkouts_detect(now=now, threads=threads)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, created, cpu, backends.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()

    import django

    bench_database_create()
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.backends.signals import connection_created

    from checkouts.models import AbandonedCheckout, WebhookEvent
    from checkouts.services import abandoned_checkouts_detect
    from tests.benchmarks.cpu import BackendsCpu

    _, now = idle_checkouts_load(args.count)

    # What a worker process does once it has started (config/celery_app.py).
    from config.celery_app import startup_heap_freeze

    startup_heap_freeze()
    # The sweep's threads open connections of their own: count the statements of every one.
    statements = itertools.count()

    def counted(execute, sql, params, many, context):
        next(statements)
        return execute(sql, params, many, context)

    def count_on(sender, connection, **kwargs):
        connection.execute_wrappers.append(counted)

    connection_created.connect(count_on)
    connection.execute_wrappers.append(counted)
    with BackendsCpu() as backends:
        started, cpu = time.perf_counter(), time.process_time()
        created = abandoned_checkouts_detect(now=now)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = backends.seconds
    queries = next(statements)
    batches = -(-created // 2000)
    # Where the time went: this process (Python, all threads) and the PostgreSQL backends the
    # sweep used (others' work on the same server aside).
    print(
        f"CPU: {cpu:.1f} s Python, {server:.1f} s PostgreSQL ({settings.COMEBACK_SWEEP_THREADS} threads, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"sweep: {created:,} abandoned checkouts in {elapsed:.2f} s ({created / elapsed:,.0f}/s)")
    print(f"queries: {queries} for {batches} batches ({queries / max(batches, 1):.1f} per batch, COPYs aside)")
    print(f"rows: {AbandonedCheckout.objects.count():,} abandoned, {WebhookEvent.objects.count():,} outbox events")
    print("target ≤ 10 s:", "PASS" if elapsed <= 10 and created == args.count else "FAIL")


if __name__ == "__main__":
    main()
