"""Error pages: a database outage is a fast 503 (Wix's error envelope on the APIs), not a 500 or a hang."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

# What a client should wait before trying again: long enough for a database restart or a
# failover, short enough that a storefront's retry lands soon after.
RETRY_AFTER_SECONDS = 30
# Paths whose clients are programs: they get JSON in Wix's error envelope.
API_PREFIXES = ("/ecom/", "/api/")
DATABASE_OUTAGE = (OperationalError, InterfaceError)

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable."
UNAVAILABLE_DESCRIPTION = f"The database cannot be reached. Try again in {RETRY_AFTER_SECONDS} seconds."
# Served if even the template cannot be rendered (a base layout that needs the database).
FALLBACK_HTML = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Temporarily unavailable · Comeback</title>"
    f"</head><body><h1>Comeback is temporarily unavailable</h1><p>{UNAVAILABLE_DESCRIPTION}</p></body></html>"
)


def service_unavailable(request) -> HttpResponse:
    """503 with Retry-After: JSON for API clients, a page for people."""
    if request.path.startswith(API_PREFIXES):
        body = {
            "message": UNAVAILABLE_MESSAGE,
            "details": {
                "applicationError": {"code": "UNAVAILABLE", "description": UNAVAILABLE_DESCRIPTION, "data": {}}
            },
        }
        response = JsonResponse(body, status=503)
    else:
        try:
            # No request: context processors (user, store, messages) would query the database.
            html = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
        except Exception:
            logger.exception("The 503 page could not be rendered; serving the plain fallback.")
            html = FALLBACK_HTML
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request, template_name: str = "500.html") -> HttpResponse:
    """handler500: Django calls it while the uncaught exception is being handled."""
    if isinstance(sys.exc_info()[1], DATABASE_OUTAGE):
        return service_unavailable(request)
    return defaults.server_error(request, template_name)
