"""The Django admin's lists of the big tables over real HTTP, on the seeded million-row database.

    createdb -h 127.0.0.1 -U postgres -T comeback_bench comeback_bench_admin
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench_admin manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench_admin \\
        .venv/bin/python tests/benchmarks/bench_admin.py

Run it on a copy: it writes. The seed is `manage.py seed_demo --stores 5 --checkouts 200000`
(1,000,000 rows; fewer rows work too, say so with the figures). The script keeps two sign-ins
(created once, reused): `bench-admin-staff`, staff and MANAGER of the largest store only, and
`bench-admin-root`, a superuser who filters the lists to that store; and it re-keys the copy's
secrets to its own key, because production settings refuse the seed's development key. It
starts gunicorn (one sync worker, production settings) on this machine, signs both in through
the admin's login form, and times the abandoned-checkout, checkout and activity lists at page 1
and ?p=1000 (targets ≤ 150 ms and ≤ 300 ms), for each sign-in, interleaved (A B A B ...) with
the dashboard's checkout list as the anchor for how busy the machine is.

Each figure is the median of ROUNDS requests, after WARMUP rounds; the ratio is the median of
each admin request over the anchor request just before it. The CPU columns are the gunicorn
worker's and its PostgreSQL backend's, read from /proc around each admin request: on a shared
machine the wall time is mostly waiting for a CPU, so the verdict is given for both. It also
prints each page's SQL count and whether any of it ran SELECT DISTINCT over a big table (read
from the test client, which runs the same view in-process).
"""

import os
import re
import statistics
import sys
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import PBKDF2PasswordHasher  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from checkouts.models import AbandonedCheckout, Membership, Store  # noqa: E402
from checkouts.services.secrets import encrypted_values_rotate  # noqa: E402
from config.settings.base import DEVELOPMENT_ENCRYPTION_KEY  # noqa: E402
from tests.benchmarks.server import Server, gunicorn_server, production_env  # noqa: E402

ROUNDS = 7
WARMUP = 2
PASSWORD = "bench-admin-password"
# The admin lists of the tables that grow with every checkout, each at its first and 1000th page.
ADMIN_LISTS = [
    ("abandoned", "/admin/checkouts/abandonedcheckout/"),
    ("checkouts", "/admin/checkouts/checkout/"),
    ("activities", "/admin/checkouts/activity/"),
]
DEPTHS = [("page 1", ""), ("?p=1000", "?p=1000")]
BIG_TABLES = ['"CHECKOUTS_ABANDONEDCHECKOUT"', '"CHECKOUTS_CHECKOUT"', '"CHECKOUTS_ACTIVITY"']
TARGETS = {"page 1": 150, "?p=1000": 300}
APP_NAME = "bench_admin_web"
TICK = os.sysconf("SC_CLK_TCK")
# Production refuses the public development key the seed encrypted with; the bench database
# (a throwaway copy) is re-keyed to this one, which is as public and used nowhere else.
BENCH_ENCRYPTION_KEY = "YmVuY2gtYWRtaW4tb25seS10aHJvd2F3YXktY29weS0="
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def big_store() -> Store:
    row = AbandonedCheckout.objects.values("store_id").annotate(rows=Count("pk")).order_by("-rows").first() or {
        "store_id": None
    }
    return Store.objects.get(pk=row["store_id"])


def bench_user(username: str, *, store: Store | None, superuser: bool = False):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.is_staff, user.is_superuser = True, superuser
    # The test settings hash with MD5; the server runs production settings, which only read PBKDF2.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save()
    Membership.objects.filter(user=user).delete()
    if store is not None:
        Membership.objects.create(user=user, store=store, role=Membership.Role.MANAGER)
    return user


class Browser:
    """One signed-in session over HTTP/1.1 keep-alive, as a browser would hold it."""

    def __init__(self, port: int):
        self.connection = HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {
            "Host": "127.0.0.1",
            # gunicorn is reached directly; production trusts the proxy's header for HTTPS.
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        if body is not None:
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Referer": "https://127.0.0.1/"})
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/admin/login/")
        token = CSRF_INPUT.search(page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD, "next": "/admin/"}
        )
        status, _ = self.request("POST", "/admin/login/?next=/admin/", form)
        assert status == 302, f"sign-in of {username} answered {status}"

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        status, _ = self.request("GET", path)
        elapsed = time.perf_counter() - started
        assert status == 200, f"{path} answered {status}"
        return elapsed


