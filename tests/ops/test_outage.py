"""A database outage is a fast 503 (Wix's envelope on the APIs, a page for people), never a hang or a 500."""

import time

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from config.errors import RETRY_AFTER_SECONDS, server_error

ENVELOPE = {
    "message": "The service is temporarily unavailable.",
    "details": {
        "applicationError": {
            "code": "UNAVAILABLE",
            "description": f"The database cannot be reached. Try again in {RETRY_AFTER_SECONDS} seconds.",
            "data": {},
        }
    },
}


def signed_in_client() -> Client:
    """A browser with a session cookie: its first middleware already needs the database."""
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "s" * 32
    return client


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize(
    "path",
    ["/api/v1/abandoned-checkouts/", "/ecom/v1/abandoned-checkout/query", "/api/v1/checkout-events"],
)
def test_api_paths_answer_503_in_wix_envelope_when_the_database_is_down(database_down, path):
    response, elapsed = timed(lambda: signed_in_client().get(path))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == ENVELOPE
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert elapsed < 2


def test_dashboard_answers_a_503_page_when_the_database_is_down(database_down):
    response, elapsed = timed(lambda: signed_in_client().get("/admin/"))

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    page = response.content.decode()
    assert "<title>Temporarily unavailable · Comeback</title>" in page  # rendered through base.html
    assert "We cannot reach the database right now" in page
    assert f"try again in {RETRY_AFTER_SECONDS} seconds" in page
    assert elapsed < 2


def test_a_query_inside_a_view_during_an_outage_is_a_503_too(database_down):
    """No session: the sign-in view itself is the first to query (the users table)."""
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", {"username": "demo", "password": "demo"})

    assert response.status_code == 503
    assert "We cannot reach the database right now" in response.content.decode()


def test_a_hung_database_fails_within_the_connect_timeout(database_hung):
    response, elapsed = timed(lambda: signed_in_client().get("/api/v1/abandoned-checkouts/"))

    assert response.status_code == 503
    assert response.json() == ENVELOPE
    assert settings.DATABASE_CONNECT_TIMEOUT - 0.5 < elapsed < settings.DATABASE_CONNECT_TIMEOUT + 2


def test_other_server_errors_stay_500(rf: RequestFactory):
    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        response = server_error(rf.get("/checkouts/"))

    assert response.status_code == 500
    assert not response.has_header("Retry-After")
