"""Error pages: JSON in Wix's envelope on the API paths, whatever the error; a database outage is a fast 503.

Django answers some errors before any API view runs (an unknown path, a body it refuses to
read, a failed CSRF check, an uncaught exception): these handlers give API clients the same
`{message, details: {applicationError}}` envelope DRF's exception handler gives them, and
people the dashboard's pages.
"""

import logging
import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import csrf, defaults

logger = logging.getLogger(__name__)

# What a client should wait before trying again: long enough for a database restart or a
# failover, short enough that a storefront's retry lands soon after.
RETRY_AFTER_SECONDS = 30
# Paths whose clients are programs: they get JSON in Wix's error envelope.
API_PREFIXES = ("/ecom/", "/api/", "/oauth2/", "/connect/")
DATABASE_OUTAGE = (OperationalError, InterfaceError)

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable."
UNAVAILABLE_DESCRIPTION = f"The database cannot be reached. Try again in {RETRY_AFTER_SECONDS} seconds."
# Served if even the template cannot be rendered (a base layout that needs the database).
FALLBACK_HTML = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Temporarily unavailable · Comeback</title>"
    f"</head><body><h1>Comeback is temporarily unavailable</h1><p>{UNAVAILABLE_DESCRIPTION}</p></body></html>"
)


def is_api_path(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def api_error(status: int, code: str, message: str, description: str = "") -> JsonResponse:
    """Wix's application-error envelope (checkouts.api.errors builds the same for DRF's errors)."""
    error = {"code": code, "description": description or message, "data": {}}
    return JsonResponse({"message": message, "details": {"applicationError": error}}, status=status)


def service_unavailable(request) -> HttpResponse:
    """503 with Retry-After: JSON for API clients, a page for people."""
    if is_api_path(request):
        response = api_error(503, "UNAVAILABLE", UNAVAILABLE_MESSAGE, UNAVAILABLE_DESCRIPTION)
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


def bad_request(request, exception=None, template_name: str = "400.html") -> HttpResponse:
    """handler400: a body Django refused to read (too large, too many fields) or a suspicious request."""
    if not is_api_path(request):
        return defaults.bad_request(request, exception, template_name)
    if isinstance(exception, RequestDataTooBig):
        return api_error(413, "PAYLOAD_TOO_LARGE", "The request body is too large.")
    return api_error(400, "INVALID_ARGUMENT", "The request could not be read.")


def permission_denied(request, exception=None, template_name: str = "403.html") -> HttpResponse:
    if not is_api_path(request):
        return defaults.permission_denied(request, exception, template_name)
    return api_error(403, "PERMISSION_DENIED", "Permission denied.")


def page_not_found(request, exception=None, template_name: str = "404.html") -> HttpResponse:
    if not is_api_path(request):
        return defaults.page_not_found(request, exception, template_name)
    return api_error(404, "NOT_FOUND", f"No API route matches {request.method} {request.path}.")


def csrf_failure(request, reason: str = "", template_name: str = csrf.CSRF_FAILURE_TEMPLATE_NAME) -> HttpResponse:
    """CSRF_FAILURE_VIEW. The API views are exempt (DRF checks CSRF for sessions itself); this is the safety net."""
    if not is_api_path(request):
        return csrf.csrf_failure(request, reason, template_name)
    return api_error(403, "PERMISSION_DENIED", f"CSRF verification failed: {reason}")


def server_error(request, template_name: str = "500.html") -> HttpResponse:
    """handler500: Django calls it while the uncaught exception is being handled."""
    if isinstance(sys.exc_info()[1], DATABASE_OUTAGE):
        return service_unavailable(request)
    if is_api_path(request):
        return api_error(500, "INTERNAL", "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request, template_name)
