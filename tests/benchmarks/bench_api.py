"""Benchmark of the Wix-compatible Query method against the 1,000,000-row database. Read-only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comeback_bench .venv/bin/python tests/benchmarks/bench_api.py

Measures, through the real view (parsing, auth principal, keyset page, prefetch, Wix
rendering, JSON), with absolute times beside the ratios the issue asks for:
1. a 100-item first page in the largest store vs the same page in the smallest (≤ 1.5×);
2. the 500th page vs the first, in the largest store (≤ 1.5×);
3. the SQL queries of every page (the same number on each);
4. the 500th page vs a plain DRF ListAPIView with PageNumberPagination and a
   ModelSerializer over the same rows (≥ 10× faster).
Then it prints EXPLAIN (ANALYZE) of the page queries to show the indexes at work.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
# Rate-limit counters in memory: the plain DRF view has no rate limit, and the benchmark
# compares query paths, not the embedded file cache (production counts in Redis).
os.environ.setdefault("CACHE_URL", "locmemcache://")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework import generics, serializers  # noqa: E402
from rest_framework.pagination import PageNumberPagination  # noqa: E402
from rest_framework.test import APIRequestFactory, force_authenticate  # noqa: E402

from checkouts.api.auth import ApiKeyUser  # noqa: E402
from checkouts.api.listing import Lister, ListRequest  # noqa: E402
from checkouts.api.views.ecom import QueryView  # noqa: E402
from checkouts.api.wql import DEFAULT_SORT, QUERY_SPEC, sort_keys  # noqa: E402
from checkouts.models import AbandonedCheckout, ApiKey, Store  # noqa: E402
from checkouts.pagination import position_of  # noqa: E402

PAGE = 100
DEEP_PAGE = 500
REPEATS = 40
factory = APIRequestFactory()
settings.COMEBACK_API_RATE_LIMIT = "1000000/minute"


def principal(store: Store) -> ApiKeyUser:
    # An unsaved key: the benchmark writes nothing to the database.
    return ApiKeyUser(ApiKey(store=store, name="bench", prefix=f"bench{store.pk.hex[:8]}", scopes=["read"]))


def query_page(store: Store, body: dict):
    request = factory.post("/ecom/v1/abandoned-checkout/query", body, format="json")
    force_authenticate(request, user=principal(store))
    response = QueryView.as_view()(request)
    response.render()
    assert response.status_code == 200, response.data
    return response


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


def measure(scenarios: dict) -> dict[str, tuple[float, float, int]]:
    """{name: (median ms, best ms, queries)}. Scenarios take turns, round after round, so a
    busy machine slows them alike instead of skewing the ratios."""
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    queries = {}
    for name, call in scenarios.items():
        call()
        with CaptureQueriesContext(connection) as captured:
            call()
        queries[name] = len(captured)
    for _ in range(REPEATS):
        for name, call in scenarios.items():
            start = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: (statistics.median(times), min(times), queries[name]) for name, times in samples.items()}


class PlainSerializer(serializers.ModelSerializer):
    class Meta:
        model = AbandonedCheckout
        fields = "__all__"


class PlainPagination(PageNumberPagination):
    page_size = PAGE


class PlainListView(generics.ListAPIView):
    """What a straightforward DRF list would be: OFFSET pages, a COUNT(*), a ModelSerializer."""

    serializer_class = PlainSerializer
    pagination_class = PlainPagination
    filter_backends: list = []
    permission_classes: list = []
    authentication_classes: list = []
    throttle_classes: list = []

    def get_queryset(self):
        return AbandonedCheckout.objects.filter(store_id=self.kwargs["store_id"]).order_by("-created_at", "-id")


def plain_page(store: Store, page: int):
    request = factory.get("/plain/", {"page": page})
    response = PlainListView.as_view()(request, store_id=store.pk)
    response.render()
    assert response.status_code == 200
    return response


def explain(title: str, sql: str, params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS off, COSTS off, TIMING off, SUMMARY on) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    print(f"\n-- {title}")
    for line in plan:
        print("   ", line)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgres://.../comeback_bench")
    sizes = dict(Store.objects.annotate(rows=Count("abandoned_checkouts")).values_list("pk", "rows").order_by("rows"))
    stores = Store.objects.in_bulk(list(sizes))
    small, big = stores[min(sizes, key=sizes.get)], stores[max(sizes, key=sizes.get)]
    print(f"largest store: {big.name} ({sizes[big.pk]:,} rows); smallest: {small.name} ({sizes[small.pk]:,} rows)")
    first = {"query": {"cursorPaging": {"limit": PAGE}}}
    deep = {"query": {"cursorPaging": {"limit": PAGE, "cursor": cursor_for_page(big, DEEP_PAGE)}}}
    assert len(query_page(big, deep).data["abandonedCheckouts"]) == PAGE

    results = measure(
        {
            "first page, small store": lambda: query_page(small, first),
            "first page, large store": lambda: query_page(big, first),
            f"page {DEEP_PAGE}, large store": lambda: query_page(big, deep),
            f"plain DRF page {DEEP_PAGE}, large store": lambda: plain_page(big, DEEP_PAGE),
        }
    )
    print(f"\n{'scenario':<36}{'median ms':>11}{'best ms':>10}{'queries':>9}")
    for name, (median, best, queries) in results.items():
        print(f"{name:<36}{median:>11.2f}{best:>10.2f}{queries:>9}")

    small_first = results["first page, small store"][0]
    big_first = results["first page, large store"][0]
    big_deep = results[f"page {DEEP_PAGE}, large store"][0]
    plain_deep = results[f"plain DRF page {DEEP_PAGE}, large store"][0]
    checks = [
        ("large vs small store, first page", big_first / small_first, "<= 1.5", big_first / small_first <= 1.5),
        (f"page {DEEP_PAGE} vs page 1, large store", big_deep / big_first, "<= 1.5", big_deep / big_first <= 1.5),
        (f"plain DRF vs ours, page {DEEP_PAGE}", plain_deep / big_deep, ">= 10", plain_deep / big_deep >= 10),
    ]
    queries = {name: result[2] for name, result in results.items() if not name.startswith("plain")}
    print()
    for name, ratio, target, ok in checks:
        print(f"{name:<40} {ratio:>7.2f}x  (target {target})  {'PASS' if ok else 'FAIL'}")
    same = len(set(queries.values())) == 1
    print(f"{'queries per page':<40} {sorted(set(queries.values()))}  (target: the same)  {'PASS' if same else 'FAIL'}")

    with CaptureQueriesContext(connection) as captured:
        query_page(big, deep)
    page_sql = captured.captured_queries[0]["sql"]
    explain(f"page {DEEP_PAGE} rows (as executed)", page_sql, None)
    explain(f"page {DEEP_PAGE} activities prefetch (as executed)", captured.captured_queries[1]["sql"], None)
    shapes = {
        "status filter, createdDate DESC": {"filter": {"status": "RECOVERED"}},
        "updatedDate ASC": {"sort": [{"fieldName": "updatedDate", "order": "ASC"}]},
        "email prefix": {"filter": {"buyerInfo.email": {"$startsWith": "ann"}}},
        "memberId equality": {"filter": {"buyerInfo.memberId": "00000000-0000-4000-8000-000000000000"}},
        "contactId equality": {"filter": {"buyerInfo.contactId": "00000000-0000-4000-8000-000000000000"}},
        "visitorId $in": {"filter": {"buyerInfo.visitorId": {"$in": ["a", "b"]}}},
    }
    indexes = connection.introspection.get_constraints(connection.cursor(), AbandonedCheckout._meta.db_table)
    for title, query in shapes.items():
        with CaptureQueriesContext(connection) as captured:
            query_page(big, {"query": {**query, "cursorPaging": {"limit": PAGE}}})
        explain(title, captured.captured_queries[0]["sql"], None)
    if "ac_store_member_id" not in indexes:
        print("\n(The buyer-id indexes of migration 0002_api_indexes are not in this database: migrate to use them.)")
    sys.exit(0 if all(ok for *_, ok in checks) and same else 1)


if __name__ == "__main__":
    main()
