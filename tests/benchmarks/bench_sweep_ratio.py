"""Benchmark: the sweep against its floor, in turns (sweep, floor, sweep, floor, …).

Issue 17 asks for the sweep within 1.3× of its floor. The machine is shared and its speed
drifts from minute to minute, so the two run alternately on the same freshly loaded data,
and the report is the median of each and their ratio, per size.

    .venv/bin/python tests/benchmarks/bench_sweep_ratio.py [--counts 20000 100000] [--rounds 5] [--threads N]

Both run in the same number of threads (COMEBACK_SWEEP_THREADS, as the production sweep), each
with a connection of its own. Each round also prints the CPU each spent: this process's (the
sweep's Python) and that of the backends each used, read from /proc per backend.

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
    parser.add_argument("--threads", type=int, help="threads for both (default: COMEBACK_SWEEP_THREADS)")
    args = parser.parse_args()

    import logging

    import django

    from tests.benchmarks.bench_sweep import bench_database_create

    bench_database_create()
    django.setup()
    logging.disable(logging.INFO)  # a line per sweep batch would drown the figures
    from django.conf import settings

    from config.celery_app import startup_heap_freeze
    from tests.benchmarks.bench_sweep import sweep_run
    from tests.benchmarks.bench_sweep_floor import floor_run

    startup_heap_freeze()  # as a worker does once it has started
    threads = args.threads or settings.COMEBACK_SWEEP_THREADS
    for count in args.counts:
        sweeps, floors, sweep_cpu, floor_cpu = [], [], [], []
        for round_ in range(1, args.rounds + 1):
            seconds, created, python, backends = sweep_run(count=count, threads=threads)
            assert created == count, (created, count)
            sweeps.append(seconds)
            sweep_cpu.append((python, backends))
            seconds, created, backends = floor_run(count=count, threads=threads)
            assert created == count, (created, count)
            floors.append(seconds)
            floor_cpu.append(backends)
            print(
                f"{count:,} round {round_}: sweep {sweeps[-1]:.2f} s (CPU {python:.2f} s Python + "
                f"{sweep_cpu[-1][1]:.2f} s PostgreSQL), floor {floors[-1]:.2f} s (CPU {backends:.2f} s PostgreSQL); "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        sweep, floor = statistics.median(sweeps), statistics.median(floors)
        ratios = statistics.median(s / f for s, f in zip(sweeps, floors, strict=True))
        python = statistics.median(p for p, _ in sweep_cpu)
        database = statistics.median(b for _, b in sweep_cpu)
        cpu_ratio = statistics.median((p + b) / f for (p, b), f in zip(sweep_cpu, floor_cpu, strict=True))
        print(
            f"{count:,} in {threads} thread(s): sweep {sweep:.2f} s, floor {floor:.2f} s (medians of {args.rounds}); "
            f"sweep/floor {sweep / floor:.2f} (median of the rounds' ratios {ratios:.2f}); "
            f"CPU: sweep {python:.2f} s Python + {database:.2f} s PostgreSQL, floor "
            f"{statistics.median(floor_cpu):.2f} s PostgreSQL, ratio {cpu_ratio:.2f} (median of the rounds'); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )


if __name__ == "__main__":
    main()
