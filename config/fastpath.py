"""Machine-to-machine routes skip the middleware that serves people signed in.

/connect/ holds only machine receivers (Shopify, Saleor, Wix webhooks, comeback.js beacons), and a
request to the Wix-compatible API (/ecom/v1/) that carries an API key or an app's token is
authenticated by that credential alone (`checkouts.api.auth.ApiKeyAuthentication` never falls
back to the session when one is sent): no session, user, store, messages, CSRF token or sign-in
lockout means anything there, and they come by the thousand (a busy shop's webhooks, an app
paging through every checkout). `ReceiverFastPathMiddleware` sits after the request-id, security,
static-file, framing and content-policy middleware, so their headers are on every response; for
those requests it checks the host as CommonMiddleware would and calls the view directly, as
HealthProbeMiddleware does for the probes. Every other request goes down the whole chain,
including an /ecom/v1/ call without a credential (a dashboard session using the API). An
exception the view raises (Http404, DisallowedHost) is turned into the usual error response by
the handler's wrapper around this middleware.

Shopify's webhooks, the busiest by far, go one step further (`ReceiverApplication`, around the WSGI
application in config/wsgi.py): a POST to /connect/shopify/<token>/ is answered without Django's
request, middleware and response objects, with what those would do done by hand (the host check, the
HTTPS check, the request id, the security headers, the request signals that look after the database
connection). A request it cannot answer exactly as Django would goes to Django whole.
"""

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus

from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve
from django.utils.csp import CSP, build_policy
from django.utils.log import log_response

from config.logs import _INCOMING_REQUEST_ID, REQUEST_ID_HEADER, request_id_var

RECEIVER_PREFIX = "/connect/"
API_PREFIX = "/ecom/v1/"
logger = logging.getLogger("django.request")


class ReceiverFastPathMiddleware:
    def __init__(self, get_response):
        # Imported here, once the apps are loaded: config.wsgi imports this module before django.setup().
        from checkouts.api.auth import api_credentials

        self.get_response = get_response
        self.api_credentials = api_credentials

    def __call__(self, request):
        path = request.path_info
        if path.startswith(RECEIVER_PREFIX) or (path.startswith(API_PREFIX) and self.api_credentials(request.META)):
            # CommonMiddleware, which this skips, is where Django checks ALLOWED_HOSTS: a host not
            # allowed raises DisallowedHost here, which the handler answers 400, as on every page.
            request.get_host()
            try:
                match = resolve(path)
            except Resolver404:
                return self.get_response(request)  # CommonMiddleware's APPEND_SLASH and the 404 page
            request.resolver_match = match
            response = match.func(request, *match.args, **match.kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()  # a DRF or template response, as the handler would
            if not response.streaming and not response.has_header("Content-Length"):
                # What CommonMiddleware would have added: the length, so keep-alive needs no chunking.
                response.headers["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)


# The middleware a /connect/ request passes before ReceiverFastPathMiddleware: what
# ReceiverApplication does by hand. Any other middleware there turns it off (everything goes to Django).
OUTER_MIDDLEWARE = (
    "config.health.HealthProbeMiddleware",  # answers only /healthz and /readyz
    "config.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # serves only static files
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
SHOPIFY_PATH = re.compile(r"/connect/shopify/([A-Za-z0-9_-]{1,64})/")


class ReceiverApplication:
    """WSGI: Shopify webhooks answered without Django's request, middleware and response; the rest to Django."""

    def __init__(self, application: Callable):
        self.application = application
        here = "config.fastpath.ReceiverFastPathMiddleware"
        outer = settings.MIDDLEWARE[: settings.MIDDLEWARE.index(here)] if here in settings.MIDDLEWARE else None
        self.enabled = outer is not None and set(outer) <= set(OUTER_MIDDLEWARE)
        self.headers = _security_headers()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.enabled and environ.get("REQUEST_METHOD") == "POST":
            match = SHOPIFY_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match and _host_allowed(environ) and (_secure(environ) or not settings.SECURE_SSL_REDIRECT):
                return self.shopify(environ, start_response, token=match[1])
        return self.application(environ, start_response)

    def shopify(self, environ: dict, start_response: Callable, *, token: str) -> Iterable[bytes]:
        from checkouts.connectors.receivers import shopify_receive

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return self.application(environ, start_response)  # Django's own answer (400, 413)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # for Django, should it take the request after all
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _INCOMING_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request_id_var.set(request_id)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            answer = shopify_receive(token=token, raw=raw, meta=environ)
        except Exception:  # Django takes the request whole: its errors are reported and answered as everywhere
            logger.info("The Shopify fast path failed; Django takes the request.", exc_info=True)
            answer = None
        finally:
            signals.request_finished.send(sender=self.__class__)
        if answer is None:  # no such connection (Django's JSON 404), or an error
            return self.application(environ, start_response)
        status, body = answer
        content = json.dumps(body).encode()
        phrase = HTTPStatus(status).phrase
        if status >= 400:  # as Django's handler logs a refusal ("Unauthorized: /connect/…")
            request_id_var.set(request_id)
            log_response("%s: %s", phrase, environ["PATH_INFO"], response=_Logged(status))
            request_id_var.set(None)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(content))),
            *self.headers[_secure(environ)],
            (REQUEST_ID_HEADER, request_id),
        ]
        start_response(f"{status} {phrase}", headers)
        return [content]


class _Logged:
    def __init__(self, status_code: int):
        self.status_code = status_code


def _host_allowed(environ: dict) -> bool:
    """HttpRequest.get_host's check, for a request that names its host (else Django answers it)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST")
    if not host:
        return False
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _secure(environ: dict) -> bool:
    """HttpRequest.is_secure (SECURE_PROXY_SSL_HEADER, else the WSGI scheme)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _security_headers() -> dict[bool, list[tuple[str, str]]]:
    """The headers OUTER_MIDDLEWARE puts on a JSON response, over HTTPS (True) and plain HTTP (False)."""
    headers: list[tuple[str, str]] = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    for header, config in (
        (CSP.HEADER_ENFORCE, settings.SECURE_CSP),
        (CSP.HEADER_REPORT_ONLY, settings.SECURE_CSP_REPORT_ONLY),
    ):
        if config:
            headers.append((str(header), build_policy(config, None)))
    secure = list(headers)
    if settings.SECURE_HSTS_SECONDS:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        secure.insert(0, ("Strict-Transport-Security", sts))
    return {True: secure, False: headers}
