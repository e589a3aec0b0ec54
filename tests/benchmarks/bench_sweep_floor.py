"""Benchmark: the floor under the sweep, the same rows written by PostgreSQL alone.

For each checkout, the sweep's transaction writes the following rows, and every foreign key
is checked at commit:

- the claimed checkout row;
- the abandoned checkout, with its 12 indexes;
- the `created` outbox event, with a payload of about 2 kB;
- the default automation's enrollment and scheduled step;
- the SCHEDULED activity.

This script makes PostgreSQL write exactly those rows for the same idle checkouts as
`bench_sweep.py`. It runs one statement per batch and no Python per row. The payload is a
JSON object of the same shape and size, built by PostgreSQL. Everything the sweep does in
Python comes on top of this, so its wall time is the least any implementation of this design
can take on this machine.

    .venv/bin/python tests/benchmarks/bench_sweep_floor.py [--count 100000] [--threads 2]
        [--without events] [--without schedule]

The database (as for `bench_sweep.py`) is emptied by the script: never point it at real data.
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/comeback_bench_sweep")

BATCH = 2000


def _statement(*, without: set[str]) -> str:
    from automations.models import Enrollment, ScheduledStep
    from checkouts.models import AbandonedCheckout, Activity, Checkout, CheckoutData, WebhookEvent

    def table(model):
        return model._meta.db_table

    snapshot = ", ".join(Checkout._meta.get_field(name).column for name in CheckoutData.SNAPSHOT_FIELDS)
    money = "jsonb_build_object('amount', {0}::text, 'convertedAmount', {0}::text, 'formattedAmount', '$' || {0}, 'formattedConvertedAmount', '$' || {0})"  # noqa: E501
    entity = f"""jsonb_build_object(
        'id', id, 'createdDate', created_at, 'updatedDate', updated_at, 'checkoutId', checkout_external_id,
        'status', status, 'buyerLanguage', buyer_language,
        'buyerInfo', jsonb_build_object('email', buyer_email),
        'contactDetails', jsonb_build_object('firstName', first_name, 'lastName', last_name),
        'currency', currency,
        'checkoutUrl', 'http://127.0.0.1:8000/ecom/v1/abandoned-checkout/' || id || '/redirect-to-checkout?metasiteId=' || store_id,
        'totalPrice', {money.format("total")},
        'activities', jsonb_build_array(jsonb_build_object('createdDate', created_at, 'type', 'SCHEDULED')),
        'subtotalPrice', {money.format("subtotal")},
        'lineItems', line_items, 'appliedDiscounts', applied_discounts)"""  # noqa: E501
    parts = [
        f"""due AS (
            SELECT id FROM {table(Checkout)} WHERE abandon_due_at <= %(now)s
            ORDER BY abandon_due_at LIMIT {BATCH} FOR UPDATE SKIP LOCKED)""",
        f"""claimed AS (
            UPDATE {table(Checkout)} AS checkout SET abandoned_at = %(now)s, abandon_due_at = NULL
            FROM due WHERE checkout.id = due.id RETURNING checkout.*)""",
        f"""abandoned AS (
            INSERT INTO {table(AbandonedCheckout)} ({snapshot}, id, checkout_external_id, status, created_at,
                updated_at, recovered_order_id, link_clicks, last_activity_type, last_activity_at, event_sequence,
                wire_stamp, checkout_id, store_id)
            SELECT {snapshot}, gen_random_uuid(), external_id, 'ABANDONED', %(now)s, %(now)s, '', 0, 'SCHEDULED',
                %(now)s, 1, '', id, store_id
            FROM claimed RETURNING *)""",
    ]
    if "events" not in without:
        parts.append(f"""events AS (
            INSERT INTO {table(WebhookEvent)} (id, type, entity_id, sequence, payload, created_at, store_id)
            SELECT gen_random_uuid(), 'created', id, 1, jsonb_build_object(
                'id', gen_random_uuid(), 'entityFqdn', 'wix.ecom.v1.abandoned_checkout', 'slug', 'created',
                'entityId', id, 'eventTime', %(now)s, 'triggeredByAnonymizeRequest', false,
                'entityEventSequence', '1', 'createdEvent', jsonb_build_object('entity', {entity})), %(now)s, store_id
            FROM abandoned)""")
    if "schedule" not in without:
        parts.append(f"""enrollments AS (
            INSERT INTO {table(Enrollment)} (holdout, created_at, abandoned_checkout_id, automation_id, store_id)
            SELECT false, %(now)s, id, %(automation)s, store_id FROM abandoned)""")
        parts.append(f"""steps AS (
            INSERT INTO {table(ScheduledStep)} (due_at, state, holdout, attempts, reason, activity_type, last_error,
                created_at, abandoned_checkout_id, automation_id, step_id, store_id)
            SELECT abandoned.created_at + step.delay, 'PENDING', false, 0, '', '', '', %(now)s, abandoned.id,
                %(automation)s, step.step_id, abandoned.store_id
            FROM abandoned, unnest(%(step_ids)s::bigint[], %(step_delays)s::interval[]) AS step (step_id, delay))""")
        parts.append(f"""activities AS (
            INSERT INTO {table(Activity)} (type, reason, detail, created_at, abandoned_checkout_id, store_id)
            SELECT 'SCHEDULED', '', jsonb_build_object('automation', %(automation)s,
                'automationName', %(automation_name)s, 'steps', %(step_count)s, 'holdout', false),
                %(now)s, id, store_id
            FROM abandoned)""")
    return "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM abandoned"


def floor_run(*, count: int, threads: int = 2, without: frozenset[str] = frozenset()) -> tuple[float, int, float]:
    """Load `count` idle checkouts and write their rows with PostgreSQL alone:
    (seconds, abandoned checkouts created, CPU seconds of the server)."""
    from django.db import connection, connections, transaction

    from automations.models import Automation
    from tests.benchmarks.bench_sweep import idle_checkouts_load
    from tests.benchmarks.cpu import backend_pid_of, server_cpu_seconds

    store, now = idle_checkouts_load(count)
    automation = Automation.objects.get(store=store)
    steps = list(automation.steps.filter(archived=False))
    params = {
        "now": now,
        "automation": automation.pk,
        "automation_name": automation.name,
        "step_count": len(steps),
        "step_ids": [step.pk for step in steps],
        "step_delays": [step.delay for step in steps],
    }
    sql = _statement(without=set(without))

    def sweep() -> int:
        done = 0
        try:
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")  # as the sweep does
                    cursor.execute(sql, params)
                    batch = cursor.fetchone()[0]
                done += batch
                if batch < BATCH:
                    return done
        finally:
            connections.close_all()

    backend_pid = backend_pid_of(connection)
    started, server = time.perf_counter(), server_cpu_seconds(backend_pid)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        created = [future.result() for future in [pool.submit(sweep) for _ in range(threads)]]
    elapsed = time.perf_counter() - started
    time.sleep(0.5)  # the threads' backends have exited and been reaped
    return elapsed, sum(created), server_cpu_seconds(backend_pid) - server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--without", action="append", choices=["events", "schedule"], default=[])
    args = parser.parse_args()

    import django

    from tests.benchmarks.bench_sweep import bench_database_create

    bench_database_create()
    django.setup()
    from django.db import connection

    from checkouts.models import WebhookEvent

    elapsed, created, server = floor_run(count=args.count, threads=args.threads, without=frozenset(args.without))
    payload = 0
    if "events" not in args.without:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT avg(octet_length(payload::text)) FROM {WebhookEvent._meta.db_table}")
            payload = cursor.fetchone()[0]
    without = f", without {' and '.join(args.without)}" if args.without else ""
    print(f"CPU: {server:.1f} s PostgreSQL ({args.threads} threads{without}; payloads of {payload:,.0f} bytes)")
    print(f"floor: {created:,} abandoned checkouts in {elapsed:.2f} s ({created / elapsed:,.0f}/s)")


if __name__ == "__main__":
    main()
