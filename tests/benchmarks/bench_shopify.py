"""Signed Shopify webhooks over real HTTP: how many a second 2 gunicorn workers take, and one worker drains.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_inbox \\
        .venv/bin/python tests/benchmarks/bench_shopify.py [--deliveries 3000] [--items 10 100] [--rounds 3] \\
        [--threads 1]

It migrates the database, makes a store with a Shopify connection (a fresh encryption key shared
with the server), starts gunicorn (2 workers, production settings; `--threads 1`: sync workers,
`--threads 4`: gthread as deployed) on this machine, and for each round and each line-item count
sends `--deliveries` distinct `checkouts/update` webhooks, signed with the client secret, from
`--clients` connections at once: the accept rate (the receiver verifies, checks and stores each body
in the inbox). Then this process drains the inbox as one worker would (`connection_inbox_drain`:
maps and ingests): the drain rate. Every delivery must answer 200 and land as one checkout.

Each round also sends as many requests to two trivial views (tests/benchmarks/shopify_urls.py): one
through the whole middleware chain, one through the receivers' fast path. They anchor the figures: what
a request costs this machine's gunicorn and Django before a receiver does anything. Anchors, sizes and
phases interleave, so a busy machine weighs on all figures alike; the web CPU per request (the workers'
/proc times) is the load-independent figure. The issue's target is ≥ 1,000 accepted a second; the load
generator and PostgreSQL run on the same cores.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
os.environ["COMEBACK_ENCRYPTION_KEYS"] = ENCRYPTION_KEY

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from checkouts.models import Checkout  # noqa: E402
from checkouts.services import store_create  # noqa: E402
from checkouts.services.connection_inbox import connection_inbox_drain  # noqa: E402
from checkouts.services.connections import connection_create  # noqa: E402
from tests.benchmarks.cpu import backend_cpu_seconds  # noqa: E402

SECRET = "shpss_" + secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, threads: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "COMEBACK_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.benchmarks.shopify_settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        COMEBACK_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        EMAIL_URL="consolemail://",
        COMEBACK_LOG_FORMAT="plain",
        COMEBACK_VAR_DIR=os.environ.get("COMEBACK_VAR_DIR", "/tmp/var_bench_shopify"),
        DJANGO_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--workers",
            "2",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def payload(n: int, items: int, run: str) -> bytes:
    return json.dumps(
        {
            "token": f"bench-{run}-{n}",
            "cart_token": f"cart-{n}",
            "email": f"buyer{n}@example.com",
            "currency": "USD",
            "presentment_currency": "USD",
            "customer_locale": "en",
            "updated_at": "2025-03-01T10:05:00+00:00",
            "total_price": f"{items * 20}.00",
            "subtotal_price": f"{items * 20}.00",
            "buyer_accepts_marketing": True,
            "abandoned_checkout_url": f"https://shop.example.com/1/checkouts/bench-{n}/recover?key=k",
            "customer": {"id": n, "first_name": "Ana", "last_name": "Lima"},
            "line_items": [
                {
                    "key": f"k{i}",
                    "product_id": i,
                    "variant_id": i,
                    "sku": f"SKU-{i}",
                    "title": f"Item {i}",
                    "variant_title": "Blue",
                    "quantity": 1,
                    "price": "20.00",
                }
                for i in range(items)
            ],
        }
    ).encode()


def workers_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU seconds the gunicorn workers have used so far: load-independent, unlike wall time."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return sum(backend_cpu_seconds(int(pid)) for pid in children)


def send(*, port: int, path: str, bodies: list[bytes], signatures: list[str], run: str, clients: int):
    """POST every body from `clients` keep-alive connections at once: (elapsed seconds, latencies, non-200s)."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    counter = iter(range(len(bodies)))

    def client() -> None:
        http = HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad = [], []
        for n in counter:  # shared iterator: next() on a range iterator is atomic under the GIL
            headers = {
                "Content-Type": "application/json",
                "X-Forwarded-Proto": "https",
                "X-Shopify-Topic": "checkouts/update",
                "X-Shopify-Hmac-Sha256": signatures[n],
                "X-Shopify-Webhook-Id": f"{run}-{n}",
                "X-Shopify-Shop-Domain": "bench.myshopify.com",
            }
            started = time.perf_counter()
            http.request("POST", path, body=bodies[n], headers=headers)
            response = http.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                bad.append(response.status)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sorted(latencies), failures


