"""Ingest over real HTTP against the bare-SQL floor of the same rows, measured in the same run.

    createdb -h 127.0.0.1 -U postgres comeback_bench_ingest
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench_ingest \\
        .venv/bin/python tests/benchmarks/bench_ingest.py

It migrates the database, makes a store and a fresh API key with the `ingest` scope, starts
gunicorn as the Procfile does (2 workers x 4 threads, production settings; the shared
`tests/benchmarks/server.py`) and posts batches of 100 `checkout.updated` events of new
checkouts from 4 client threads, each on a keep-alive connection with the key in
Authorization. Each round is followed by the floor: the same rows, as the ingest writes
them, sent by 4 connections as one bare `INSERT ... ON CONFLICT DO UPDATE` per 100 rows and
committed (no HTTP, no validation, no event ids). The floor's statements are written out,
values and all, before its clock starts, so it times PostgreSQL and not this process
adapting parameters in Python. Rounds interleave (ingest, floor, ingest, floor, ...) so a busy machine slows
both alike; the figures are medians over the rounds. Targets (issue 17): >= 5,000 events/s,
p95 <= 250 ms per request, within 3x of the floor, and the same statements per batch
whatever its size (counted in-process on 10- and 100-event batches).

Rate-limit counters are kept in each worker's memory here (production counts them in
Redis), with a limit no run reaches: the figures are the ingest's, not the limiter's.
"""

import os
import queue
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
# The bench database's own key, shared with the server it starts (production refuses the public
# development key). It guards nothing but benchmark rows.
os.environ.setdefault("COMEBACK_ENCRYPTION_KEYS", "wvN-RY9Iy2TF6sPxoxl8Ld852H-o9RF1ku2Ev4AiZQs=")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from checkouts.ingest_serializers import checkout_event_validate  # noqa: E402
from checkouts.ingest_snapshot import snapshot_from_wix  # noqa: E402
from checkouts.models import Checkout, CheckoutData, Store  # noqa: E402
from checkouts.services import api_key_create, checkout_events_ingest, store_create  # noqa: E402
from tests.benchmarks.cpu import backend_cpu_seconds  # noqa: E402
from tests.benchmarks.server import Server, gunicorn_server, production_env  # noqa: E402

BATCH = 100
CLIENTS = 4
BATCHES_PER_ROUND = 120  # 12,000 events a round
ROUNDS = 5  # `bench_ingest.py 3` runs three
WARMUP_BATCHES = 16
TARGET_RATE, TARGET_P95_MS, TARGET_FLOOR_RATIO = 5000, 250, 3
STORE_NAME = "bench-ingest"


def server_env() -> dict[str, str]:
    """Production settings, with rate-limit counters in the workers' memory and a limit no run reaches."""
    return production_env(
        CACHE_URL="locmemcache://",
        COMEBACK_INGEST_RATE_LIMIT="10000000/minute",
        COMEBACK_ENCRYPTION_KEYS=os.environ["COMEBACK_ENCRYPTION_KEYS"],
        COMEBACK_VAR_DIR=os.environ.get("COMEBACK_VAR_DIR", "/tmp/var_bench_ingest"),
    )


def workers_cpu_seconds(server: Server) -> float:
    """CPU seconds the gunicorn workers have used so far: load-independent, unlike wall time."""
    return sum(backend_cpu_seconds(pid) for pid in server.worker_pids)


