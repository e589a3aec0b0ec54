"""Settings: store settings, members and roles, API keys."""

from datetime import timedelta

import pytest

from checkouts.models import ApiKey, Checkout, Membership
from checkouts.services import api_key_create
from tests.factories import CheckoutFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

STORE_FORM = {
    "name": "Acme Outdoors",
    "storefront_url": "https://acme.example.com",
    "abandon_after_minutes": "90",
    "recovery_rule": "ANY_ORDER_WITHIN_DAYS",
    "recovery_window_days": "14",
    "time_zone": "Europe/Paris",
    "currency": "EUR",
    "language": "fr",
}


def test_a_manager_saves_store_settings_through_the_service(store, manager_client):
    checkout = CheckoutFactory(store=store, abandon_due_at=None)
    Checkout.objects.filter(pk=checkout.pk).update(abandon_due_at=checkout.last_activity_at + timedelta(hours=1))

    response = manager_client.post("/settings/", STORE_FORM, follow=True)

    assert "Store settings saved." in response.content.decode()
    store.refresh_from_db()
    assert store.name == "Acme Outdoors" and store.abandon_after == timedelta(minutes=90)
    assert (store.recovery_rule, store.recovery_window_days) == ("ANY_ORDER_WITHIN_DAYS", 14)
    assert (store.time_zone, store.currency, store.language) == ("Europe/Paris", "EUR", "fr")
    checkout.refresh_from_db()
    assert checkout.abandon_due_at == checkout.last_activity_at + timedelta(minutes=90)  # re-timed by store_update


def test_bad_settings_are_a_400_naming_the_field(store, manager_client):
    response = manager_client.post("/settings/", {**STORE_FORM, "abandon_after_minutes": "0", "language": "zz-Nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 1." in html
    assert "is not a known language" in html
    store.refresh_from_db()
    assert store.name == "Acme"  # nothing half-written


def test_storefront_hosts_default_to_the_storefront_urls_host_and_are_editable(store, manager_client):
    manager_client.post("/settings/", STORE_FORM)
    store.refresh_from_db()
    assert store.storefront_hosts == ["acme.example.com"]

    hosts = "acme.example.com\nStatic.WixStatic.com, media.acme.example.com"
    manager_client.post("/settings/", {**STORE_FORM, "storefront_hosts": hosts})
    store.refresh_from_db()
    assert store.storefront_hosts == ["acme.example.com", "static.wixstatic.com", "media.acme.example.com"]
    assert "static.wixstatic.com" in manager_client.get("/settings/").content.decode()


@pytest.mark.parametrize("hosts", ["https://evil.example.net/", "*.example.com", "shop example..com", "a@b.example"])
def test_a_bad_storefront_host_is_a_400_naming_the_field(store, manager_client, hosts):
    response = manager_client.post("/settings/", {**STORE_FORM, "storefront_hosts": hosts})
    assert response.status_code == 400
    assert 'id="id_storefront_hosts_error"' in response.content.decode()
    store.refresh_from_db()
    assert store.name == "Acme" and store.storefront_hosts == ["shop.example.com"]


def test_a_viewer_sees_the_settings_read_only(viewer_client):
    html = viewer_client.get("/settings/").content.decode()
    assert "a manager or owner can change them" in html and "<fieldset disabled>" in html
    assert "Save settings" not in html


def test_an_owner_adds_a_member_by_email_and_changes_their_role(store, owner_client):
    newcomer = UserFactory(username="newcomer", email="New@Example.com")
    response = owner_client.post("/settings/members/", {"user": "new@example.com", "role": "MANAGER"}, follow=True)
    assert "newcomer can now open this store." in response.content.decode()
    membership = Membership.objects.get(store=store, user=newcomer)
    assert membership.role == "MANAGER"

    owner_client.post(f"/settings/members/{membership.pk}/", {"role": "VIEWER"})
    membership.refresh_from_db()
    assert membership.role == "VIEWER"

    owner_client.post(f"/settings/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("ghost", "No account has that username or email."), ("owner-", "They are already a member of this store.")],
)
def test_adding_an_unknown_or_existing_member_is_refused(store, owner_client, text, message):
    if text == "owner-":
        text = Membership.objects.get(store=store).user.username
    response = owner_client.post("/settings/members/", {"user": text, "role": "VIEWER"})
    assert response.status_code == 400 and message in response.content.decode()


def test_the_last_owner_can_neither_leave_nor_step_down(store, owner_client):
    me = Membership.objects.get(store=store, role="OWNER")
    response = owner_client.post(f"/settings/members/{me.pk}/", {"role": "VIEWER"}, follow=True)
    assert "A store needs at least one owner" in response.content.decode()
    response = owner_client.post(f"/settings/members/{me.pk}/remove/", follow=True)
    assert "A store needs at least one owner" in response.content.decode()
    me.refresh_from_db()
    assert me.role == "OWNER"

    MembershipFactory(store=store, role="OWNER")  # with a second owner, stepping down works
    owner_client.post(f"/settings/members/{me.pk}/", {"role": "MANAGER"})
    me.refresh_from_db()
    assert me.role == "MANAGER"


def test_an_api_key_secret_is_shown_exactly_once(store, owner_client):
    response = owner_client.post("/settings/api-keys/", {"name": "Storefront sync", "scopes": ["read", "ingest"]})

    html = response.content.decode()
    key = ApiKey.objects.get(store=store)
    secret = html.split('id="new-secret" class="secret" type="text" value="', 1)[1].split('"', 1)[0]
    assert secret.startswith(f"cbk_{key.prefix}_") and key.matches(ApiKey.split(secret)[1])
    assert key.scopes == ["ingest", "read"] and response["Cache-Control"] == "no-store"
    again = owner_client.get("/settings/api-keys/").content.decode()
    assert "Storefront sync" in again and secret not in again


def test_an_api_key_needs_a_name_and_a_scope(owner_client):
    response = owner_client.post("/settings/api-keys/", {"name": "", "scopes": []})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_a_key(store, owner_client):
    key, _ = api_key_create(store=store, name="Old app", scopes=["read"])
    response = owner_client.post(f"/settings/api-keys/{key.pk}/revoke/", follow=True)
    assert "Revoked the key “Old app”" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "badge-revoked" in response.content.decode()
