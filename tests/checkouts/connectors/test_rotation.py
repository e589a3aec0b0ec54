"""Rotate URL: a connection's receiver address changes; the old one works 24 hours more, or stops at once.

And a replaced Shopify client secret: deliveries it signs are taken for an hour more, as Shopify may still
sign with it after a rotation, then refused.
"""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from checkouts.connectors.selectors import receiver_connection
from checkouts.models import Checkout, Connection, ConnectionReceipt
from checkouts.models.connections import SECRET_GRACE
from checkouts.services.connections import connection_create, connection_token_rotate, connection_update
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


NEW_SECRET = "shpss_rotated_client_secret"


def replace_secret(owner, connection, secret: str = NEW_SECRET) -> None:
    """The merchant pastes a new client secret on the connection's edit form."""
    form = {"name": "", "secret": secret}
    response = signed_in(owner).post(f"/settings/connections/{connection.pk}/edit/", form)
    assert response.status_code == 200
    assert "Deliveries signed with the old one are still accepted until" in response.content.decode()


def test_a_delivery_signed_with_the_replaced_secret_is_taken_within_the_hour(owner, connection):
    before = timezone.now()
    replace_secret(owner, connection)
    connection.refresh_from_db()
    assert connection.secret == NEW_SECRET and connection.previous_secret == SECRET
    assert before + SECRET_GRACE <= connection.previous_secret_until <= timezone.now() + SECRET_GRACE
    assert deliver(connection, "checkouts/create", CHECKOUT, secret=SECRET, webhook_id="w-old").status_code == 200
    second = {**CHECKOUT, "token": "second"}
    assert deliver(connection, "checkouts/create", second, secret=NEW_SECRET, webhook_id="w-new").status_code == 200
    assert set(Checkout.objects.values_list("external_id", flat=True)) == {CHECKOUT["token"], "second"}


def test_the_replaced_secret_is_stored_encrypted_like_the_current_one(owner, connection):
    replace_secret(owner, connection)
    stored = Connection.objects.filter(pk=connection.pk).values_list("secret", "previous_secret").query
    with db.cursor() as cursor:
        cursor.execute(*stored.sql_with_params())
        secret, previous = cursor.fetchone()
    assert previous and SECRET not in previous and NEW_SECRET not in secret and previous != secret


def test_after_the_hour_the_replaced_secret_is_a_401_and_writes_nothing(owner, connection):
    replace_secret(owner, connection)
    Connection.objects.filter(pk=connection.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    response = deliver(connection, "checkouts/create", CHECKOUT, secret=SECRET)
    assert response.status_code == 401
    assert not Checkout.objects.exists() and not ConnectionReceipt.objects.exists()
    connection.refresh_from_db()
    assert "signature" in connection.last_error  # the status says why
    assert deliver(connection, "checkouts/create", CHECKOUT, secret=NEW_SECRET).status_code == 200


def test_a_third_secret_is_refused_while_the_old_one_is_in_its_grace(owner, connection):
    replace_secret(owner, connection)
    response = deliver(connection, "checkouts/create", CHECKOUT, secret="shpss_some_other_secret")
    assert response.status_code == 401
    assert not Checkout.objects.exists() and not ConnectionReceipt.objects.exists()


def test_replacing_again_keeps_only_the_last_replaced_secret(owner, connection):
    replace_secret(owner, connection)
    replace_secret(owner, connection, secret="shpss_third_secret")
    assert deliver(connection, "checkouts/create", CHECKOUT, secret=SECRET).status_code == 401
    assert deliver(connection, "checkouts/create", CHECKOUT, secret=NEW_SECRET).status_code == 200


def test_saving_the_form_without_a_new_secret_starts_no_grace(owner, connection):
    signed_in(owner).post(f"/settings/connections/{connection.pk}/edit/", {"name": "Renamed"})
    connection.refresh_from_db()
    assert connection.previous_secret == "" and connection.previous_secret_until is None


def test_the_receiver_reads_both_secrets_in_its_one_query(owner, connection, django_assert_num_queries):
    replace_secret(owner, connection)
    with django_assert_num_queries(1):
        found = receiver_connection(platform="shopify", token=connection.token)
    assert found.secrets == [NEW_SECRET, SECRET]
    Connection.objects.filter(pk=connection.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    assert receiver_connection(platform="shopify", token=connection.token).secrets == [NEW_SECRET]


def test_only_a_shopify_secret_is_kept_after_a_replacement(store):
    wix = connection_create(store=store, platform="wix", secret="wix-api-key", settings={"site_id": "s"})
    connection_update(connection=wix, name="", settings=wix.settings, credentials={"secret": "wix-new-key"})
    wix.refresh_from_db()
    assert wix.previous_secret == "" and wix.previous_secret_until is None
