"""Signed Shopify webhooks over real HTTP: how many a second 2 gunicorn workers take, and one worker drains.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_inbox \\
        .venv/bin/python tests/benchmarks/bench_shopify.py [--seconds 5] [--items 10 100] [--rounds 3] \\
        [--threads 4] [--clients 8] [--drain-rounds 1] [--client wrk|python] [--compare OTHER_CHECKOUT]

It migrates the database, makes a store with a Shopify connection per run (a fresh encryption key
shared with the server), starts gunicorn through tests/benchmarks/server.py (2 workers, production
settings; `--threads 4`: gthread, as the Procfile deploys, the default; `--threads 1`: sync workers)
and for each round and each line-item count sends distinct `checkouts/update` webhooks, signed with
the client secret, for `--seconds` from `--clients` keep-alive connections: the accept rate (the
receiver verifies, checks and stores each body in the inbox). The load generator is `wrk` when
installed (apt-get install wrk; bench_shopify.lua), else Python threads; either way the bodies and
their signatures are made before timing, since the HMAC covers only the body, and each request gets
its own X-Shopify-Webhook-Id. Every request must answer 200 and leave one receipt. In the first
`--drain-rounds` rounds this process then drains the inbox as one worker would
(`connection_inbox_drain`: maps and ingests): the drain rate, and every body must land as a checkout;
later rounds delete their receipts instead (a 100-item drain costs ~10 ms a delivery).

Each round also sends to two trivial views (tests/benchmarks/shopify_urls.py): one through the whole
middleware chain, one through the receivers' middleware fast path. They anchor the figures: what a
request costs this machine's gunicorn and Django before a receiver does anything. Anchors, sizes and
phases interleave, so a busy machine weighs on all figures alike. The load-independent figures are CPU
per request: the web workers' (their /proc times), the load generator's (its own CPU: it shares the
cores) and PostgreSQL's (the backends connected to this database). `--compare DIR` serves a second
checkout of the code (for example `git worktree add` of an older commit) from a second gunicorn and
runs every phase against both, alternating which goes first: before and after, interleaved.
The issue's target is ≥ 1,000 accepted a second; the load generator and PostgreSQL share the cores.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
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
from django.db import connection as db  # noqa: E402

from checkouts.models import Checkout, ConnectionReceipt  # noqa: E402
from checkouts.services import store_create  # noqa: E402
from checkouts.services.connection_inbox import connection_inbox_drain  # noqa: E402
from checkouts.services.connections import connection_create  # noqa: E402
from tests.benchmarks.cpu import backend_cpu_seconds  # noqa: E402
from tests.benchmarks.server import Server, gunicorn_server, production_env  # noqa: E402

SECRET = "shpss_" + secrets.token_hex(16)
LUA = Path(__file__).with_name("bench_shopify.lua")
ANCHORS = {"bare, full chain": "/bench/bare/", "bare, /connect/ middleware fast path": "/connect/bench-bare/"}


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


def signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def database_cpu_seconds() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to this database (the workers' among them)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    used = {}
    for pid in pids:
        with suppress(OSError):  # ended meanwhile
            used[pid] = backend_cpu_seconds(pid)
    return used


class Timed:
    """One phase's figures: requests answered, their wall time, latencies, failures, and CPU per request."""

    def __init__(self, requests, seconds, p50_ms, p95_ms, failures):
        self.requests, self.seconds, self.failures = requests, seconds, failures
        self.p50_ms, self.p95_ms = p50_ms, p95_ms
        self.web_ms = self.client_ms = self.db_ms = 0.0


def send_wrk(*, port: int, path: str, requests: Path, run: str, clients: int, seconds: int) -> Timed:
    """wrk for `seconds` from `clients` connections, with the bodies and signatures `wrk_files` wrote."""
    threads = min(2, clients)
    command = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s"]
    command += ["-s", str(LUA), f"http://127.0.0.1:{port}", "--"]
    command += [path, str(requests / "bodies"), str(requests / "signatures"), run, str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stderr or done.stdout}")
    figures = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    return Timed(
        figures["requests"],
        figures["duration_us"] / 1e6,
        figures["p50_us"] / 1000,
        figures["p95_us"] / 1000,
        figures["non_2xx"] + figures["socket_errors"],
    )


