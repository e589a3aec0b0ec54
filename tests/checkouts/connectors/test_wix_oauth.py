"""POST /oauth2/token: a Wix app's client credentials for one store, and the token acting like an API key."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from checkouts.models import OAuthApp
from checkouts.services.oauth import oauth_app_create, oauth_app_secret_reset
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def app(store):
    app, secret = oauth_app_create(name="Recovery app", scopes=["read"], stores=[store])
    return app, secret


def token_request(body, address="203.0.113.7", **extra):
    return Client().post("/oauth2/token", body, content_type="application/json", REMOTE_ADDR=address, **extra)


def grant(app, secret, store) -> dict:
    return {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": secret,
        "instance_id": str(store.id),
    }


def query(token, **headers):
    return Client().post(
        QUERY, {"query": {}}, content_type="application/json", headers={"Authorization": token, **headers}
    )


def code(response) -> str:
    return response.json()["details"]["applicationError"]["code"]


def test_client_credentials_return_a_wix_shaped_token_that_reads_the_store(store, other_store, app):
    mine = AbandonedCheckoutFactory(store=store)
    AbandonedCheckoutFactory(store=other_store)
    response = token_request(grant(*app, store))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store" and response["X-Wix-Request-Id"]
    body = response.json()
    assert (
        body["token_type"] == "Bearer"
        and body["expires_in"] == 14400
        and set(body)
        == {
            "access_token",
            "token_type",
            "expires_in",
        }
    )
    for header in (body["access_token"], f"Bearer {body['access_token']}"):
        listed = query(header)
        assert listed.status_code == 200
        assert [item["id"] for item in listed.json()["abandonedCheckouts"]] == [str(mine.id)]


def test_a_form_body_works_too(store, app):
    response = Client().post(
        "/oauth2/token", urlencode(grant(*app, store)), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and query(response.json()["access_token"]).status_code == 200


def test_the_token_has_the_apps_scopes_only(store, app):
    token = token_request(grant(*app, store)).json()["access_token"]
    ac = AbandonedCheckoutFactory(store=store)
    refused = Client().delete(f"/ecom/v1/abandoned-checkout/{ac.id}", headers={"Authorization": token})
    assert refused.status_code == 403 and "lacks the 'delete' scope" in refused.json()["message"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "00000000-0000-4000-8000-000000000000"}, 401, "invalid_client"),
        ({"instance_id": "00000000-0000-4000-8000-000000000000"}, 400, "invalid_grant"),
        ({"instance_id": "not-a-guid"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
    ],
)
def test_bad_credentials_are_refused_in_wixs_envelope(store, app, change, status, error):
    response = token_request(grant(*app, store) | change)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and code(response) == error.upper() and body["message"]
    assert "access_token" not in body


def test_an_app_not_installed_on_a_store_gets_no_token_for_it(store, other_store, app):
    assert token_request(grant(*app, other_store)).json()["error"] == "invalid_grant"


def test_a_missing_field_is_named(store, app):
    body = grant(*app, store)
    del body["instance_id"]
    response = token_request(body)
    assert response.status_code == 400
    assert [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]] == ["instance_id"]


def test_tokens_expire_after_four_hours_and_die_with_a_new_secret_or_a_deactivated_app(store, app):
    with time_machine.travel(START, tick=False) as clock:
        token = token_request(grant(*app, store)).json()["access_token"]
        clock.shift(timedelta(hours=4) - timedelta(seconds=1))
        assert query(token).status_code == 200
        clock.shift(timedelta(seconds=2))
        assert query(token).status_code == 401
    token = token_request(grant(*app, store)).json()["access_token"]
    oauth_app_secret_reset(app=app[0])
    assert query(token).status_code == 401
    fresh = oauth_app_create(name="second", scopes=["read"], stores=[store])
    token = token_request(grant(*fresh, store)).json()["access_token"]
    OAuthApp.objects.filter(pk=fresh[0].pk).update(is_active=False)
    assert query(token).status_code == 401


def test_a_token_answers_only_for_its_store(store, other_store, app):
    token = token_request(grant(*app, store)).json()["access_token"]
    assert query(token, **{"wix-site-id": str(other_store.id)}).status_code == 401
    assert query(token + "x").status_code == 401
    assert query("cbo_" + "e" * 40).status_code == 401


def test_bad_secrets_are_rate_limited_like_bad_api_keys(store, app, settings):
    settings.COMEBACK_API_KEY_FAILURE_RATE = "3/minute"
    with time_machine.travel(START, tick=False):
        wrong = grant(*app, store) | {"client_secret": "guess"}
        assert [token_request(wrong).status_code for _ in range(4)] == [401, 401, 401, 429]
        assert token_request(grant(*app, store)).status_code == 429  # the right secret from there waits too
        assert token_request(grant(*app, store), address="203.0.113.8").status_code == 200


def test_the_command_registers_an_app_and_prints_its_secret_once(store):
    out = StringIO()
    call_command("create_oauth_app", str(store.id), name="CLI app", scopes="read,delete", stdout=out, stderr=StringIO())
    values = dict(line.split("=", 1) for line in out.getvalue().split())
    app = OAuthApp.objects.get(client_id=values["client_id"])
    assert app.scopes == ["delete", "read"] and list(app.stores.all()) == [store]
    assert values["client_secret"] not in app.secret_hash and app.matches(values["client_secret"])
    assert token_request(grant(app, values["client_secret"], store)).status_code == 200
