"""Benchmark: the automations dispatcher and the sweep with its scheduling receiver, on PostgreSQL.

    .venv/bin/python tests/benchmarks/bench_dispatcher.py [--steps 10000] [--sweep 100000] [--threads N]

Uses its own scratch database (dropped and created: comeback_bench_dispatcher), never
comeback_bench. Mail goes to Django's in-memory backend. Prints absolute figures:

1. One dispatcher run (`scheduled_steps_dispatch`, as its task runs it, in
   COMEBACK_DISPATCH_THREADS threads) working through N due email steps in one process, with
   every contact rule and every targeting condition on (all holding): steps/s, CPU per step
   (this process and every PostgreSQL backend it opened), and the queries of every batch
   (claim + process), which must not grow with the batch.
2. The sweep turning M idle checkouts into abandoned checkouts with the automations
   receiver connected and the default automation active, against the same sweep with the
   receiver disconnected.
"""

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# Celery's Django fixup puts the working directory first on sys.path when the settings load, so
# the apps would be imported from wherever the command was started, not from this checkout: an
# old commit's benchmark started from a newer checkout would time the newer code.
os.chdir(ROOT)
# BENCH_SCRATCH names another scratch database, so two runs on one server do not drop each other's.
SCRATCH = os.environ.get("BENCH_SCRATCH", "comeback_bench_dispatcher")
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def scratch_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{SCRATCH}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    # On-commit nudges have nowhere to go here: the benchmark runs the dispatcher itself.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    import django

    django.setup()
    from django.conf import settings

    # The test settings already use the in-memory mail and text backends; no eager Celery here.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def bench_dispatcher(
    steps: int,
    batch_size: int,
    *,
    rules: bool = True,
    ab_test: bool = False,
    profile: str | None = None,
    threads: int | None = None,
) -> None:
    from django.conf import settings
    from django.core import mail
    from django.db import connection
    from django.db.models import CharField, Count, Value
    from django.db.models.functions import Cast, Concat
    from django.utils import timezone

    import automations.dispatcher as dispatcher
    from automations.dispatcher import claim_due_steps, process_batch
    from automations.models import Automation, AutomationStep, ContactPolicy, ScheduledStep
    from automations.services import automations_schedule
    from checkouts.models import AbandonedCheckout
    from checkouts.services import store_create
    from checkouts.services.wire import abandoned_checkouts_wire_refresh
    from config.celery_app import startup_heap_freeze
    from config.demo import checkouts as demo
    from tests.benchmarks.cpu import BackendsCpu

    store = store_create(name="Bench Outfitters", storefront_url="https://bench.example.com")
    label = "contact rules and conditions on" if rules else "anchor: no contact rules or conditions"
    print(f"\n== Dispatcher: {steps:,} due email steps, batches of {batch_size} ({label})")
    import automations

    print(f"   code: {Path(automations.__file__).parent.parent}")
    assert Path(automations.__file__).resolve().is_relative_to(ROOT), "the apps were imported from another checkout"
    started = time.perf_counter()
    # Seeded by the store: a second run in the same database makes rows of its own (ids included).
    demo.generate(store, count=steps, rnd=random.Random(store.pk.int), now=timezone.now() - timedelta(hours=2))
    # Every checkout open and reachable by email, so every step is an email that goes out.
    AbandonedCheckout.objects.filter(store=store).update(status="ABANDONED", checkout_recovered_at=None)
    # Each its own buyer, so the frequency cap and "newest checkout only" (which still run,
    # queries and all) let every step send; and no quiet hours, whatever the hour of the run.
    address = Concat(Value("buyer-"), Cast("id", CharField()), Value("@example.com"))
    AbandonedCheckout.objects.filter(store=store).update(
        buyer_email=address,
        email_key=address,
        phone="+33612345678",
        buyer_country="FR",
        buyer_time_zone="Europe/Paris",
        marketing_consent={"email": True, "sms": True},
    )
    if not rules:
        # The anchor: the dispatcher as it was before issue 18's checks (the gate still loads).
        ContactPolicy.objects.create(store=store, quiet_hours=False)
    else:
        # Every contact rule on, the email consent included; the day spans the whole clock, so the
        # quiet-hours check runs (in the buyer's zone) and holds nothing back, whatever the hour.
        ContactPolicy.objects.create(
            store=store,
            quiet_hours=True,
            day_starts=dt_time(0, 0),
            day_ends=dt_time(23, 59, 59),
            require_email_consent=True,
        )
        # And every targeting condition, on the automation and on its steps, set so that all hold:
        # each is evaluated for each step, the order-history one with its query.
        conditions = {
            "min_total": 0,
            "max_total": 10**9,
            "products_excluded": "NO-SUCH-SKU",
            "currencies": store.currency,
            "countries": "FR, DE",
            "buyer": "FIRST_TIME",
            "require_phone": True,
            "min_items": 1,
            "max_items": 10_000,
        }
        Automation.objects.filter(store=store).update(**conditions)
        AutomationStep.objects.filter(automation__store=store).update(**conditions)
    if ab_test:
        # Every email an A/B test with an open pixel: the variant is picked and recorded per step.
        Automation.objects.filter(store=store).update(track_opens=True)
        AutomationStep.objects.filter(automation__store=store).update(subject_b="Variant B: {{ first_name }}")
    checkouts = list(AbandonedCheckout.objects.filter(store=store).select_related("store"))
    for start in range(0, len(checkouts), 2000):
        automations_schedule(abandoned_checkouts=checkouts[start : start + 2000])
    # The updates and scheduling above went behind the stored Wix JSON's stamps: store it again,
    # as the periodic fill has within a minute of any write that drops it (a step is due hours later).
    abandoned_checkouts_wire_refresh(AbandonedCheckout.objects.filter(store=store).values_list("pk", flat=True))
    due = ScheduledStep.objects.filter(store=store, state="PENDING", due_at__lte=timezone.now()).count()
    print(f"   setup: {due:,} due steps in {time.perf_counter() - started:.1f} s")

    # The setup rewrote every checkout three times in a few seconds, leaving dead row versions
    # and no statistics; autovacuum has dealt with both long before a step is due (hours after
    # the checkout was written). Without this, the planner reads a whole store for the
    # dispatcher's "newest checkout" check, and every lock and update steps over dead versions.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    mail.outbox = []
    # What a worker process does once it has started (config/celery_app.py); the setup's
    # own objects go first, a worker never holds them.
    del checkouts
    startup_heap_freeze()
    per_batch: list[tuple[int, int]] = []  # (steps, queries) of each batch, in the order they ended
    batch_times: list[float] = []
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    # The dispatcher as its task runs it (its threads, its receipts connections), each batch's
    # queries counted on the connection of the thread that ran it: its claim's and its own.
    local = threading.local()

    def claim(**kwargs):
        counter = QueryCounter()
        local.started = time.perf_counter()
        with connection.execute_wrapper(counter):
            ids = claim_due_steps(**kwargs)
        local.claim_queries = counter.count
        return ids

    def batch(ids, **kwargs):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            outcomes = process_batch(ids, **kwargs)
        per_batch.append((len(ids), local.claim_queries + counter.count))
        batch_times.append(time.perf_counter() - local.started)
        return outcomes

    dispatcher.claim_due_steps, dispatcher.process_batch = claim, batch
    with BackendsCpu() as backends:
        cpu_started, started = time.process_time(), time.perf_counter()
        report = dispatcher.scheduled_steps_dispatch(batch_size=batch_size, threads=threads)
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
    dispatcher.claim_due_steps, dispatcher.process_batch = claim_due_steps, process_batch
    server_cpu = backends.seconds
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
        print(f"   profile (cProfile, inflates the Python figures below) written to {profile}")
    print(f"   threads: {threads or settings.COMEBACK_DISPATCH_THREADS} (COMEBACK_DISPATCH_THREADS)")
    done = ScheduledStep.objects.filter(store=store, state="DONE", activity_type="EMAIL_SENT").count()
    print(f"   {done:,} steps done, {len(mail.outbox):,} emails in the outbox, {report.batches} batches")
    print(f"   wall time {elapsed:.2f} s → {done / elapsed:,.0f} steps/s (target ≥ 500)")
    # The machine is shared: CPU time (this process + its PostgreSQL backends) says what the
    # work cost, whatever the load average was.
    print(
        f"   CPU: {client_cpu:.2f} s Python + {server_cpu:.2f} s PostgreSQL backends = "
        f"{(client_cpu + server_cpu) / done * 1000:.2f} ms per step → {done / (client_cpu + server_cpu):,.0f} steps "
        f"per CPU-second (load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"   queries per batch (plus one COPY of its sent-email rows): min {min(q for _, q in per_batch)}, "
        f"max {max(q for _, q in per_batch)} (full batches: {sorted({q for n, q in per_batch if n == batch_size})}; "
        f"partial ones: {sorted({q for n, q in per_batch if n < batch_size}) or 'none'})"
    )
    print(f"   batch time: median {statistics.median(batch_times) * 1000:.0f} ms, max {max(batch_times) * 1000:.0f} ms")
    assert done == steps and len(mail.outbox) == steps
    if ab_test:
        from automations.models import SentEmail

        split = dict(SentEmail.objects.values_list("variant").annotate(n=Count("pk")).order_by())
        print(f"   A/B split recorded on the sent emails: {split}")


