"""Dashboard benchmark on the 1,000,000-checkout database (issue 4's figures).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench \\
        .venv/bin/python tests/benchmarks/bench_dashboard.py

It only reads checkouts. It keeps two dedicated sign-ins in the database (created once,
reused): `bench-dashboard-big`, owner of the largest "Northwind Outfitters" store, staff
with view rights on abandoned checkouts (for the admin comparison), and
`bench-dashboard-small`, owner of the 2,000-row store. Pages go through Django's test
client, so every figure includes routing, middleware, queries and template rendering.

Prints absolute times (median of the repeats) beside the ratios the issue sets:
  list page, 200,000-row store vs 2,000-row store            ≤ 1.5×
  a page 1,000 pages deep vs the first, without and with filters ≤ 1.5×
  the same rows in the Django admin changelist: ≥ 10× slower 1,000 pages deep, not faster on page 1
  CSV export of 200,000 rows                                ≥ 50,000 rows/s, peak memory < 150 MB
"""

import os
import re
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from checkouts.filters import AbandonedCheckoutFilter, sort_keys  # noqa: E402
from checkouts.models import AbandonedCheckout, Membership, Store  # noqa: E402
from checkouts.tenancy import SESSION_KEY  # noqa: E402
from checkouts.views.checkout_list import list_pager  # noqa: E402

REPEATS = 15
WARMUP = 3
DEEP_PAGES = 1000
FILTERS = {
    "status + total": {"status": "ABANDONED", "total_min": "100"},
    "email sent (EXISTS)": {"email_sent": "true", "has_email": "true"},
}
ROW = re.compile(r'name="ids" value="([0-9a-f-]{36})"')
ADMIN_ROW = re.compile(r'name="_selected_action" value="([0-9a-f-]{36})"')


def stores() -> tuple[Store, Store]:
    sizes = Store.objects.annotate(rows=Count("abandoned_checkouts")).order_by("-rows")
    big = sizes.filter(name="Northwind Outfitters").first() or sizes.first()
    small = sizes.order_by("rows").filter(rows__gt=0).first()
    return big, small


