"""Probes for load balancers and monitoring: /healthz (the process is up) and /readyz (it can work)."""

import logging

from django.http import JsonResponse
from django.urls import resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import probes

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """The process is up and answering. Touches nothing else, so a database outage does not restart web."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Database reachable, migrations applied, broker reachable, scheduler alive: 200, else 503."""
    results = probes.readiness()
    ready = all(probe.ok for probe in results)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {
            probe.name: {"ok": probe.ok, "detail": probe.detail, "duration_ms": probe.duration_ms} for probe in results
        },
    }
    if ready:
        return JsonResponse(body)
    failed = "; ".join(f"{probe.name}: {probe.detail}" for probe in results if not probe.ok)
    logger.warning("Not ready: %s", failed)
    response = JsonResponse(body, status=503)
    # Logged above with the reasons; Django's generic "Service Unavailable: /readyz" error
    # line on every probe would only bury them.
    response._has_been_logged = True
    return response


PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class HealthProbeMiddleware:
    """Answers the probes before any other middleware.

    Load balancers and container runtimes call them over plain HTTP with an IP address or
    `localhost` as Host. Answered here they need neither an ALLOWED_HOSTS entry nor the
    HTTPS redirect exemption, and they never load a session. The routes stay in
    config/urls.py; this only dispatches them early.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in PROBE_PATHS:
            match = resolve(request.path_info)
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
