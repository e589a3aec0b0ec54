"""Rotate URL: a connection's receiver address changes; the old one works 24 hours more, or stops at once."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from checkouts.models import Checkout, Connection
from checkouts.services.connections import connection_create, connection_token_rotate
from tests.factories import MembershipFactory, UserFactory

from .test_browser_events import BEGIN, SHOP, beacon
from .test_shopify import CHECKOUT, SECRET, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(store):
    return connection_create(store=store, platform="shopify", secret=SECRET)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def at(token: str):
    """The connection as a platform still holding `token` in its webhook settings would reach it."""
    return Connection(token=token)


def test_the_old_url_keeps_working_for_the_grace_and_the_new_one_at_once(connection):
    old = connection.token
    connection_token_rotate(connection=connection)
    assert connection.token != old
    assert deliver(at(old), "checkouts/create", CHECKOUT, webhook_id="w-old").status_code == 200
    second = {**CHECKOUT, "token": "second"}
    assert deliver(at(connection.token), "checkouts/create", second, webhook_id="w-new").status_code == 200
    assert set(Checkout.objects.values_list("external_id", flat=True)) == {CHECKOUT["token"], "second"}


def test_after_the_grace_the_old_url_is_a_404_and_writes_nothing(connection):
    old = connection.token
    connection_token_rotate(connection=connection)
    Connection.objects.filter(pk=connection.pk).update(previous_token_until=timezone.now() - timedelta(seconds=1))
    assert deliver(at(old), "checkouts/create", CHECKOUT).status_code == 404
    assert not Checkout.objects.exists()


def test_rotating_immediately_refuses_the_old_url_at_once(connection):
    old = connection.token
    connection_token_rotate(connection=connection, immediately=True)
    assert deliver(at(old), "checkouts/create", CHECKOUT).status_code == 404
    assert deliver(at(connection.token), "checkouts/create", CHECKOUT).status_code == 200


def test_rotating_again_ends_the_older_urls_grace(connection):
    first = connection.token
    connection_token_rotate(connection=connection)
    second = connection.token
    connection_token_rotate(connection=connection)
    assert deliver(at(first), "checkouts/create", CHECKOUT).status_code == 404
    assert deliver(at(second), "checkouts/create", CHECKOUT, webhook_id="w-2").status_code == 200


def test_a_manager_rotates_from_the_page_which_says_until_when_the_old_url_works(owner, connection):
    client = signed_in(owner)
    page = client.get(f"/settings/connections/{connection.pk}/").content.decode()
    assert "Rotate URL" in page and "24 hours" in page
    old = connection.token
    response = client.post(f"/settings/connections/{connection.pk}/rotate/", follow=True)
    connection.refresh_from_db()
    page = response.content.decode()
    assert connection.token != old and connection.previous_token == old
    assert f"/connect/shopify/{connection.token}/" in page and f"/connect/shopify/{old}/" not in page
    assert "still accepted until" in page


def test_the_page_can_refuse_the_old_url_at_once(owner, connection):
    old = connection.token
    signed_in(owner).post(f"/settings/connections/{connection.pk}/rotate/", {"immediately": "on"})
    connection.refresh_from_db()
    assert connection.token != old and connection.previous_token == ""
    assert deliver(at(old), "checkouts/create", CHECKOUT).status_code == 404


def test_a_viewer_cannot_rotate(store, connection):
    viewer = MembershipFactory(store=store, user=UserFactory(username="viewer"), role="VIEWER").user
    client = signed_in(viewer)
    assert "Rotate URL" not in client.get(f"/settings/connections/{connection.pk}/").content.decode()
    assert client.post(f"/settings/connections/{connection.pk}/rotate/").status_code == 403
    connection.refresh_from_db()
    assert connection.previous_token == "" and Connection.objects.get().token == connection.token


def test_a_rotated_publishable_key_works_for_the_grace_and_not_after(store):
    script = connection_create(store=store, platform="script", settings={"origins": SHOP})
    old = script.token
    connection_token_rotate(connection=script)
    assert beacon(script, BEGIN, key=f"pk_{old}").status_code == 200
    Connection.objects.filter(pk=script.pk).update(previous_token_until=timezone.now() - timedelta(seconds=1))
    response = beacon(script, BEGIN, key=f"pk_{old}", session="another")
    assert response.status_code == 403 and response.json()["error"]["field"] == "key"
    assert Checkout.objects.count() == 1