def server_env() -> dict[str, str]:
    return production_env(
        # Names the server's PostgreSQL backend, so its CPU time can be read too.
        DATABASE_URL=f"{os.environ['DATABASE_URL']}?application_name={APP_NAME}",
        COMEBACK_ENCRYPTION_KEYS=BENCH_ENCRYPTION_KEY,
        # One PostgreSQL backend for the whole run (its CPU is read by pid), as a pooled deployment holds it.
        DATABASE_CONN_MAX_AGE="3600",
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (PostgreSQL runs on this host too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def server_pids(server: Server) -> tuple[int, int]:
    """The gunicorn worker's pid and its PostgreSQL backend's."""
    (worker,) = server.worker_pids
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
        backends = [row[0] for row in cursor.fetchall()]
    assert len(backends) == 1, f"expected one backend for the web worker, found {backends}"
    return worker, backends[0]


def sql_profile(username: str, path: str) -> tuple[int, bool]:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    client.get(path)  # the first request also picks the session's store
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    sqls = [query["sql"].upper() for query in queries.captured_queries]
    return len(sqls), any("DISTINCT" in sql and any(table in sql for table in BIG_TABLES) for sql in sqls)


# This process reads the seed's values and those it re-keyed; the server only the bench key.
@override_settings(COMEBACK_ENCRYPTION_KEYS=[BENCH_ENCRYPTION_KEY, DEVELOPMENT_ENCRYPTION_KEY])
def main() -> None:
    assert connection.vendor == "postgresql", "run against the seeded PostgreSQL database (DATABASE_URL)"
    store = big_store()
    rows = AbandonedCheckout.objects.count()
    store_rows = AbandonedCheckout.objects.filter(store=store).count()
    bench_user("bench-admin-staff", store=store)
    bench_user("bench-admin-root", store=None, superuser=True)
    encrypted_values_rotate()
    with connection.cursor() as cursor:
        # As autovacuum leaves a live table: statistics (the admin's count past 10,000 rows is
        # the planner's estimate; without them ?p=1000 is out of range) and the visibility map
        # (without it a deep page's index-only scan reads every skipped row's heap page).
        cursor.execute("VACUUM (ANALYZE) checkouts_abandonedcheckout, checkouts_checkout, checkouts_activity")
    print(f"{rows:,} abandoned checkouts; the big store {store.name!r} holds {store_rows:,}")

    pages = {
        "staff": {f"{name} {label}": f"{path}{query}" for name, path in ADMIN_LISTS for label, query in DEPTHS},
        "superuser, ?store=": {
            f"{name} {label}": f"{path}?store={store.pk}{query.replace('?', '&')}"
            for name, path in ADMIN_LISTS
            for label, query in DEPTHS
        },
    }
    for who, username in (("staff", "bench-admin-staff"), ("superuser, ?store=", "bench-admin-root")):
        for label, path in pages[who].items():
            count, distinct = sql_profile(username, path)
            print(f"  {who:<20} {label:<19} {count} queries, SELECT DISTINCT on the table: {distinct}")

    with gunicorn_server(server_env()) as server:
        staff, root = Browser(server.port), Browser(server.port)
        staff.sign_in("bench-admin-staff")
        root.sign_in("bench-admin-root")
        anchor = "/checkouts/"
        staff.timed(anchor)
        worker, backend = server_pids(server)
        print(f"median of {ROUNDS} after {WARMUP} warm-up rounds, ABAB with the dashboard list ({anchor}) as anchor;")
        print("CPU: the gunicorn worker's (Python) and its PostgreSQL backend's, per admin request")
        print(
            f"  {'who':<20} {'list, page':<19} {'admin':>9} {'anchor':>9} {'ratio':>6} {'py CPU':>8} {'pg CPU':>8}"
            "  target: wall, CPU"
        )
        for who, browser in (("staff", staff), ("superuser, ?store=", root)):
            for label, path in pages[who].items():
                admin_times, anchor_times, ratios, python_cpu, postgres_cpu = [], [], [], [], []
                for round_ in range(WARMUP + ROUNDS):
                    anchor_time = staff.timed(anchor)
                    before = cpu_seconds(worker), cpu_seconds(backend)
                    admin_time = browser.timed(path)
                    after = cpu_seconds(worker), cpu_seconds(backend)
                    if round_ >= WARMUP:
                        anchor_times.append(anchor_time)
                        admin_times.append(admin_time)
                        # Each admin request against the anchor just before it: a pair shares the load.
                        ratios.append(admin_time / anchor_time)
                        python_cpu.append(after[0] - before[0])
                        postgres_cpu.append(after[1] - before[1])
                admin_ms = 1000 * statistics.median(admin_times)
                anchor_ms = 1000 * statistics.median(anchor_times)
                cpu_ms = 1000 * statistics.median(map(sum, zip(python_cpu, postgres_cpu, strict=True)))
                target = TARGETS[label.split(" ", 1)[1]]
                print(
                    f"  {who:<20} {label:<19} {admin_ms:7.1f}ms {anchor_ms:7.1f}ms {statistics.median(ratios):6.2f}"
                    f" {1000 * statistics.median(python_cpu):6.0f}ms {1000 * statistics.median(postgres_cpu):6.0f}ms"
                    f"  ≤ {target} ms: {'met' if admin_ms <= target else 'NOT MET'},"
                    f" {'met' if cpu_ms <= target else 'NOT MET'}"
                )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
