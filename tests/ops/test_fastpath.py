"""/connect/ goes straight to its views: no session, user or CSRF machinery, the usual errors and headers."""

import contextlib
import io
import json
import logging

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client

from checkouts.models import ConnectionReceipt
from checkouts.services.connections import connection_create
from config.fastpath import ReceiverApplication
from tests.checkouts.connectors.test_shopify import CHECKOUT, SECRET, sign

pytestmark = pytest.mark.django_db


def test_a_receiver_gets_no_session_user_or_messages_but_keeps_the_security_headers(store):
    connection = connection_create(store=store, platform="shopify", secret="s")
    response = Client().post(f"/connect/shopify/{connection.token}/", b"{}", content_type="application/json")
    assert response.status_code == 401  # reached the view: the signature is missing
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user") and not hasattr(request, "_messages")
    assert response["X-Content-Type-Options"] == "nosniff" and "X-Frame-Options" in response
    assert "Content-Security-Policy" in response and "X-Request-ID" in response
    assert not response.cookies


def test_an_unknown_connect_path_or_token_is_the_apis_json_404():
    for path in ("/connect/nothing-here", "/connect/shopify/no-such-token/"):
        response = Client().post(path, b"{}", content_type="application/json")
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json"), path


def test_other_paths_still_go_through_the_whole_chain(owner):
    client = Client()
    client.force_login(owner)
    response = client.get("/settings/connections/")
    assert response.status_code == 200
    assert response.wsgi_request.user == owner and hasattr(response.wsgi_request, "session")


# --- config/wsgi.py's ReceiverApplication: Shopify's webhooks answered ahead of Django -------------------


@pytest.fixture
def wsgi(settings):
    """(the application gunicorn serves, the Django application behind it with the requests it was given)."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True  # as in production
    # As Django's test client does: the request signals must not close the connection the test's
    # transaction lives on (the application sends them as Django's handler would).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    django_app = WSGIHandler()
    given = []

    def behind(environ, start_response):
        given.append(environ["PATH_INFO"])
        return django_app(environ, start_response)

    try:
        yield ReceiverApplication(behind), django_app, given
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(app, path, raw=b"", *, method="POST", **headers):
    """One request through a WSGI application: (status, headers, JSON body or the raw one)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "127.0.0.1",
        **headers,
    }
    answered = {}

    def start_response(status, response_headers, exc_info=None):
        answered.update(status=int(status.split()[0]), headers=dict(response_headers))

    chunks = app(environ, start_response)
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    with contextlib.suppress(ValueError):
        content = json.loads(content)
    return answered["status"], answered["headers"], content


def shopify_headers(raw: bytes, webhook_id: str, *, secret: str = SECRET) -> dict[str, str]:
    return {
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_SHOPIFY_TOPIC": "checkouts/update",
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(raw, secret),
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id,
    }


# The headers that differ between any two responses, or that Django leaves to the server.
VARYING = {"X-Request-ID", "Content-Length"}


def test_a_good_delivery_is_answered_ahead_of_django_with_the_same_status_body_and_headers(wsgi, store):
    fast, django_app, given = wsgi
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    path = f"/connect/shopify/{connection.token}/"
    raw = json.dumps(CHECKOUT).encode()
    status, headers, body = call(fast, path, raw, **shopify_headers(raw, "w-fast"))
    assert given == []  # Django never saw it
    expected_status, expected_headers, expected_body = call(django_app, path, raw, **shopify_headers(raw, "w-django"))
    assert (status, body) == (expected_status, expected_body) == (200, {"accepted": 1})
    assert {k: v for k, v in headers.items() if k not in VARYING} == {
        k: v for k, v in expected_headers.items() if k not in VARYING
    }
    assert "Strict-Transport-Security" in headers and headers["Content-Length"] == str(len(json.dumps(body)))
    assert set(ConnectionReceipt.objects.values_list("delivery_id", flat=True)) == {"w-fast", "w-django"}
    # Again, now that the process remembers the connection; and a replay, read afresh.
    assert call(fast, path, raw, **shopify_headers(raw, "w-again"))[2] == {"accepted": 1}
    assert call(fast, path, raw, **shopify_headers(raw, "w-again"))[2] == {"accepted": 0, "note": "Already received."}
    assert given == [] and ConnectionReceipt.objects.count() == 3


