"""Settings: store settings, members and roles, API keys."""

import re
from datetime import timedelta

import pytest

from checkouts.models import ApiKey, Checkout, Membership, Store
from checkouts.services import api_key_create
from tests.factories import CheckoutFactory, MembershipFactory
from tests.forms import form_data

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


def test_an_owner_changes_a_members_role_and_removes_them(store, owner_client):
    membership = MembershipFactory(store=store, role="MANAGER")

    owner_client.post(f"/settings/members/{membership.pk}/", {"role": "VIEWER"})
    membership.refresh_from_db()
    assert membership.role == "VIEWER"

    owner_client.post(f"/settings/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


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


def test_open_change_nothing_save_keeps_the_store_as_it_was(store, manager_client):
    store.time_zone, store.language = "America/Argentina/Buenos_Aires", "pt-BR"
    store.save()
    before = Store.objects.values().get(pk=store.pk)
    data = form_data(manager_client.get("/settings/").content.decode())
    response = manager_client.post("/settings/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Store.objects.values().get(pk=store.pk) == before


def test_time_zones_are_canonical_and_the_language_is_a_choice(manager_client):
    html = manager_client.get("/settings/").content.decode()
    zones = set(re.findall(r'<option value="([^"]+)"></option>', html))
    assert {"Europe/Paris", "America/New_York", "Asia/Kolkata", "Europe/Kyiv", "UTC"} <= zones
    assert not zones & {"US/Eastern", "Asia/Calcutta", "Europe/Kiev", "GB", "Etc/GMT+5"}  # deprecated aliases
    assert 'list="time-zones"' in html
    assert re.search(r'<select[^>]* name="language"', html) and '<option value="fr">French · fr</option>' in html


def test_a_time_zone_outside_the_list_names_the_field(manager_client, store):
    response = manager_client.post("/settings/", {**STORE_FORM, "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Pick a time zone from the list" in response.content.decode()


def test_the_api_keys_page_links_the_api_docs_and_the_nav_has_sent_emails(owner_client):
    html = owner_client.get("/settings/api-keys/").content.decode()
    assert '<a href="/api/docs/">API documentation</a>' in html
    assert owner_client.get("/api/docs/").status_code == 200
    assert '<a class="nav-link" href="/emails/">Sent emails</a>' in html


def test_the_attribution_window_is_a_store_setting_of_five_days_unless_changed(store, manager_client):
    assert store.attribution_window_days == 5
    assert 'name="attribution_window_days" value="5"' in manager_client.get("/settings/").content.decode()
    manager_client.post("/settings/", {**STORE_FORM, "attribution_window_days": "3"})
    store.refresh_from_db()
    assert store.attribution_window_days == 3
    manager_client.post("/settings/", STORE_FORM)  # a form without the field leaves it as it is
    store.refresh_from_db()
    assert store.attribution_window_days == 3
    response = manager_client.post("/settings/", {**STORE_FORM, "attribution_window_days": "0"})
    assert response.status_code == 400
