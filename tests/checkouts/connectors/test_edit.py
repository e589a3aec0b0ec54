"""Editing a connection: its name and settings, and rotating a credential (the new one shown once)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from checkouts.connectors.tasks import connection_receipts_prune_task
from checkouts.models import Connection, ConnectionReceipt, Membership
from checkouts.models.connections import SECRET_GRACE, TOKEN_GRACE
from checkouts.services.connections import (
    connection_create,
    connection_credentials_retire,
    connection_receipts_prune,
    connection_token_rotate,
)
from tests.factories import MembershipFactory, UserFactory

from .test_shopify import CHECKOUT
from .test_shopify import deliver as shopify_deliver

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shopify(store):
    return connection_create(
        store=store,
        platform="shopify",
        name="Main shop",
        settings={"shop_domain": "acme.myshopify.com", "kept": "by code"},
        secret="shpss_abcdefgh1234",
        secondary_secret="shpat_token5678",
    )


def test_the_form_shows_the_settings_but_never_a_credential(owner, shopify):
    page = signed_in(owner).get(f"/settings/connections/{shopify.pk}/edit/").content.decode()
    assert "acme.myshopify.com" in page and "Main shop" in page
    assert "shpss_abcdefgh1234" not in page and "shpat_token5678" not in page and "1234" not in page


def test_changing_settings_keeps_the_credentials(owner, shopify):
    form = {"name": "EU shop", "shop_domain": "acme-eu.myshopify.com", "api_version": "2025-10"}
    response = signed_in(owner).post(f"/settings/connections/{shopify.pk}/edit/", form)
    assert response.status_code == 302
    shopify.refresh_from_db()
    assert shopify.name == "EU shop"
    assert shopify.settings == {"shop_domain": "acme-eu.myshopify.com", "api_version": "2025-10", "kept": "by code"}
    assert (shopify.secret, shopify.secondary_secret) == ("shpss_abcdefgh1234", "shpat_token5678")


def test_rotating_the_secret_shows_the_new_one_once_and_both_sign_for_the_hour(owner, shopify):
    client = signed_in(owner)
    form = {"name": "Main shop", "shop_domain": "acme.myshopify.com", "secret": "shpss_rotated9999"}
    response = client.post(f"/settings/connections/{shopify.pk}/edit/", form)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "shpss_rotated9999" in page and "shpat_token5678" not in page and "5678" in page
    shopify.refresh_from_db()
    assert shopify.secret == "shpss_rotated9999" and shopify.secondary_secret == "shpat_token5678"
    later = client.get(f"/settings/connections/{shopify.pk}/").content.decode()
    assert "shpss_rotated9999" not in later and "9999" in later
    # Shopify may sign with the old secret for an hour after a rotation (test_rotation.py: and not after).
    old = shopify_deliver(shopify, "checkouts/create", CHECKOUT, secret="shpss_abcdefgh1234", webhook_id="w-old")
    assert old.status_code == 200
    assert shopify_deliver(shopify, "checkouts/create", CHECKOUT, secret="shpss_rotated9999").status_code == 200


def test_a_bad_setting_is_a_400_naming_the_field_and_changes_nothing(owner, shopify):
    form = {"name": "X", "shop_domain": "acme.com", "secret": "shpss_new"}
    response = signed_in(owner).post(f"/settings/connections/{shopify.pk}/edit/", form)
    assert response.status_code == 400 and "shop_domain" in response.context["form"].errors
    shopify.refresh_from_db()
    assert (shopify.name, shopify.secret, shopify.settings["shop_domain"]) == (
        "Main shop",
        "shpss_abcdefgh1234",
        "acme.myshopify.com",
    )


@pytest.mark.parametrize("role", [Membership.Role.VIEWER])
def test_a_viewer_cannot_edit(store, shopify, role):
    viewer = MembershipFactory(store=store, user=UserFactory(username="viewer"), role=role).user
    client = signed_in(viewer)
    assert client.get(f"/settings/connections/{shopify.pk}/edit/").status_code == 403
    assert client.post(f"/settings/connections/{shopify.pk}/edit/", {"secret": "stolen"}).status_code == 403
    shopify.refresh_from_db()
    assert shopify.secret == "shpss_abcdefgh1234"
    assert "/edit/" not in client.get(f"/settings/connections/{shopify.pk}/").content.decode()


def test_a_manager_edits(store, shopify):
    manager = MembershipFactory(store=store, user=UserFactory(username="manager"), role=Membership.Role.MANAGER).user
    response = signed_in(manager).post(f"/settings/connections/{shopify.pk}/edit/", {"name": "Renamed"})
    assert response.status_code == 302
    assert Connection.objects.get().name == "Renamed"


def test_another_stores_connection_cannot_be_edited(owner, other_store):
    theirs = connection_create(store=other_store, platform="shopify", secret="theirs")
    client = signed_in(owner)
    assert client.get(f"/settings/connections/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/settings/connections/{theirs.pk}/edit/", {"secret": "mine"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.secret == "theirs"


def test_a_receipt_still_waiting_for_the_drain_is_never_pruned(shopify, settings):
    ConnectionReceipt.objects.create(connection=shopify, delivery_id="waiting", events=[{"eventId": "x"}])
    ConnectionReceipt.objects.update(
        received_at=timezone.now() - timedelta(days=settings.COMEBACK_INGEST_DEDUP_DAYS, minutes=1)
    )
    assert connection_receipts_prune() == 0 and ConnectionReceipt.objects.exists()


def test_a_replaced_secret_and_token_are_blanked_once_their_grace_ends(owner, shopify):
    form = {"name": "Main shop", "shop_domain": "acme.myshopify.com", "secret": "shpss_rotated9999"}
    signed_in(owner).post(f"/settings/connections/{shopify.pk}/edit/", form)
    connection_token_rotate(connection=shopify)
    shopify.refresh_from_db()
    assert shopify.previous_secret == "shpss_abcdefgh1234" and shopify.previous_token
    # Within the grace both are kept: the hourly task leaves them.
    assert connection_receipts_prune_task() == 0
    shopify.refresh_from_db()
    assert shopify.previous_secret == "shpss_abcdefgh1234" and shopify.previous_token
    # An hour on, the secret's grace is over (the token's lasts a day): only the secret goes.
    assert connection_credentials_retire(now=timezone.now() + SECRET_GRACE + timedelta(seconds=1)) == 1
    shopify.refresh_from_db()
    assert shopify.previous_secret == "" and shopify.previous_secret_until is None
    assert shopify.previous_token and shopify.previous_token_until
    assert connection_credentials_retire(now=timezone.now() + TOKEN_GRACE + timedelta(seconds=1)) == 1
    shopify.refresh_from_db()
    assert shopify.previous_token == "" and shopify.previous_token_until is None
    old = shopify_deliver(shopify, "checkouts/create", CHECKOUT, secret="shpss_abcdefgh1234", webhook_id="w-old")
    assert old.status_code == 401