ANCHORS = {"bare, full chain": "/bench/bare/", "bare, /connect/ fast path": "/connect/bench-bare/"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--items", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="per worker: 1 = sync workers, 4 = gthread as deployed")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    connection_inbox_drain()  # whatever an earlier, interrupted run left
    port = free_port()
    server = start_server(port, args.threads)
    rows: list[str] = []
    broken = False
    try:
        for round_ in range(args.rounds):
            for what, path in ANCHORS.items():
                run = secrets.token_hex(4)
                bodies = [payload(n, 10, run) for n in range(args.deliveries)]
                cpu_before = workers_cpu_seconds(server)
                elapsed, latencies, failures = send(
                    port=port, path=path, bodies=bodies, signatures=[""] * len(bodies), run=run, clients=args.clients
                )
                web_cpu = (workers_cpu_seconds(server) - cpu_before) / args.deliveries * 1000
                rows.append(row(round_, what, 10, args.deliveries / elapsed, latencies, web_cpu, failures=failures))
                print(rows[-1], flush=True)
                broken = broken or bool(failures)
            for items in args.items:
                run = secrets.token_hex(4)
                store = store_create(name=f"Shopify bench {run}", currency="USD", language="en", time_zone="UTC")
                connection = connection_create(store=store, platform="shopify", secret=SECRET)
                bodies = [payload(n, items, run) for n in range(args.deliveries)]
                signatures = [
                    base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
                    for body in bodies
                ]
                path = f"/connect/shopify/{connection.token}/"
                cpu_before = workers_cpu_seconds(server)
                elapsed, latencies, failures = send(
                    port=port, path=path, bodies=bodies, signatures=signatures, run=run, clients=args.clients
                )
                web_cpu = (workers_cpu_seconds(server) - cpu_before) / args.deliveries * 1000
                started, drain_cpu = time.perf_counter(), time.process_time()
                drained = connection_inbox_drain()
                drain_elapsed = time.perf_counter() - started
                drain_cpu = (time.process_time() - drain_cpu) / max(drained, 1) * 1000
                landed = Checkout.objects.filter(store=store).count()
                rows.append(
                    row(
                        round_,
                        "Shopify checkouts/update",
                        items,
                        args.deliveries / elapsed,
                        latencies,
                        web_cpu,
                        failures=failures,
                        drain=f"{drained / drain_elapsed:,.0f} | {drain_cpu:.2f}",
                        landed=landed,
                    )
                )
                print(rows[-1], flush=True)
                broken = broken or bool(failures) or landed != args.deliveries
    finally:
        server.terminate()
        server.wait()
    workers = "sync workers" if args.threads == 1 else f"gthread workers, {args.threads} threads each"
    print(f"\n{args.deliveries} requests per run, {args.clients} clients; 2 gunicorn {workers}")
    print(
        "| round | request | line items | answered/s (target ≥ 1,000) | median ms | p95 ms | web CPU ms per request "
        "| drained/s, one worker | drain CPU ms (Python) per delivery | non-200 | checkouts landed | load avg (1 min) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    if broken:
        raise SystemExit(1)


def row(round_, what, items, rate, latencies, web_cpu, *, failures, drain="– | –", landed="–") -> str:
    return (
        f"| {round_ + 1} | {what} | {items} | {rate:,.0f} | {statistics.median(latencies) * 1000:.1f} "
        f"| {latencies[int(len(latencies) * 0.95)] * 1000:.1f} | {web_cpu:.2f} | {drain} | {len(failures)} "
        f"| {landed} | {os.getloadavg()[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
