"""Benchmark: the sweep against its floor, in turns (sweep, floor, sweep, floor, …).

Issue 17 asks for the sweep within 1.3× of its floor. The machine is shared and its speed
drifts from minute to minute, so the two run alternately on the same freshly loaded data,
and the report is the median of each and their ratio, per size.

    .venv/bin/python tests/benchmarks/bench_sweep_ratio.py [--counts 20000 100000] [--rounds 5]

The database (as for `bench_sweep.py`, by default comeback_bench_sweep) is emptied before
every run: never point it at real data.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/comeback_bench_sweep")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import logging

    import django

    from tests.benchmarks.bench_sweep import bench_database_create

    bench_database_create()
    django.setup()
    logging.disable(logging.INFO)  # a line per sweep batch would drown the figures
    from config.celery_app import startup_heap_freeze
    from tests.benchmarks.bench_sweep import sweep_run
    from tests.benchmarks.bench_sweep_floor import floor_run

    startup_heap_freeze()  # as a worker does once it has started
    for count in args.counts:
        sweeps, floors = [], []
        for round_ in range(1, args.rounds + 1):
            seconds, created = sweep_run(count=count)
            assert created == count, (created, count)
            sweeps.append(seconds)
            seconds, created, _ = floor_run(count=count)
            assert created == count, (created, count)
            floors.append(seconds)
            print(f"{count:,} round {round_}: sweep {sweeps[-1]:.2f} s, floor {floors[-1]:.2f} s", flush=True)
        sweep, floor = statistics.median(sweeps), statistics.median(floors)
        ratios = statistics.median(s / f for s, f in zip(sweeps, floors, strict=True))
        print(
            f"{count:,}: sweep {sweep:.2f} s, floor {floor:.2f} s (medians of {args.rounds}); "
            f"sweep/floor {sweep / floor:.2f} (median of the rounds' ratios {ratios:.2f}); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )


if __name__ == "__main__":
    main()
