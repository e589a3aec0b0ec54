"""Benchmark: the dispatcher with a pool of single-use discount codes, against the same steps
without one (the floor), on PostgreSQL.

    .venv/bin/python tests/benchmarks/bench_discount_codes.py [--steps 2000] [--rounds 5]

Uses its own scratch database (comeback_bench_codes, dropped and created). Rounds alternate
A (no offer) and B (every email carries a pool code), ABAB..., each on fresh checkouts; prints
the median steps/s of each, wall and per CPU-second (this process + its PostgreSQL backend),
and the queries per full batch, which must be the same number for every batch of a run.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import bench_dispatcher as base  # noqa: E402

base.SCRATCH = "comeback_bench_codes"


def one_round(*, steps: int, batch_size: int, codes: bool, seed: int) -> tuple[float, float, set[int]]:
    from django.core import mail
    from django.db import connection
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat
    from django.utils import timezone

    from automations.dispatcher import claim_due_steps
    from automations.dispatcher.batch import process_batch
    from automations.models import Automation, ContactPolicy, DiscountCode, DiscountGrant, DiscountOffer, ScheduledStep
    from automations.services import automations_schedule
    from checkouts.models import AbandonedCheckout
    from checkouts.services import store_create
    from config.demo import checkouts as demo
    from tests.benchmarks.cpu import backend_cpu_seconds, backend_pid_of

    store = store_create(name=f"Bench {seed}", storefront_url="https://bench.example.com")
    demo.generate(store, count=steps, rnd=random.Random(seed), now=timezone.now() - timedelta(hours=2))
    AbandonedCheckout.objects.filter(store=store).update(status="ABANDONED", checkout_recovered_at=None)
    address = Concat(Value(f"b{seed}-"), Cast("id", CharField()), Value("@example.com"))
    AbandonedCheckout.objects.filter(store=store).update(buyer_email=address, email_key=address)
    ContactPolicy.objects.create(store=store, quiet_hours=False)
    automation = Automation.objects.get(store=store)
    if codes:
        DiscountOffer.objects.create(automation=automation, source="POOL")
        DiscountCode.objects.bulk_create(
            DiscountCode(store=store, automation=automation, code=f"B{seed}-{i:06d}") for i in range(steps * 2)
        )
    checkouts = list(AbandonedCheckout.objects.filter(store=store).select_related("store"))
    for start in range(0, len(checkouts), 2000):
        automations_schedule(abandoned_checkouts=checkouts[start : start + 2000])
    del checkouts
    mail.outbox = []
    counter = base.QueryCounter()
    backend = backend_pid_of(connection)
    cpu, server = time.process_time(), backend_cpu_seconds(backend)
    per_batch = []
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        while True:
            before = counter.count
            ids = claim_due_steps(now=timezone.now(), batch_size=batch_size)
            if not ids:
                break
            process_batch(ids)
            per_batch.append(counter.count - before)
    elapsed = time.perf_counter() - started
    used = time.process_time() - cpu + backend_cpu_seconds(backend) - server
    done = ScheduledStep.objects.filter(abandoned_checkout__store=store, state="DONE").count()
    assert done == steps == len(mail.outbox), (done, steps, len(mail.outbox))
    if codes:
        assert DiscountGrant.objects.filter(automation=automation).count() == steps
    return done / elapsed, done / used, set(per_batch[:-1]) or set(per_batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    base.scratch_database()
    base.setup_django()
    figures = {False: [], True: []}
    for round_ in range(args.rounds):
        for codes in (False, True):
            wall, cpu, queries = one_round(
                steps=args.steps, batch_size=args.batch_size, codes=codes, seed=round_ * 2 + codes
            )
            figures[codes].append((wall, cpu))
            label = "B pool codes" if codes else "A no offer  "
            print(
                f"round {round_ + 1} {label}: {wall:,.0f} steps/s wall, {cpu:,.0f} steps/CPU-s, "
                f"queries per full batch {sorted(queries)} (load {os.getloadavg()[0]:.1f})"
            )
    for codes, label in ((False, "A no offer"), (True, "B pool codes")):
        walls, cpus = zip(*figures[codes], strict=True)
        print(
            f"{label}: median {statistics.median(walls):,.0f} steps/s wall, "
            f"{statistics.median(cpus):,.0f} steps per CPU-second (target ≥ 500 steps/s)"
        )


if __name__ == "__main__":
    main()
