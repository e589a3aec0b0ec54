"""The Contact rules page and the SMS gateway's STOP endpoint."""

import json
from datetime import time

import pytest

from automations.models import ContactPolicy, TextOptOut
from automations.models.contact import phone_digests
from checkouts.models import Membership
from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "gateway-secret"


@pytest.fixture
def gateway(client, settings):
    settings.COMEBACK_SMS_INBOUND_TOKEN = TOKEN

    def post(body, token=TOKEN):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post(
            "/sms/opt-outs/", raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
        )

    return post


def test_a_stop_reported_by_the_gateway_records_an_opt_out(store, gateway):
    response = gateway({"store": str(store.pk), "phone": "+33 6 12 34 56 78"})
    assert response.status_code == 200 and response.json()["optedOut"] is True
    assert gateway({"store": str(store.pk), "phone": "+33612345678"}).status_code == 200
    (opt_out,) = TextOptOut.objects.all()
    assert (opt_out.store, opt_out.phone_hash, opt_out.source) == (store, phone_digests("+33612345678")[0], "STOP")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        ([], "body"),
        ({"store": "x", "phone": "+33612345678"}, "store"),
        ({"phone": "+33612345678"}, "store"),
        ({"store": "00000000-0000-0000-0000-000000000000", "phone": "+33612345678"}, "store"),
        ({"store": "STORE", "phone": "12"}, "phone"),
        ({"store": "STORE", "phone": 33612345678}, "phone"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field(store, gateway, body, field):
    if isinstance(body, dict) and body.get("store") == "STORE":
        body = {**body, "store": str(store.pk)}
    response = gateway(body)
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert not TextOptOut.objects.exists()


def test_the_endpoint_needs_the_gateway_token(store, gateway, client, settings):
    assert gateway({"store": str(store.pk), "phone": "+33612345678"}, token="guess").status_code == 401
    settings.COMEBACK_SMS_INBOUND_TOKEN = ""
    assert gateway({"store": str(store.pk), "phone": "+33612345678"}, token="").status_code == 404
    assert not TextOptOut.objects.exists()


def test_a_manager_edits_the_contact_rules(client, store):
    manager = MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="mia")).user
    client.force_login(manager)
    page = client.get("/automations/contact-rules/")
    assert page.status_code == 200 and 'value="16"' in page.content.decode()
    assert "Contact rules" in client.get("/automations/").content.decode()
    form = {"window_hours": "24", "quiet_hours": "on", "day_starts": "09:00", "day_ends": "20:30"}
    assert client.post("/automations/contact-rules/", form).status_code == 302
    policy = ContactPolicy.objects.get(store=store)
    assert (policy.window_hours, policy.quiet_hours, policy.day_starts, policy.day_ends) == (
        24,
        True,
        time(9, 0),
        time(20, 30),
    )
    assert policy.require_email_consent is False
    bad = client.post("/automations/contact-rules/", {**form, "day_ends": "08:00"})
    assert bad.status_code == 400 and "The day must end after it starts." in bad.content.decode()
    assert ContactPolicy.objects.get(store=store).day_ends == time(20, 30)


def test_a_viewer_sees_the_rules_but_cannot_change_them(client, store):
    viewer = MembershipFactory(store=store, role=Membership.Role.VIEWER, user=UserFactory(username="vic")).user
    client.force_login(viewer)
    assert "a manager or owner can change them" in client.get("/automations/contact-rules/").content.decode()
    assert client.post("/automations/contact-rules/", {"window_hours": "1"}).status_code == 403
    assert not ContactPolicy.objects.exists()


def test_each_store_edits_its_own_rules(client, store):
    other = StoreFactory(name="Other")
    ContactPolicy.objects.create(store=other, window_hours=48)
    owner = MembershipFactory(store=store, role=Membership.Role.OWNER, user=UserFactory(username="own")).user
    client.force_login(owner)
    assert 'value="16"' in client.get("/automations/contact-rules/").content.decode()
    client.post("/automations/contact-rules/", {"window_hours": "2", "day_starts": "08:00", "day_ends": "21:00"})
    assert ContactPolicy.objects.get(store=other).window_hours == 48
    assert ContactPolicy.objects.get(store=store).window_hours == 2
