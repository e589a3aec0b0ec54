"""Inviting a team member: an owner invites by email; the link works once, for a while, for one role."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from checkouts.models import Invitation, Membership
from checkouts.services import InvitationUnavailable, invitation_accept, invitation_create
from tests.factories import MembershipFactory, UserFactory

from .conftest import signed_in

pytestmark = pytest.mark.django_db
LINK = re.compile(r"http://127\.0\.0\.1:8000(/invitations/[^/\s]+/)")


def invite(owner_client, django_capture_on_commit_callbacks, email: str, role: str = "MANAGER"):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/settings/members/", {"email": email, "role": role})
    return response


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def test_the_form_says_the_same_whether_or_not_the_address_has_an_account(
    store, owner_client, django_capture_on_commit_callbacks
):
    UserFactory(username="known", email="known@example.com")
    known = invite(owner_client, django_capture_on_commit_callbacks, "known@example.com")
    unknown = invite(owner_client, django_capture_on_commit_callbacks, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert "Invitation sent to known@example.com." in known.content.decode()
    assert "Invitation sent to nobody@example.com." in unknown.content.decode()
    assert "account" not in known.content.decode().split("Invitation sent to")[1].split("</li>")[0]
    assert [m.to for m in mail.outbox] == [["known@example.com"], ["nobody@example.com"]]
    assert all(link_in(m) for m in mail.outbox)
    # The link is on the page once too, for an invitee whose email went astray.
    assert link_in(mail.outbox[1]) in unknown.content.decode()
    assert not Membership.objects.filter(store=store, user__username="known").exists()  # not until accepted


def test_a_newcomer_creates_an_account_and_joins_with_the_invited_role_only(
    store, owner_client, django_capture_on_commit_callbacks
):
    invite(owner_client, django_capture_on_commit_callbacks, "new@example.com", role="VIEWER")
    link = link_in(mail.outbox[0])
    browser = Client()

    page = browser.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Join Acme" in html and "viewer" in html and 'value="new@example.com" readonly' in html
    assert 'name="role"' not in html and 'name="email"' not in html  # nothing else to choose

    response = browser.post(
        link,
        {"username": "newcomer", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42", "role": "OWNER"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "Welcome to Acme: you are viewer." in response.content.decode()
    membership = Membership.objects.get(store=store, user__username="newcomer")
    assert membership.role == "VIEWER" and membership.user.email == "new@example.com"
    # Used once: the same link no longer works, not even for someone else.
    again = Client().get(link)
    assert again.status_code == 404 and "does not work" in again.content.decode()


def test_someone_with_an_account_signs_in_and_joins(store, owner_client, django_capture_on_commit_callbacks):
    other_store_member = MembershipFactory(role="OWNER").user
    invite(owner_client, django_capture_on_commit_callbacks, "whoever@example.com", role="MANAGER")
    link = link_in(mail.outbox[0])
    anonymous = Client().get(link).content.decode()
    assert f"/accounts/login/?next={link.replace('/', '%2F').replace(':', '%3A')}" in anonymous

    client = signed_in(other_store_member)
    assert "Join Acme" in client.get(link).content.decode()
    response = client.post(link, follow=True)

    assert response.status_code == 200
    assert Membership.objects.get(store=store, user=other_store_member).role == "MANAGER"
    assert "Acme" in response.content.decode()  # the dashboard now shows the store joined


def test_a_bad_password_keeps_the_form_and_writes_nothing(owner_client, django_capture_on_commit_callbacks):
    invite(owner_client, django_capture_on_commit_callbacks, "new@example.com")
    link = link_in(mail.outbox[0])
    response = Client().post(link, {"username": "newcomer", "password1": "short", "password2": "other"})
    assert response.status_code == 400
    assert not Membership.objects.filter(user__username="newcomer").exists()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize("how", ["expired", "withdrawn", "forged"])
def test_an_expired_withdrawn_or_forged_link_is_a_friendly_page(
    store, owner_client, django_capture_on_commit_callbacks, how
):
    invite(owner_client, django_capture_on_commit_callbacks, "new@example.com")
    link = link_in(mail.outbox[0])
    invitation = Invitation.objects.get()
    if how == "expired":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "withdrawn":
        owner_client.post(f"/settings/members/invitations/{invitation.pk}/revoke/")
    else:
        link = link[:-3] + "xx/"

    for client in (Client(), signed_in(UserFactory())):
        response = client.get(link)
        assert response.status_code == 404 and "does not work" in response.content.decode()
        assert client.post(link, {"username": "x", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42"})
    assert Membership.objects.filter(store=store).count() == 1  # the owner only


def test_a_new_invitation_to_the_same_address_replaces_the_open_one(store, owner_client):
    first, _ = invitation_create(store=store, email="new@example.com", role="VIEWER", invited_by=None)
    second, _ = invitation_create(store=store, email="NEW@example.com", role="MANAGER", invited_by=None)
    assert list(Invitation.objects.open()) == [second]
    with pytest.raises(InvitationUnavailable):
        invitation_accept(invitation=first, user=UserFactory())


def test_accepting_never_lowers_a_role_and_an_existing_member_is_refused_at_the_form(store, owner_client):
    member = MembershipFactory(store=store, role="MANAGER")
    invitation, _ = invitation_create(store=store, email="x@example.com", role="VIEWER", invited_by=None)
    assert invitation_accept(invitation=invitation, user=member.user).role == "MANAGER"

    response = owner_client.post("/settings/members/", {"email": member.user.email, "role": "VIEWER"})
    assert response.status_code == 400
    assert "already a member of this store" in response.content.decode()


def test_the_members_page_lists_pending_invitations(store, owner_client):
    invitation_create(store=store, email="pending@example.com", role="VIEWER", invited_by=None)
    html = owner_client.get("/settings/members/").content.decode()
    assert "Pending invitations" in html and "pending@example.com" in html and "Withdraw" in html