def wrk_files(folder: Path, bodies: list[bytes], signatures: list[str]) -> Path:
    """The bodies and their signatures, one a line, for bench_shopify.lua (written before timing)."""
    folder.mkdir()
    (folder / "bodies").write_bytes(b"\n".join(bodies) + b"\n")
    (folder / "signatures").write_text("\n".join(signatures) + "\n")
    return folder


def send_python(*, port: int, path: str, requests: Path, run: str, clients: int, seconds: int) -> Timed:
    """The same from `clients` threads with keep-alive connections (no wrk): a costlier load generator."""
    bodies = (requests / "bodies").read_bytes().splitlines()
    signatures = (requests / "signatures").read_text().splitlines()
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    headers = {
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",
        "X-Shopify-Topic": "checkouts/update",
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
    }
    deadline = time.perf_counter() + seconds

    def client() -> None:
        http = HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad = [], []
        for n in counter:  # shared iterator: next() on a range iterator is atomic under the GIL
            if time.perf_counter() >= deadline:
                break
            k = n % len(bodies)
            sent = {**headers, "X-Shopify-Hmac-Sha256": signatures[k], "X-Shopify-Webhook-Id": f"{run}-{n}"}
            started = time.perf_counter()
            http.request("POST", path, body=bodies[k], headers=sent)
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
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Timed(
        len(latencies),
        elapsed,
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.95)] * 1000,
        len(failures),
    )


def timed(send, server: Server, **kwargs) -> Timed:
    """`send` against `server`, with the CPU its workers, the load generator and PostgreSQL spent per request."""
    web, database = _workers_cpu(server), database_cpu_seconds()
    children, own = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
    result = send(port=server.port, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) + (time.process_time() - own)
    count = max(result.requests, 1)
    result.web_ms = (_workers_cpu(server) - web) / count * 1000
    database_after = database_cpu_seconds()
    used = sum(seconds - database.get(pid, 0.0) for pid, seconds in database_after.items())
    result.db_ms = used / count * 1000
    result.client_ms = client / count * 1000
    return result


def _workers_cpu(server: Server) -> float:
    return sum(backend_cpu_seconds(pid) for pid in server.worker_pids)


def settled_count(queryset) -> int:
    """The count once it stops moving: requests wrk left in flight at its stop are still being stored."""
    count = queryset.count()
    while True:
        time.sleep(0.3)
        again = queryset.count()
        if again == count:
            return count
        count = again


HEADER = (
    "| round | code | request | line items | answered/s (target ≥ 1,000) | median ms | p95 ms "
    "| web CPU ms/request | client CPU ms/request | PostgreSQL CPU ms/request "
    "| drained/s, one worker | drain CPU ms (Python) per delivery | non-200 | stored / landed | load avg (1 min) |"
)


