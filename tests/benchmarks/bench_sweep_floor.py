"""Benchmark: the floor under the sweep, the same rows written by PostgreSQL alone.

For each checkout, the sweep's transaction writes the following rows, and every foreign key
is checked at commit:

- the claimed checkout row;
- the abandoned checkout, with its 12 indexes;
- the `created` outbox event, with a payload of about 2 kB;
- the default automation's enrollment and scheduled step;
- the SCHEDULED activity.

This script makes PostgreSQL write exactly those rows, column for column, for the same idle
checkouts as `bench_sweep.py`: one statement per batch of the sweep's size, in as many threads
as the sweep (each its own connection and transactions, `synchronous_commit` as the sweep sets
it), and no Python per row. The `created` payloads are the real Wix entities, rendered by the
sweep's own SQL (`checkouts/services/created_sql.py`: formatted money, image ids, the activities
written in the same statement); the enrollments, steps and SCHEDULED activities carry the
columns, defaults and detail `automations.services.scheduling` writes. `--check` sweeps a few
thousand checkouts, writes the floor's rows for the same checkouts afresh and compares every row
of the five tables (ids and moments aside). Everything the sweep does in Python comes on top of
this, so its wall time is the least any implementation of this design can take on this machine.

(Until December 6 the payload was a stand-in of the same size, without formatted money, image
ids or omitted keys, and the activity detail had no label: a floor for cheaper rows.)

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


def _statement(*, without: set[str], params: dict, now, store, automation) -> str:
    """The floor's statement for one batch, with its parameters added to `params`: the sweep's
    own rows, column for column, built by the same SQL where the sweep has SQL of its own."""
    from django.db import connection

    from automations.models import Enrollment, ScheduledStep
    from automations.services import scheduling
    from checkouts.models import AbandonedCheckout, Activity, Checkout
    from checkouts.services import created_sql, sweep

    quote = connection.ops.quote_name

    def table(model):
        return quote(model._meta.db_table)

    def column(model, name):
        return quote(model._meta.get_field(name).column)

    # The abandoned checkout: every column the sweep writes, the snapshot copied from the claim,
    # the rest as the sweep sets them (its last activity: the SCHEDULED one written below).
    values = {**sweep._new_values(now), "last_activity_type": Activity.Type.SCHEDULED, "last_activity_at": now}
    if "schedule" in without:
        values.update(last_activity_type="", last_activity_at=None)
    columns, sources = [], []
    for field in AbandonedCheckout._meta.concrete_fields:
        columns.append(quote(field.column))
        if field.attname == "id":
            sources.append("gen_random_uuid()")
        elif field.attname in sweep._FROM_CHECKOUT:
            sources.append(f"claimed.{column(Checkout, sweep._FROM_CHECKOUT[field.attname])}")
        else:
            params[f"ac_{field.attname}"] = scheduling.json_text(values[field.attname])
            sources.append(f"CAST(%(ac_{field.attname})s AS {field.db_type(connection)})")
    parts = [
        f"""due AS (
            SELECT id FROM {table(Checkout)} WHERE abandon_due_at <= %(now)s
            ORDER BY abandon_due_at LIMIT {BATCH} FOR UPDATE SKIP LOCKED)""",
        f"""claimed AS (
            UPDATE {table(Checkout)} AS checkout SET abandoned_at = %(now)s, abandon_due_at = NULL
            FROM due WHERE checkout.id = due.id RETURNING checkout.*)""",
        f"""abandoned AS (
            INSERT INTO {table(AbandonedCheckout)} ({", ".join(columns)})
            SELECT {", ".join(sources)} FROM claimed RETURNING *)""",
    ]
    if "schedule" not in without:
        # The automations' rows as `scheduling._enrolled_insert` writes them, the same columns
        # and defaults, the SCHEDULED activity's detail as the automation renders it.
        automation.live_steps = list(automation.steps.filter(archived=False).order_by("position", "id"))
        enrollment = scheduling._defaults(Enrollment, scheduling._ENROLLMENT_COLUMNS, params)
        step = scheduling._defaults(ScheduledStep, scheduling._STEP_COLUMNS, params)
        activity = scheduling._defaults(Activity, scheduling._ACTIVITY_COLUMNS, params)
        params.update(
            automation=automation.pk,
            step_ids=[s.pk for s in automation.live_steps],
            step_delays=[s.delay for s in automation.live_steps],
            detail=scheduling.json_text(scheduling._scheduled_detail(automation, False)),
            scheduled=Activity.Type.SCHEDULED,
        )
        parts.append(f"""enrollments AS (
            INSERT INTO {table(Enrollment)}
                ({scheduling._columns(Enrollment, scheduling._ENROLLMENT_COLUMNS, enrollment)})
            SELECT store_id, %(automation)s, id, false, %(now)s{enrollment.values} FROM abandoned)""")
        parts.append(f"""steps AS (
            INSERT INTO {table(ScheduledStep)} ({scheduling._columns(ScheduledStep, scheduling._STEP_COLUMNS, step)})
            SELECT ab.store_id, %(automation)s, step.id, ab.id, ab.created_at + step.delay, false,
                %(now)s{step.values}
            FROM abandoned AS ab, unnest(%(step_ids)s::bigint[], %(step_delays)s::interval[]) AS step (id, delay))""")
        parts.append(f"""activities AS (
            INSERT INTO {table(Activity)} ({scheduling._columns(Activity, scheduling._ACTIVITY_COLUMNS, activity)})
            SELECT store_id, id, %(scheduled)s, %(detail)s::jsonb, %(now)s{activity.values} FROM abandoned
            RETURNING abandoned_checkout_id, created_at, type, id)""")
    if "events" not in without:
        # The `created` events as the sweep writes them: the same renderer (created_sql.py),
        # its money layouts for the store's currency, its activities those just written.
        layouts = created_sql.money_layouts([(store.pk, store.currency)], stores={store.pk: store})
        activities = "activities" if "schedule" not in without else "(SELECT NULL::uuid, NULL::timestamptz, '', 0)"
        ctes, event_params = created_sql.created_events_ctes_of(layouts=layouts, activities=activities, now=now)
        parts.extend(ctes)
        params.update(event_params)
    return "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM abandoned"


def floor_run(*, count: int, threads: int = 2, without: frozenset[str] = frozenset()) -> tuple[float, int, float]:
    """Load `count` idle checkouts and write their rows with PostgreSQL alone: (seconds,
    abandoned checkouts created, CPU seconds of the backends that wrote them). One thread runs
    on the caller's connection; more each open their own, as the sweep's threads do."""
    from django.db import connection, connections, transaction

    from automations.models import Automation
    from tests.benchmarks.bench_sweep import idle_checkouts_load
    from tests.benchmarks.cpu import BackendsCpu

    store, now = idle_checkouts_load(count)
    automation = Automation.objects.get(store=store)
    params = {"now": now}
    sql = _statement(without=set(without), params=params, now=now, store=store, automation=automation)

    def sweep() -> int:
        done = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")  # as the sweep does
                cursor.execute(sql, params)
                batch = cursor.fetchone()[0]
            done += batch
            if batch < BATCH:
                return done

    def in_thread() -> int:
        try:
            return sweep()
        finally:
            connections.close_all()

    with BackendsCpu() as backends:
        started = time.perf_counter()
        if threads == 1:
            created = [sweep()]
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                created = [future.result() for future in [pool.submit(in_thread) for _ in range(threads)]]
        elapsed = time.perf_counter() - started
    return elapsed, sum(created), backends.seconds


def rows_written() -> dict[str, list]:
    """Every row of the tables the sweep writes, as JSON, ids and moments masked, in the order
    of the checkouts' external ids: what `--check` compares between the sweep and the floor."""
    import re

    from django.db import connection

    from automations.models import Enrollment, ScheduledStep
    from checkouts.models import AbandonedCheckout, Activity, Checkout, WebhookEvent

    masks = [
        (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
        (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"), "<time>"),
        (re.compile(r'"(id|automation|step_id|automation_id|abandoned_checkout_id)": ?\d+'), r'"\1": <id>'),
    ]
    ac = AbandonedCheckout._meta.db_table
    by_checkout = f"(SELECT c.external_id FROM {ac} a JOIN {Checkout._meta.db_table} c ON c.id = a.checkout_id"
    tables = {
        "abandoned checkouts": (ac, f"{by_checkout} WHERE a.id = t.id)"),
        "events": (WebhookEvent._meta.db_table, f"{by_checkout} WHERE a.id = t.entity_id)"),
        "enrollments": (Enrollment._meta.db_table, f"{by_checkout} WHERE a.id = t.abandoned_checkout_id)"),
        "steps": (ScheduledStep._meta.db_table, f"{by_checkout} WHERE a.id = t.abandoned_checkout_id)"),
        "activities": (Activity._meta.db_table, f"{by_checkout} WHERE a.id = t.abandoned_checkout_id)"),
    }
    rows = {}
    with connection.cursor() as cursor:
        for name, (table, order) in tables.items():
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t ORDER BY {order}")  # nosec B608
            texts = []
            for (text,) in cursor.fetchall():
                for pattern, mask in masks:
                    text = pattern.sub(mask, text)
                texts.append(text)
            rows[name] = texts
    return rows


def rows_check(count: int) -> bool:
    """Sweep `count` idle checkouts, then write the floor's rows for the same checkouts afresh,
    and compare every row of both (ids and moments aside). True when they are the same."""
    from checkouts.services import abandoned_checkouts_detect
    from tests.benchmarks.bench_sweep import idle_checkouts_load

    _, now = idle_checkouts_load(count)
    abandoned_checkouts_detect(now=now)
    swept = rows_written()
    floor_run(count=count)
    floored = rows_written()
    same = True
    for name, rows in swept.items():
        if rows == floored[name]:
            print(f"{name}: {len(rows)} rows, the same")
            continue
        same = False
        print(f"{name}: {len(rows)} rows by the sweep, {len(floored[name])} by the floor; first difference:")
        for mine, theirs in zip(rows, floored[name], strict=False):
            if mine != theirs:
                print(f"  sweep: {mine}\n  floor: {theirs}")
                break
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--without", action="append", choices=["events", "schedule"], default=[])
    parser.add_argument("--check", action="store_true", help="compare the floor's rows with the sweep's, then stop")
    args = parser.parse_args()

    import django

    from tests.benchmarks.bench_sweep import bench_database_create

    bench_database_create()
    django.setup()
    from django.db import connection

    from checkouts.models import WebhookEvent

    if args.check:
        sys.exit(0 if rows_check(min(args.count, 5000)) else 1)
    elapsed, created, server = floor_run(count=args.count, threads=args.threads, without=frozenset(args.without))
    payload = 0
    if "events" not in args.without:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT avg(octet_length(payload::text)) FROM {WebhookEvent._meta.db_table}")
            payload = cursor.fetchone()[0]
    without = f", without {' and '.join(args.without)}" if args.without else ""
    print(f"CPU: {server:.1f} s PostgreSQL ({args.threads} threads{without}; payloads of {payload:,.0f} bytes)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"floor: {created:,} abandoned checkouts in {elapsed:.2f} s ({created / elapsed:,.0f}/s)")


if __name__ == "__main__":
    main()
