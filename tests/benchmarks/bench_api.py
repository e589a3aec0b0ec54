"""The Wix-compatible Query method over real HTTP, on the seeded million-row database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench .venv/bin/python tests/benchmarks/bench_api.py

Seed first (`manage.py seed_demo --stores 5 --checkouts 200000`: it stores each row's wire
JSON; an older database needs `manage.py migrate` and `manage.py wire_refresh`). The script
makes a read-only API key for two stores (revoked at the end), starts gunicorn
(tests/benchmarks/server.py: one sync worker, production settings, the real API-key
authentication and middleware, CACHE_URL as this process has it) and times, interleaved round
by round (A B C D E, A B C D E, ...), each figure the median of ROUNDS:

  floor  the SQL the page-500 request runs (the key lookup, the page), bare, over psycopg
  A      Query page 1, smallest store
  B      Query page 1, largest store                                   ≤ 1.5× A
  C      Query page 500, largest store                                 ≤ 1.5× B, ≤ 2.5× the floor
  D      DRF's default list (bench_urls.py), page 500, largest store   ≥ 10× C

Three anchors show what any request costs before its own work: /healthz (gunicorn and the WSGI
handler), an empty view through the whole middleware chain, and an empty Wix route (the API's fast
path, DRF, the key and the throttle's Redis round trip), from tests/benchmarks/bench_urls.py.

It also prints each request's SQL count, read from the test client (same view, in-process), and
each scenario's CPU: the gunicorn worker's per HTTP request (all its threads, /proc schedstat),
this process's for the bare SQL. BENCH_API_THREADS=4 runs the worker as the Procfile does
(gthread, keep-alive) instead of gunicorn's sync worker.

Before/after on a busy machine: BENCH_API_BASELINE=<a tree of the older code> (e.g. `git archive
main | tar -x -C /tmp/base`, with its .venv) starts a second gunicorn from that tree, and each HTTP
scenario gets a "(baseline)" twin, timed in the same rounds, so both sides see the same load.
"""

import os
import secrets
import statistics
import sys
import time
from contextlib import ExitStack
from http.client import HTTPConnection, RemoteDisconnected
from pathlib import Path

import orjson
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SECRET = secrets.token_urlsafe(50)
# The cursors are signed: this process and the server share a fresh key.
os.environ["DJANGO_SECRET_KEY"] = SECRET
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from checkouts.api.listing import Lister, ListRequest  # noqa: E402
from checkouts.api.wql import DEFAULT_SORT, QUERY_SPEC, sort_keys  # noqa: E402
from checkouts.models import AbandonedCheckout, ApiKey, Store  # noqa: E402
from checkouts.pagination import position_of  # noqa: E402
from checkouts.selectors import abandoned_checkouts_with_activities  # noqa: E402
from checkouts.services import api_key_create, api_key_revoke  # noqa: E402
from checkouts.wire import wire_current  # noqa: E402
from checkouts.wix import abandoned_checkout_to_wix  # noqa: E402
from tests.benchmarks.server import gunicorn_server, production_env  # noqa: E402

PAGE = 100
DEEP_PAGE = 500
ROUNDS = 15
WARMUP = 3
QUERY = "/ecom/v1/abandoned-checkout/query"


def server_env() -> dict[str, str]:
    return production_env(
        DJANGO_SETTINGS_MODULE="tests.benchmarks.bench_settings",
        DJANGO_SECRET_KEY=SECRET,
        # The benchmark sends far more than a client may; the limiter still runs on each request.
        COMEBACK_API_RATE_LIMIT="1000000/minute",
        COMEBACK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )


class Api:
    """An app calling the API with its key, over HTTP/1.1 (reconnecting as gunicorn closes)."""

    def __init__(self, port: int, key: str):
        self.connection = HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Authorization": key}

    def timed(self, method: str, path: str, body: bytes | None = None) -> tuple[float, bytes]:
        headers = {**self.headers, **({"Content-Type": "application/json"} if body else {})}
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, RemoteDisconnected):
            # gthread closed the idle keep-alive connection (after 2 s): reconnect, as the sync worker always does.
            self.connection.close()
            started = time.perf_counter()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
        assert response.status == 200, f"{path} answered {response.status}: {content[:300]!r}"
        return elapsed * 1000, content


def cursor_for_page(store: Store, page: int) -> str:
    """The cursor the API hands out at the end of page `page - 1` (found with one OFFSET, untimed)."""
    keys = sort_keys(DEFAULT_SORT, QUERY_SPEC)
    boundary = (
        AbandonedCheckout.objects.filter(store=store)
        .order_by(*(key.order_by for key in keys))
        .only("id", "created_at")[(page - 1) * PAGE - 1]
    )
    lister = Lister(kind="query", spec=QUERY_SPEC, store=store, path="query")
    listing = ListRequest(filter=None, condition=Q(), sort=list(DEFAULT_SORT), search=None, limit=PAGE)
    return lister.issue_cursor(listing, position_of(boundary, keys), False)


