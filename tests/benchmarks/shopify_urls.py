"""Production's routes plus two trivial views (bench_shopify.py's anchors), never served outside the benchmark.

`/bench/bare/` goes through the whole middleware chain (sessions, CSRF, user, store, messages, axes),
`/connect/bench-bare/` through the receivers' fast path (config/fastpath.py): what a webhook would cost
if its view did nothing. The gap between each and a Shopify delivery is the receiver's own work.
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as production_urlpatterns


@csrf_exempt
def bare(request):
    request.body  # noqa: B018 (read it, as a receiver does)
    return JsonResponse({"accepted": 1})


urlpatterns = [
    path("bench/bare/", bare),
    path("connect/bench-bare/", bare),
    *production_urlpatterns,
]
