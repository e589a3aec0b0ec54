"""/connect/ goes straight to its views: no session, user or CSRF machinery, the usual errors and headers."""

import pytest
from django.test import Client

from checkouts.services.connections import connection_create

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