def request_sql(key: str, body: bytes) -> list[str]:
    """The SQL statements the Query request runs, as the test client sees the same view run them."""
    client = Client(HTTP_AUTHORIZATION=key)
    client.post(QUERY, body, content_type="application/json")  # the key's last_used_at: once a minute
    with CaptureQueriesContext(connection) as captured:
        assert client.post(QUERY, body, content_type="application/json").status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def bare_sql(statements: list[str]) -> float:
    """ms to run and fetch the statements over this process's own connection (the floor)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def page_rows_current(store: Store, page: int) -> int:
    keys = sort_keys(DEFAULT_SORT, QUERY_SPEC)
    rows = AbandonedCheckout.objects.filter(store=store).order_by(*(key.order_by for key in keys))
    start = (page - 1) * PAGE
    return sum(wire_current(row, store=store) for row in rows[start : start + PAGE])


def assert_built_alike(entities: list[dict], store: Store) -> None:
    """The served entities are, byte for byte, what Python builds from the rows now."""
    rows = abandoned_checkouts_with_activities(AbandonedCheckout.objects.filter(pk__in=[e["id"] for e in entities]))
    built = {str(ac.pk): orjson.dumps(abandoned_checkout_to_wix(ac, store=store)) for ac in rows}
    assert len(entities) == PAGE and all(orjson.dumps(e) == built[e["id"]] for e in entities)


BASELINE = " (baseline)"
ANCHOR_SERVER = "anchor: /healthz (gunicorn, WSGI)"
ANCHOR_CHAIN = "anchor: empty view, whole middleware"
ANCHOR_API = "anchor: empty Wix route (key, throttle)"


def baseline_twins(scenarios, port, keys, small, big, first, deep, one) -> dict:
    """The same HTTP requests, sent to the baseline server, interleaved with the others."""
    small_api, big_api = Api(port, keys[small.pk][1]), Api(port, keys[big.pk][1])
    twins = {
        "Query page 1, small store": lambda: small_api.timed("POST", QUERY, first)[0],
        "Query page 1, large store": lambda: big_api.timed("POST", QUERY, first)[0],
        f"Query page {DEEP_PAGE}, large store": lambda: big_api.timed("POST", QUERY, deep)[0],
        "Get one checkout (the fixed cost)": lambda: big_api.timed("GET", one)[0],
    }
    assert set(twins) <= set(scenarios)
    return {name + BASELINE: call for name, call in twins.items()}


def worker_cpu_ns(server) -> int:
    """CPU time the server's worker(s) have used so far, all threads, in ns (/proc schedstat: exact)."""
    total = 0
    for pid in server.worker_pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    return total