def row(round_, code, what, items, result: Timed, *, drain="– | –", landed="–") -> str:
    return (
        f"| {round_ + 1} | {code} | {what} | {items} | {result.requests / result.seconds:,.0f} | {result.p50_ms:.1f} "
        f"| {result.p95_ms:.1f} | {result.web_ms:.2f} | {result.client_ms:.2f} | {result.db_ms:.2f} | {drain} "
        f"| {result.failures} | {landed} | {os.getloadavg()[0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--items", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="per worker: 4 = gthread as deployed, 1 = sync")
    parser.add_argument("--drain-rounds", type=int, default=1, help="rounds whose deliveries are drained")
    parser.add_argument(
        "--bodies",
        type=int,
        default=3000,
        help="distinct 10-item checkouts per run (fewer for more items), then repeated",
    )
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--compare", type=Path, help="another checkout of the code, served alongside")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    # What an earlier, interrupted run left cannot be drained: each run encrypts its secrets with its own key.
    ConnectionReceipt.objects.filter(connection__store__name__startswith="Shopify bench").delete()
    send = send_wrk if args.client == "wrk" else send_python
    env = production_env(
        DJANGO_SETTINGS_MODULE="tests.benchmarks.shopify_settings",
        COMEBACK_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        COMEBACK_VAR_DIR=os.environ.get("COMEBACK_VAR_DIR", "/tmp/var_bench_shopify"),
    )
    roots = {"this": ROOT, **({"compared": args.compare.resolve()} if args.compare else {})}
    rows: list[str] = []
    broken = False
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = {
            code: stack.enter_context(gunicorn_server(env, workers=2, threads=args.threads, root=root))
            for code, root in roots.items()
        }
        for round_ in range(args.rounds):
            order = list(servers.items()) if round_ % 2 == 0 else list(reversed(servers.items()))
            for what, path in ANCHORS.items():
                for code, server in order:
                    run = secrets.token_hex(4)
                    bodies = [payload(n, 10, run) for n in range(200)]
                    requests = wrk_files(scratch / run, bodies, [""] * len(bodies))
                    result = timed(
                        send,
                        server,
                        path=path,
                        requests=requests,
                        run=run,
                        clients=args.clients,
                        seconds=args.seconds,
                    )
                    rows.append(row(round_, code, what, 10, result))
                    print(rows[-1], flush=True)
                    broken = broken or bool(result.failures)
            for items in args.items:
                for code, server in order:
                    run = secrets.token_hex(4)
                    store = store_create(name=f"Shopify bench {run}", currency="USD", language="en", time_zone="UTC")
                    connection = connection_create(store=store, platform="shopify", secret=SECRET)
                    pool = min(args.bodies, args.bodies * 30 // items)  # bodies wrk loads per thread: <= ~14 MB
                    bodies = [payload(n, items, run) for n in range(pool)]
                    requests = wrk_files(scratch / run, bodies, [signature(body) for body in bodies])
                    path = f"/connect/shopify/{connection.token}/"
                    result = timed(
                        send,
                        server,
                        path=path,
                        requests=requests,
                        run=run,
                        clients=args.clients,
                        seconds=args.seconds,
                    )
                    receipts = ConnectionReceipt.objects.filter(connection=connection)
                    stored = settled_count(receipts)
                    # wrk's threads wrap around their share of the bodies at their own pace: what must land is
                    # one checkout per distinct body stored.
                    distinct = receipts.values("payload").distinct().count()
                    drain = "– | –"
                    if round_ < args.drain_rounds:
                        started, drain_cpu = time.perf_counter(), time.process_time()
                        drained = connection_inbox_drain()
                        drain_elapsed = time.perf_counter() - started
                        drain_cpu = (time.process_time() - drain_cpu) / max(drained, 1) * 1000
                        drain = f"{drained / drain_elapsed:,.0f} | {drain_cpu:.2f}"
                        landed = Checkout.objects.filter(store=store).count()
                    else:
                        receipts.delete()
                        landed = distinct
                    rows.append(
                        row(
                            round_,
                            code,
                            "Shopify checkouts/update",
                            items,
                            result,
                            drain=drain,
                            landed=f"{stored} / {landed}",
                        )
                    )
                    print(rows[-1], flush=True)
                    # wrk counts the answers it read: up to one request per connection was still in flight at the end.
                    in_flight = stored - result.requests
                    broken = broken or bool(result.failures) or not 0 <= in_flight <= args.clients
                    broken = broken or landed != distinct
    workers = "sync workers" if args.threads == 1 else f"gthread workers, {args.threads} threads each"
    print(f"\n{args.seconds:g} s per run, {args.clients} connections from {args.client}; 2 gunicorn {workers}")
    print(HEADER)
    print("|" + " --- |" * (HEADER.count("|") - 1))
    print("\n".join(rows))
    if broken:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