def database_backends() -> list[int]:
    """The pids of the other backends connected to this database: the gunicorn threads' connections
    (kept open between requests, CONN_MAX_AGE) once they have served a request."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def backends_cpu_seconds(pids: list[int]) -> dict[int, float]:
    readings = {}
    for pid in pids:
        try:
            readings[pid] = backend_cpu_seconds(pid)
        except OSError:
            continue  # closed meanwhile (its connection reached CONN_MAX_AGE)
    return readings


def make_batches(tag: str, count: int) -> list[list[dict]]:
    """`count` batches of updates of new checkouts, shaped like a storefront's (two line items)."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    batches = []
    for number in range(count):
        batch = []
        for index in range(BATCH):
            external_id = f"{tag}-{number}-{index}"
            total = f"{50 + index}.00"
            batch.append(
                {
                    "eventId": str(uuid.uuid4()),
                    "type": "checkout.updated",
                    "occurredAt": (now + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z"),
                    "checkout": {
                        "id": external_id,
                        "cartId": f"cart-{external_id}",
                        "buyerInfo": {"email": f"buyer{index}@example.com", "visitorId": str(uuid.uuid4())},
                        "contactDetails": {"firstName": "Ada", "lastName": "Lovelace", "phone": "+15555550100"},
                        "buyerLanguage": "en",
                        "currency": "USD",
                        "subtotalPrice": {"amount": total},
                        "totalPrice": {"amount": total},
                        "lineItems": [
                            {
                                "id": f"li-{line}",
                                "quantity": 1,
                                "productName": {"original": f"Product {line}"},
                                "catalogReference": {"catalogItemId": f"sku-{line}", "appId": "bench"},
                                "price": {"amount": f"{25 + line}.00"},
                                "image": {"url": f"https://shop.example.com/{line}.png", "width": 240, "height": 240},
                            }
                            for line in range(2)
                        ],
                        "checkoutUrl": f"https://shop.example.com/checkout/{external_id}",
                    },
                }
            )
        batches.append(batch)
    return batches


def post_batches(port: int, key: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    """Send every body from CLIENTS threads; (wall seconds, per-request seconds)."""
    work: queue.Queue = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    errors: list[str] = []

    def client():
        http = HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": key, "Content-Type": "application/json", "X-Forwarded-Proto": "https"}
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            http.request("POST", "/api/v1/checkout-events", body=body, headers=headers)
            response = http.getresponse()
            text = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                errors.append(f"{response.status}: {text[:300]!r}")
        http.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"ingest answered {errors[0]}")
    return wall, latencies


_FIELDS = [
    Checkout._meta.get_field(name)
    for name in (
        "store",
        "external_id",
        *CheckoutData.SNAPSHOT_FIELDS,
        "last_activity_at",
        "snapshot_event_id",
        "abandon_due_at",
        "order_id",
        "created_at",
        "updated_at",
    )
]


def floor_rows(store: Store, batches: list[list[dict]]) -> list[list[tuple]]:
    """The rows the ingest writes for these events, built before the clock starts."""
    now = datetime.now(UTC)
    out = []
    for batch in batches:
        rows = []
        for raw in batch:
            event, _ = checkout_event_validate(raw)
            values = {
                "store": store.pk,
                "external_id": event["checkout"]["id"],
                **snapshot_from_wix(event["checkout"], language=store.language),
                "last_activity_at": event["occurredAt"],
                "snapshot_event_id": event["eventId"],
                "abandon_due_at": event["occurredAt"] + store.abandon_after,
                "order_id": "",
                "created_at": now,
                "updated_at": now,
            }
            rows.append(tuple(field.get_db_prep_save(values[field.name], connection) for field in _FIELDS))
        out.append(rows)
    return out


def floor_sql() -> str:
    table = Checkout._meta.db_table
    columns = ", ".join(field.column for field in _FIELDS)
    updates = ", ".join(f"{field.column} = EXCLUDED.{field.column}" for field in _FIELDS[2:-3])
    row = "(" + ", ".join(["%s"] * len(_FIELDS)) + ")"
    return (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * BATCH)} "  # noqa: S608  # nosec B608
        f"ON CONFLICT (store_id, external_id) DO UPDATE SET {updates}"
    )


def floor_statements(batches: list[list[tuple]]) -> list[bytes]:
    """Each batch's upsert with its values written in, before the clock starts: the timed loop
    only sends text, so the floor is PostgreSQL's work and not this process adapting 3,800
    parameters a batch in Python (under one GIL for the four threads)."""
    sql = floor_sql()
    with psycopg.connect(os.environ["DATABASE_URL"]) as db:
        mogrify = psycopg.ClientCursor(db).mogrify
        return [mogrify(sql, [value for row in rows for value in row]).encode() for rows in batches]


def insert_floor(statements: list[bytes]) -> tuple[float, float]:
    """One bare upsert per batch from CLIENTS connections, each committed; (wall seconds, backends' CPU seconds)."""
    work: queue.Queue = queue.Queue()
    for statement in statements:
        work.put(statement)
    url = os.environ["DATABASE_URL"]
    ready = threading.Barrier(CLIENTS + 1)
    cpu: list[float] = []

    def client():
        with psycopg.connect(url, autocommit=False) as db:
            before = backend_cpu_seconds(db.info.backend_pid)
            ready.wait()
            while True:
                try:
                    statement = work.get_nowait()
                except queue.Empty:
                    break
                db.execute(statement)
                db.commit()
            cpu.append(backend_cpu_seconds(db.info.backend_pid) - before)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sum(cpu)