def measure(server, baseline, keys, small, big, first, deep, floor_sql) -> tuple[dict, dict]:
    """(wall ms, CPU ms) per scenario: round after round, every scenario once per round."""
    small_api, big_api = Api(server.port, keys[small.pk][1]), Api(server.port, keys[big.pk][1])
    scenarios = {
        "floor: page 500's own SQL, bare": lambda: bare_sql(floor_sql),
        # What any request costs before its own work (tests/benchmarks/bench_urls.py).
        ANCHOR_SERVER: lambda: big_api.timed("GET", "/healthz")[0],
        ANCHOR_CHAIN: lambda: big_api.timed("GET", "/bench/bare/")[0],
        ANCHOR_API: lambda: big_api.timed("GET", "/ecom/v1/bench-bare")[0],
        "Query page 1, small store": lambda: small_api.timed("POST", QUERY, first)[0],
        "Query page 1, large store": lambda: big_api.timed("POST", QUERY, first)[0],
        f"Query page {DEEP_PAGE}, large store": lambda: big_api.timed("POST", QUERY, deep)[0],
        f"DRF default list page {DEEP_PAGE}": lambda: big_api.timed("GET", f"/bench/plain/?page={DEEP_PAGE}")[0],
    }
    _, body = big_api.timed("POST", QUERY, deep)
    entities = orjson.loads(body)["abandonedCheckouts"]
    assert_built_alike(entities, big)
    # What any authenticated request costs here (the key, throttle, middleware): one entity.
    one = f"/ecom/v1/abandoned-checkout/{entities[0]['id']}"
    scenarios["Get one checkout (the fixed cost)"] = lambda: big_api.timed("GET", one)[0]
    if baseline is not None:
        scenarios.update(baseline_twins(scenarios, baseline.port, keys, small, big, first, deep, one))
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    cpu: dict[str, list[float]] = {name: [] for name in scenarios}
    for round_number in range(WARMUP + ROUNDS):
        for name, call in scenarios.items():
            serving = baseline if name.endswith(BASELINE) else server
            before = worker_cpu_ns(serving), time.process_time()
            elapsed = call()
            after = worker_cpu_ns(serving), time.process_time()
            if round_number >= WARMUP:
                samples[name].append(elapsed)
                bare = name.startswith("floor")
                cpu[name].append((after[1] - before[1]) * 1000 if bare else (after[0] - before[0]) / 1e6)
    return samples, cpu


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgres://.../comeback_bench")
    sizes = dict(Store.objects.annotate(rows=Count("abandoned_checkouts")).values_list("pk", "rows"))
    ordered = sorted(sizes, key=lambda pk: (sizes[pk], str(pk)))  # ties: the same stores every run
    small, big = Store.objects.get(pk=ordered[0]), Store.objects.get(pk=ordered[-1])
    print(f"largest store: {big.name} ({sizes[big.pk]:,} rows); smallest: {small.name} ({sizes[small.pk]:,} rows)")
    fresh = {"page 1, small": page_rows_current(small, 1), f"page {DEEP_PAGE}, big": page_rows_current(big, DEEP_PAGE)}
    print("rows with current stored JSON:", ", ".join(f"{name} {count}/{PAGE}" for name, count in fresh.items()))
    keys = {
        store.pk: api_key_create(store=store, name="bench_api", scopes=[ApiKey.Scope.READ]) for store in (small, big)
    }
    first = b'{"query":{"cursorPaging":{"limit":%d}}}' % PAGE
    deep = b'{"query":{"cursorPaging":{"limit":%d,"cursor":"%s"}}}' % (PAGE, cursor_for_page(big, DEEP_PAGE).encode())
    floor_sql = request_sql(keys[big.pk][1], deep)
    baseline_root = os.environ.get("BENCH_API_BASELINE")
    threads = int(os.environ.get("BENCH_API_THREADS", "1"))
    try:
        with ExitStack() as servers:
            server = servers.enter_context(gunicorn_server(server_env(), threads=threads))
            baseline = (
                servers.enter_context(gunicorn_server(server_env(), threads=threads, root=Path(baseline_root)))
                if baseline_root
                else None
            )
            samples, cpu = measure(server, baseline, keys, small, big, first, deep, floor_sql)
    finally:
        for key, _ in keys.values():
            api_key_revoke(api_key=key)
    medians = {name: statistics.median(times) for name, times in samples.items()}
    worker = "sync" if threads == 1 else f"gthread, {threads} threads"
    print(f"\none gunicorn worker ({worker}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'scenario (median of ' + str(ROUNDS) + ', interleaved)':<44}{'median ms':>10}{'best ms':>9}{'CPU ms':>8}")
    for name, times in samples.items():
        print(f"{name:<44}{medians[name]:>10.2f}{min(times):>9.2f}{statistics.median(cpu[name]):>8.2f}")
    print("CPU ms: the gunicorn worker's for an HTTP request, this process's for the bare SQL (median)")
    deep_name = f"Query page {DEEP_PAGE}, large store"
    for what, upper, lower in (
        ("the middleware chain (over /healthz)", ANCHOR_CHAIN, ANCHOR_SERVER),
        ("a Wix route's fixed cost (over /healthz)", ANCHOR_API, ANCHOR_SERVER),
        (f"page {DEEP_PAGE}'s own work (over the empty Wix route)", deep_name, ANCHOR_API),
    ):
        wall = medians[upper] - medians[lower]
        cpu_ms = statistics.median(cpu[upper]) - statistics.median(cpu[lower])
        print(f"{what:<58}{wall:>7.2f} ms wall{cpu_ms:>7.2f} ms CPU")
    for name in [name for name in samples if name.endswith(BASELINE)]:
        print(f"{name[: -len(BASELINE)]:<44}{medians[name[: -len(BASELINE)]] / medians[name]:>7.2f}x of the baseline")
    # The key (with its store) is read once per process for a few seconds (checkouts/keyring.py).
    print(f"\nthe page-500 request's SQL: {len(floor_sql)} statements")
    floor, deep_ms = medians["floor: page 500's own SQL, bare"], medians[f"Query page {DEEP_PAGE}, large store"]
    plain, big_first = medians[f"DRF default list page {DEEP_PAGE}"], medians["Query page 1, large store"]
    small_first = medians["Query page 1, small store"]
    checks = [
        (f"Query page {DEEP_PAGE} / its own SQL", deep_ms / floor, "<=", 2.5),
        (f"DRF default list / Query, page {DEEP_PAGE}", plain / deep_ms, ">=", 10),
        ("large vs small store, page 1", big_first / small_first, "<=", 1.5),
        (f"page {DEEP_PAGE} vs page 1, large store", deep_ms / big_first, "<=", 1.5),
    ]
    verdicts = [ratio <= target if sign == "<=" else ratio >= target for _, ratio, sign, target in checks]
    for (name, ratio, sign, target), ok in zip(checks, verdicts, strict=True):
        print(f"{name:<44}{ratio:>7.2f}x  (target {sign} {target})  {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