def test_a_refusal_ahead_of_django_is_answered_and_logged_as_django_does(wsgi, store, caplog):
    fast, django_app, given = wsgi
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    path = f"/connect/shopify/{connection.token}/"
    raw = json.dumps(CHECKOUT).encode()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        status, _headers, body = call(fast, path, raw, **shopify_headers(raw, "w-1", secret="not-it"))
    assert given == [] and status == 401 and body["error"]["field"] == "X-Shopify-Hmac-Sha256"
    assert [record.getMessage() for record in caplog.records] == [f"Unauthorized: {path}"]
    assert call(django_app, path, raw, **shopify_headers(raw, "w-2", secret="not-it"))[:3:2] == (status, body)
    assert not ConnectionReceipt.objects.filter(ok=True).exists()


def test_what_the_fast_path_cannot_answer_as_django_would_goes_to_django_whole(wsgi, store):
    fast, _, given = wsgi
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    path = f"/connect/shopify/{connection.token}/"
    raw = json.dumps(CHECKOUT).encode()
    signed = shopify_headers(raw, "w-1")
    status, headers, _body = call(fast, "/connect/shopify/no-such-token/", raw, **signed)
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    # A host not in ALLOWED_HOSTS: Django's answer, a 400, and nothing stored.
    evil = {**signed, "HTTP_HOST": "evil.example", "HTTP_X_SHOPIFY_WEBHOOK_ID": "w-host"}
    assert call(fast, path, raw, **evil)[0] == 400
    assert call(fast, path, method="GET", HTTP_X_FORWARDED_PROTO="https")[0] == 405
    assert call(fast, path, raw, **{**signed, "HTTP_X_FORWARDED_PROTO": "http"})[0] == 301
    assert len(given) == 4 and not ConnectionReceipt.objects.exists()


@pytest.mark.parametrize("receiver", ["shopify", "saleor", "browser"])
def test_a_host_not_allowed_is_a_400_on_every_receiver_and_writes_nothing(store, receiver):
    """The receivers skip CommonMiddleware, where Django checks ALLOWED_HOSTS: the fast path checks it."""
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    path = {
        "shopify": f"/connect/shopify/{connection.token}/",
        "saleor": f"/connect/saleor/{connection.token}/",
        "browser": "/connect/browser/events",
    }[receiver]
    raw = json.dumps(CHECKOUT).encode()
    response = Client(HTTP_HOST="evil.example").post(
        path, raw, content_type="application/json", **shopify_headers(raw, "w-1")
    )
    assert response.status_code == 400
    assert not ConnectionReceipt.objects.exists()


def test_the_fast_path_keeps_the_proxys_request_id(wsgi, store):
    fast, _, _ = wsgi
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    raw = json.dumps(CHECKOUT).encode()
    headers = {**shopify_headers(raw, "w-1"), "HTTP_X_REQUEST_ID": "proxy-id-1"}
    assert call(fast, f"/connect/shopify/{connection.token}/", raw, **headers)[1]["X-Request-ID"] == "proxy-id-1"


def test_a_middleware_added_before_the_receivers_turns_the_wsgi_fast_path_off(settings):
    at = settings.MIDDLEWARE.index("config.fastpath.ReceiverFastPathMiddleware")
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:at], "example.middleware.Audit", *settings.MIDDLEWARE[at:]]
    assert not ReceiverApplication(WSGIHandler).enabled
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "config.fastpath.ReceiverFastPathMiddleware"]
    assert not ReceiverApplication(WSGIHandler).enabled


def test_a_host_not_allowed_is_a_400_on_the_wix_api_with_a_key(store, api_key):
    """An /ecom/v1/ call with a key skips CommonMiddleware too: the host is checked all the same."""
    path = "/ecom/v1/abandoned-checkout/query"
    allowed = Client(HTTP_AUTHORIZATION=api_key).post(path, b'{"query": {}}', content_type="application/json")
    assert allowed.status_code == 200
    evil = Client(HTTP_AUTHORIZATION=api_key, HTTP_HOST="evil.example")
    assert evil.post(path, b'{"query": {}}', content_type="application/json").status_code == 400
