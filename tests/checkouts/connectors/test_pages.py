"""Settings › Connect your store: add, set up, test, pause, remove; viewers see status only."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from checkouts.connectors.tasks import connection_receipts_prune_task
from checkouts.models import Checkout, Connection, ConnectionReceipt
from checkouts.services.connections import connection_create
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(store):
    return MembershipFactory(store=store, user=UserFactory(username="viewer"), role="VIEWER").user


@pytest.fixture
def shopify(store):
    return connection_create(store=store, platform="shopify", name="Main shop", secret="shpss_abcdefgh1234")


def test_a_manager_adds_a_shopify_connection_and_sees_its_secret_once(owner, store):
    client = signed_in(owner)
    form = {"name": "Main shop", "shop_domain": "acme.myshopify.com", "secret": "shpss_abcdefgh1234"}
    response = client.post("/settings/connections/new/shopify/", form)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    connection = Connection.objects.get(store=store)
    page = response.content.decode()
    assert "shpss_abcdefgh1234" in page
    assert f"/connect/shopify/{connection.token}/" in page
    assert connection.secret == "shpss_abcdefgh1234" and connection.settings["shop_domain"] == "acme.myshopify.com"
    later = client.get(f"/settings/connections/{connection.pk}/").content.decode()
    assert "shpss_abcdefgh1234" not in later and "1234" in later


def test_a_form_without_the_secret_or_with_a_bad_domain_is_a_400_naming_the_field(owner, store):
    response = signed_in(owner).post("/settings/connections/new/shopify/", {"shop_domain": "acme.com"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "secret" in errors and "shop_domain" in errors
    assert not Connection.objects.exists()


def test_the_list_shows_status_last_error_and_events_in_24_hours(owner, shopify):
    ConnectionReceipt.objects.create(connection=shopify, delivery_id="a")
    ConnectionReceipt.objects.create(connection=shopify, delivery_id="b")
    Connection.objects.filter(pk=shopify.pk).update(last_error="A webhook's signature did not match")
    page = signed_in(owner).get("/settings/connections/").content.decode()
    assert "Main shop" in page and "2 in the last 24 h" in page and "signature did not match" in page


def test_send_a_test_event_goes_through_ingest_and_says_so(owner, shopify, store):
    response = signed_in(owner).post(f"/settings/connections/{shopify.pk}/test/", follow=True)
    assert "Sent 2 test events" in response.content.decode()
    checkout = Checkout.objects.get(store=store)
    assert checkout.completed_at is not None  # never abandoned
    shopify.refresh_from_db()
    assert shopify.last_event_at is not None


def test_pause_resume_and_remove(owner, shopify):
    client = signed_in(owner)
    client.post(f"/settings/connections/{shopify.pk}/pause/")
    assert Connection.objects.get().status == "paused"
    client.post(f"/settings/connections/{shopify.pk}/resume/")
    assert Connection.objects.get().status == "active"
    assert "Remove" in client.get(f"/settings/connections/{shopify.pk}/remove/").content.decode()
    client.post(f"/settings/connections/{shopify.pk}/remove/")
    assert not Connection.objects.exists()


def test_a_viewer_sees_status_but_no_secret_or_steps_and_cannot_change_anything(viewer, shopify):
    client = signed_in(viewer)
    page = client.get(f"/settings/connections/{shopify.pk}/").content.decode()
    assert "Active" in page and "1234" not in page and shopify.token not in page
    assert client.post(f"/settings/connections/{shopify.pk}/pause/").status_code == 403
    assert client.post(f"/settings/connections/{shopify.pk}/remove/").status_code == 403
    assert client.post("/settings/connections/new/shopify/", {"secret": "x"}).status_code == 403
    assert Connection.objects.get().status == "active"


def test_another_stores_connection_is_a_404(owner, other_store):
    theirs = connection_create(store=other_store, platform="shopify", secret="theirs")
    client = signed_in(owner)
    assert client.get(f"/settings/connections/{theirs.pk}/").status_code == 404
    assert client.post(f"/settings/connections/{theirs.pk}/remove/").status_code == 404
    assert "theirs" not in client.get("/settings/connections/").content.decode()


def test_the_backfill_button_queues_the_pull(owner, shopify, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(owner).post(f"/settings/connections/{shopify.pk}/backfill/", follow=True)
    assert "Backfill started" in response.content.decode()
    assert len(callbacks) == 1


def test_a_saleor_connection_shows_its_target_url_and_key_set_address(owner, store):
    client = signed_in(owner)
    response = client.post(
        "/settings/connections/new/saleor/",
        {"api_url": "https://shop.example.com/graphql/", "checkout_url": "https://shop.example.com/c?t={token}"},
    )
    assert response.status_code == 200
    connection = Connection.objects.get(store=store, platform="saleor")
    page = response.content.decode()
    assert f"/connect/saleor/{connection.token}/" in page
    assert "https://shop.example.com/.well-known/jwks.json" in page


def test_a_saleor_connection_needs_an_api_url(owner):
    response = signed_in(owner).post("/settings/connections/new/saleor/", {"api_url": "shop.example.com"})
    assert response.status_code == 400 and "api_url" in response.context["form"].errors
    assert not Connection.objects.exists()


def test_an_unknown_platform_is_a_404(owner):
    assert signed_in(owner).get("/settings/connections/new/magento/").status_code == 404


def test_receipts_older_than_the_dedup_window_are_pruned(shopify, settings):
    old = ConnectionReceipt.objects.create(connection=shopify, delivery_id="old")
    ConnectionReceipt.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(days=settings.COMEBACK_INGEST_DEDUP_DAYS, minutes=1)
    )
    ConnectionReceipt.objects.create(connection=shopify, delivery_id="new")
    assert connection_receipts_prune_task() == 1
    assert list(ConnectionReceipt.objects.values_list("delivery_id", flat=True)) == ["new"]