def make_idle_checkouts(store, count: int) -> None:
    from django.utils import timezone

    from checkouts.models import Checkout
    from config.demo import checkouts as demo

    # Open, reachable checkouts idle past the store's hour, as the storefront left them.
    templates = demo._product_lines(store)
    rnd = random.Random(count)
    now = timezone.now()
    rows = []
    for index in range(count):
        item, amount = demo._line_item(rnd.choice(templates), 1, store, rnd)
        seen = now - timedelta(minutes=rnd.uniform(61, 600))
        rows.append(
            Checkout(
                store=store,
                external_id=f"{store.pk.hex[:8]}-{index}",
                last_activity_at=seen,
                abandon_due_at=seen + store.abandon_after,
                buyer_email=f"buyer{index}@example.com",
                email_key=f"buyer{index}@example.com",
                first_name="Ada",
                currency=store.currency,
                subtotal=amount,
                total=amount,
                line_items=[item],
            )
        )
        if len(rows) == 5000:
            Checkout.objects.bulk_create(rows)
            rows = []
    Checkout.objects.bulk_create(rows)


def bench_sweep(count: int) -> None:
    from django.db import connection

    from automations.models import ScheduledStep
    from checkouts import hooks
    from checkouts.models import AbandonedCheckout
    from checkouts.services import abandoned_checkouts_detect, store_create
    from tests.benchmarks.cpu import backend_pid_of, server_cpu_seconds

    print(f"\n== Sweep: {count:,} idle checkouts → abandoned checkouts (batches of 2,000)")
    results = {}
    for label, connected in (("with the automations receiver", True), ("receiver disconnected", False)):
        store = store_create(name=f"Sweep {label}")
        make_idle_checkouts(store, count)
        if not connected:
            hooks.abandoned_checkouts_created.disconnect(dispatch_uid="automations")
        backend_pid = backend_pid_of(connection)
        # The whole server: the sweep's threads open connections (backends) of their own.
        started, cpu, server = time.perf_counter(), time.process_time(), server_cpu_seconds(backend_pid)
        made = abandoned_checkouts_detect()
        results[label] = time.perf_counter() - started
        time.sleep(0.5)  # the sweep's own connections have closed; their backends are reaped
        cpu_total = time.process_time() - cpu + server_cpu_seconds(backend_pid) - server
        if not connected:
            from automations.receivers import on_abandoned_checkouts_created

            hooks.abandoned_checkouts_created.connect(on_abandoned_checkouts_created, dispatch_uid="automations")
        scheduled = ScheduledStep.objects.filter(store=store).count()
        print(
            f"   {label}: {made:,} abandoned in {results[label]:.2f} s wall, {cpu_total:.2f} s CPU "
            f"(Python + PostgreSQL), {scheduled:,} steps scheduled, load {os.getloadavg()[0]:.1f}"
        )
        assert made == count and AbandonedCheckout.objects.filter(store=store).count() == count
    on, off = results["with the automations receiver"], results["receiver disconnected"]
    print(f"   the receiver adds {on - off:.2f} s ({on / off:.2f}× the sweep alone); target ≤ 10 s in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--sweep", type=int, default=100_000)
    parser.add_argument(
        "--anchor",
        type=int,
        default=0,
        metavar="N",
        help="also run N rounds without contact rules or conditions, interleaved (ABAB) with N with them",
    )
    parser.add_argument("--ab-test", action="store_true", help="every email step an A/B test with an open pixel")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the dispatcher loop to FILE")
    parser.add_argument(
        "--threads", type=int, help="threads of the dispatcher run (default: COMEBACK_DISPATCH_THREADS, 3)"
    )
    args = parser.parse_args()
    scratch_database()
    setup_django()
    if args.anchor:
        for _ in range(args.anchor):
            for rules in (False, True):
                bench_dispatcher(args.steps, args.batch_size, rules=rules, ab_test=args.ab_test, threads=args.threads)
    else:
        bench_dispatcher(args.steps, args.batch_size, ab_test=args.ab_test, profile=args.profile, threads=args.threads)
    if args.sweep:
        bench_sweep(args.sweep)


if __name__ == "__main__":
    main()