def bench_user(username: str, store: Store, *, staff: bool) -> Client:
    """A sign-in that sees exactly one store (so the admin shows the same rows as the list)."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff})
    if staff:
        user.user_permissions.add(Permission.objects.get(codename="view_abandonedcheckout"))
    Membership.objects.filter(user=user).exclude(store=store).delete()
    Membership.objects.get_or_create(user=user, store=store, defaults={"role": Membership.Role.OWNER})
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(store.pk)
    session.save()
    return client


def timed(client: Client, url: str, *, repeats: int = REPEATS) -> tuple[float, object]:
    response = None
    for _ in range(WARMUP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
    return statistics.median(times), response


def deep_url(store: Store, params: dict, *, per_page: int, pages: int = DEEP_PAGES) -> str:
    """The list URL of the page `pages` pages after the first (its signed position)."""
    queryset = AbandonedCheckout.objects.filter(store=store)
    filterset = AbandonedCheckoutFilter(params, queryset=queryset, zone=store.zone)
    assert filterset.is_valid(), filterset.errors
    sort, keys = sort_keys(None)
    offset = pages * per_page - 1  # the last row before the page
    position = list(
        filterset.qs.order_by(*(key.order_by for key in keys)).values_list(*(k.field for k in keys))[offset]
    )
    query = "&".join(f"{name}={value}" for name, value in params.items())
    token = list_pager(store=store, sort=sort).issue(position)
    return f"/checkouts/?per_page={per_page}&{query}&after={token}".replace("?&", "?")


def line(label: str, seconds: float) -> str:
    return f"  {label:<58} {seconds * 1000:8.1f} ms"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    assert connection.vendor == "postgresql", "run against comeback_bench (DATABASE_URL)"
    big, small = stores()
    big_rows = AbandonedCheckout.objects.filter(store=big).count()
    small_rows = AbandonedCheckout.objects.filter(store=small).count()
    print(f"Stores: {big.name} ({big_rows:,} rows), {small.name} ({small_rows:,} rows)")
    print(f"Median of {REPEATS} requests after {WARMUP} warm-ups (admin: 5), Django test client,")
    print(f"settings {os.environ['DJANGO_SETTINGS_MODULE']} (DEBUG off, cached templates)")
    big_client = bench_user("bench-dashboard-big", big, staff=True)
    small_client = bench_user("bench-dashboard-small", small, staff=False)

    print("\n1. List page by store size (first page, 50 rows, count capped at 10,000)")
    t_big, _ = timed(big_client, "/checkouts/")
    t_small, _ = timed(small_client, "/checkouts/")
    ratio = t_big / t_small
    print(line(f"{big_rows:,}-row store", t_big))
    print(line(f"{small_rows:,}-row store", t_small))
    print(f"  ratio {ratio:.2f}× (≤ 1.5×: {verdict(ratio <= 1.5)})")

    print(f"\n2. A page {DEEP_PAGES:,} pages deep vs the first ({big_rows:,}-row store, 50 per page)")
    for label, params in {"no filter": {}, **FILTERS}.items():
        query = "&".join(f"{k}={v}" for k, v in params.items())
        first, _ = timed(big_client, f"/checkouts/?per_page=50&{query}")
        deep, response = timed(big_client, deep_url(big, params, per_page=50))
        assert len(ROW.findall(response.content.decode())) == 50
        ratio = deep / first
        print(line(f"{label}: first page", first))
        print(line(f"{label}: page {DEEP_PAGES + 1:,}", deep))
        print(f"  ratio {ratio:.2f}× (≤ 1.5×: {verdict(ratio <= 1.5)})")

    print("\n3. The same 100 rows: dashboard list vs Django admin changelist")
    ours_first, ours_first_response = timed(big_client, "/checkouts/?per_page=100")
    admin_first, admin_first_response = timed(big_client, "/admin/checkouts/abandonedcheckout/", repeats=5)
    ours_deep, ours_deep_response = timed(big_client, deep_url(big, {}, per_page=100, pages=DEEP_PAGES - 1))
    admin_deep, admin_deep_response = timed(
        big_client, f"/admin/checkouts/abandonedcheckout/?p={DEEP_PAGES}", repeats=5
    )
    for ours, admin in ((ours_first_response, admin_first_response), (ours_deep_response, admin_deep_response)):
        ours_ids = ROW.findall(ours.content.decode())
        admin_ids = ADMIN_ROW.findall(admin.content.decode())
        assert ours_ids == admin_ids and len(ours_ids) == 100, "the admin and the list must show the same rows"
    print(line("dashboard, page 1", ours_first))
    print(line("admin, page 1", admin_first))
    not_slower = verdict(ours_first <= admin_first)
    print(f"  admin / dashboard {admin_first / ours_first:.2f}× (dashboard not slower: {not_slower})")
    print(line(f"dashboard, page {DEEP_PAGES:,}", ours_deep))
    print(line(f"admin, page {DEEP_PAGES:,} (?p={DEEP_PAGES})", admin_deep))
    print(f"  admin / dashboard {admin_deep / ours_deep:.1f}× (≥ 10×: {verdict(admin_deep / ours_deep >= 10)})")

    print(f"\n4. CSV export of the {big_rows:,}-row store")
    export_rows(big_client, big_rows)

    print("\n5. Overview (for information)")
    for period in ("7d", "30d", "90d"):
        seconds, _ = timed(big_client, f"/?period={period}", repeats=5)
        print(line(f"overview, {period}", seconds))


def export_rows(client: Client, expected: int) -> None:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get("/checkouts/export.csv")
        rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
        runs.append(time.perf_counter() - started)
        assert rows == expected, (rows, expected)
    best, median = min(runs), statistics.median(runs)
    print(line(f"{expected:,} rows, best of 3", best))
    print(line(f"{expected:,} rows, median of 3", median))
    rate = expected / median
    print(f"  {rate:,.0f} rows/s at the median, {expected / best:,.0f} at best (≥ 50,000/s: {verdict(rate >= 50_000)})")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    response = client.get("/checkouts/export.csv")
    size = sum(len(chunk) for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  file {size / 1e6:.1f} MB; Python allocations peak {peak / 1e6:.1f} MB during the export;")
    under = verdict(max(peak / 1e6, rss_after) < 150)
    print(f"  process peak RSS {rss_after:.0f} MB (was {rss_before:.0f} MB before it) (< 150 MB: {under})")


if __name__ == "__main__":
    main()
