"""Who may call what: API keys (as Wix clients send them), scopes, and dashboard sessions."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from checkouts.models import AbandonedCheckout, ApiKey, Membership
from checkouts.services import api_key_revoke
from tests.checkouts.api.conftest import ApiClient
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
LIST = "/api/v1/abandoned-checkouts/"


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["details"]["applicationError"]["code"]


def test_a_missing_key_is_401_with_a_challenge(store):
    response = ApiClient(None).post(QUERY, {"query": {}})
    assert error_code(response, 401) == "UNAUTHENTICATED"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["nonsense", "cbk_", "cbk_abc", "cbk_000000000000_wrongsecret", "Bearer "])
def test_a_malformed_or_unknown_key_is_401(store, api_key, header):
    assert error_code(ApiClient(header).post(QUERY, {"query": {}}), 401) == "UNAUTHENTICATED"


def test_a_right_prefix_with_a_wrong_secret_is_401(store, api_key):
    forged = api_key[: api_key.rindex("_") + 1] + "x" * 43
    assert error_code(ApiClient(forged).post(QUERY, {"query": {}}), 401) == "UNAUTHENTICATED"


@pytest.mark.parametrize("form", ["{key}", "Bearer {key}", "bearer {key}"])
def test_the_key_alone_or_as_a_bearer_token(store, api_key, form):
    assert ApiClient(form.format(key=api_key)).post(QUERY, {"query": {}}).status_code == 200


def test_a_revoked_key_is_refused(store, api_key):
    api_key_revoke(api_key=ApiKey.objects.get())
    assert error_code(ApiClient(api_key).post(QUERY, {"query": {}}), 401) == "UNAUTHENTICATED"


def test_wix_site_id_must_name_the_keys_store(store, other_store, api_key):
    assert ApiClient(api_key, **{"wix-site-id": str(store.id)}).post(QUERY, {"query": {}}).status_code == 200
    wrong = ApiClient(api_key, **{"wix-site-id": str(other_store.id)})
    assert error_code(wrong.post(QUERY, {"query": {}}), 401) == "UNAUTHENTICATED"


def test_scopes_map_to_wix_permissions(store, make_api):
    ac = AbandonedCheckoutFactory(store=store)
    reader, deleter = make_api(store, scopes=["read"]), make_api(store, scopes=["delete"])
    refused = reader.delete(f"/ecom/v1/abandoned-checkout/{ac.id}")
    assert error_code(refused, 403) == "PERMISSION_DENIED"
    assert "ECOM.ABANDONED_CHECKOUT_DELETE" in refused.json()["message"]
    assert error_code(
        reader.post("/ecom/v1/bulk/abandoned-checkout/delete", {"abandonedCheckoutIds": [str(ac.id)]}), 403
    )
    assert error_code(reader.post("/api/v1/checkout-events", {"events": []}), 403) == "PERMISSION_DENIED"
    assert "ECOM.ABANDONED_CHECKOUT_READ" in deleter.get(f"/ecom/v1/abandoned-checkout/{ac.id}").json()["message"]
    assert error_code(deleter.post(QUERY, {"query": {}}), 403) == "PERMISSION_DENIED"
    assert deleter.delete(f"/ecom/v1/abandoned-checkout/{ac.id}").status_code == 200
    assert not AbandonedCheckout.objects.exists()


def session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_signed_in_member_uses_the_api_for_the_current_store(store, other_store):
    mine, _ = AbandonedCheckoutFactory(store=store), AbandonedCheckoutFactory(store=other_store)
    viewer = MembershipFactory(store=store, role=Membership.Role.VIEWER).user
    client = session(viewer)
    listed = client.get(LIST).json()["results"]
    assert [item["id"] for item in listed] == [str(mine.id)]
    assert client.get(f"/ecom/v1/abandoned-checkout/{mine.id}").status_code == 200
    queried = client.post(QUERY, {"query": {}}, content_type="application/json").json()
    assert [item["id"] for item in queried["abandonedCheckouts"]] == [str(mine.id)]


def test_a_key_skips_the_session_while_a_session_with_a_bad_key_header_still_signs_in(store, make_api):
    """A Wix route called with a key goes past the session middleware (config/fastpath.py): no
    session is read, yet the security headers, the length and the key's own checks hold."""
    ac = AbandonedCheckoutFactory(store=store)
    response = make_api(store).get(f"/ecom/v1/abandoned-checkout/{ac.id}")
    assert response.status_code == 200 and "Cookie" not in response.get("Vary", "")
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Content-Type-Options"] == "nosniff" and response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]
    assert error_code(ApiClient("cbk_not_a_key").get(f"/ecom/v1/abandoned-checkout/{ac.id}"), 401)
    # Basic credentials are not the API's: the request goes down the whole chain, to the session.
    viewer = MembershipFactory(store=store, role=Membership.Role.VIEWER).user
    signed_in = session(viewer).get(f"/ecom/v1/abandoned-checkout/{ac.id}", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert signed_in.status_code == 200 and "Cookie" in signed_in["Vary"]


def test_a_viewer_may_read_but_not_delete_a_manager_may(store):
    ac = AbandonedCheckoutFactory(store=store)
    viewer = MembershipFactory(store=store, role=Membership.Role.VIEWER).user
    manager = MembershipFactory(store=store, role=Membership.Role.MANAGER).user
    refused = session(viewer).delete(f"/ecom/v1/abandoned-checkout/{ac.id}")
    assert error_code(refused, 403) == "PERMISSION_DENIED"
    assert session(manager).delete(f"/ecom/v1/abandoned-checkout/{ac.id}").status_code == 200


def test_a_session_post_needs_the_csrf_token(store):
    owner = MembershipFactory(store=store).user
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(QUERY, {"query": {}}, content_type="application/json")
    assert error_code(response, 403) == "PERMISSION_DENIED"
    assert "CSRF" in response.json()["message"]


def test_a_user_without_a_store_is_refused(db):
    client = session(UserFactory(username="drifter"))
    assert error_code(client.get(LIST), 403) == "PERMISSION_DENIED"


def test_the_browsable_api_renders_for_a_signed_in_merchant(store):
    AbandonedCheckoutFactory(store=store, buyer_email="visible@example.com")
    owner = MembershipFactory(store=store).user
    response = session(owner).get(LIST, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"visible@example.com" in response.content


def test_create_api_key_prints_the_key_once(store, capsys):
    call_command("create_api_key", str(store.id), "--name", "Zapier", "--scopes", "read,delete")
    raw = capsys.readouterr().out.strip()
    key = ApiKey.objects.get()
    assert key.name == "Zapier" and key.scopes == ["delete", "read"] and raw.startswith("cbk_")
    assert raw not in (key.secret_hash, key.prefix) and key.matches(ApiKey.split(raw)[1])
    assert ApiClient(raw).post(QUERY, {"query": {}}).status_code == 200


@pytest.mark.parametrize(
    "args,message",
    [
        (["00000000-0000-0000-0000-000000000000", "--name", "x"], "No store"),
        (["not-a-uuid", "--name", "x"], "No store"),
        (["{store}", "--name", "x", "--scopes", "read,write"], "Scopes must be"),
    ],
)
def test_create_api_key_refuses_bad_input(store, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *[arg.format(store=store.id) for arg in args])