def statements_per_batch(store: Store, size: int) -> int:
    """Statements of one batch of `size` new checkouts, BEGIN and COMMIT aside."""
    batch = make_batches(f"count-{size}-{uuid.uuid4().hex[:6]}", 1)[0][:size]
    with CaptureQueriesContext(connection) as captured:
        checkout_events_ingest(store=store, events=batch)
    return sum(1 for query in captured if query["sql"] not in ("BEGIN", "COMMIT"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgres://.../comeback_bench_ingest")
    call_command("migrate", verbosity=0)
    store = Store.objects.filter(name=STORE_NAME).first() or store_create(name=STORE_NAME, currency="USD")
    floor_store = Store.objects.filter(name=f"{STORE_NAME}-floor").first() or store_create(
        name=f"{STORE_NAME}-floor", currency="USD"
    )
    _, key = api_key_create(store=store, name=f"bench {datetime.now(UTC):%Y-%m-%d %H:%M}", scopes=["ingest"])
    statements = {size: statements_per_batch(store, size) for size in (10, BATCH)}

    run = uuid.uuid4().hex[:8]
    rates, floors, latencies, web_cpu, pg_cpu, floor_cpu = [], [], [], [], [], []
    load_before = os.getloadavg()
    with gunicorn_server(server_env(), workers=2, threads=4) as server:
        port = server.port
        post_batches(port, key, [orjson.dumps({"events": b}) for b in make_batches(f"warm-{run}", WARMUP_BATCHES)])
        for round_ in range(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS):
            batches = make_batches(f"{run}-{round_}", BATCHES_PER_ROUND)
            bodies = [orjson.dumps({"events": batch}) for batch in batches]
            events = BATCHES_PER_ROUND * BATCH
            cpu_before = workers_cpu_seconds(server)
            pg_before = backends_cpu_seconds(database_backends())
            wall, times = post_batches(port, key, bodies)
            pg_after = backends_cpu_seconds(database_backends())
            web_cpu.append((workers_cpu_seconds(server) - cpu_before) / events * 1000)
            pg_cpu.append(sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items()) / events * 1000)
            rates.append(events / wall)
            latencies.extend(times)
            rows = floor_rows(floor_store, make_batches(f"floor-{run}-{round_}", BATCHES_PER_ROUND))
            floor_wall, floor_backends = insert_floor(floor_statements(rows))
            floors.append(events / floor_wall)
            floor_cpu.append(floor_backends / events * 1000)
            print(
                f"round {round_ + 1}: ingest {rates[-1]:,.0f} events/s (CPU per event: {web_cpu[-1]:.3f} ms web"
                f" workers + {pg_cpu[-1]:.3f} ms PostgreSQL), floor {floors[-1]:,.0f} events/s"
                f" ({floor_cpu[-1]:.3f} ms PostgreSQL)"
            )

    rate, floor = statistics.median(rates), statistics.median(floors)
    p50, p95 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.95) * 1000
    print(f"\n{'ingest events/s':<28}{'p50 ms':>8}{'p95 ms':>8}{'statements/batch':>18}{'floor events/s':>16}")
    constant = statements[10] == statements[BATCH]
    print(f"{rate:<28,.0f}{p50:>8.1f}{p95:>8.1f}{statements[BATCH]:>18}{floor:>16,.0f}")
    web, pg, bare = statistics.median(web_cpu), statistics.median(pg_cpu), statistics.median(floor_cpu)
    print(f"CPU per event, ingest: {web:.3f} ms web workers + {pg:.3f} ms PostgreSQL = {web + pg:.3f} ms")
    print(f"CPU per event, floor:  {bare:.3f} ms PostgreSQL (CPU ratio {(web + pg) / bare:.1f}x)")
    print(f"load average: {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores)")
    checks = [
        ("events/s", f"{rate:,.0f}", f">= {TARGET_RATE:,}", rate >= TARGET_RATE),
        ("p95 per 100-event request", f"{p95:.0f} ms", f"<= {TARGET_P95_MS} ms", p95 <= TARGET_P95_MS),
        ("floor / ingest", f"{floor / rate:.2f}x", f"<= {TARGET_FLOOR_RATIO}x", floor / rate <= TARGET_FLOOR_RATIO),
        ("statements, 10 vs 100 events", f"{statements[10]} vs {statements[BATCH]}", "the same", constant),
    ]
    print()
    for name, value, target, ok in checks:
        print(f"{name:<32}{value:>14}  (target {target})  {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if all(ok for *_, ok in checks) else 1)


if __name__ == "__main__":
    main()
