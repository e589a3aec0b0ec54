"""Signing in and out, passwords, and switching between stores."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from checkouts.models import Membership
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(store):
    user = get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery")
    MembershipFactory(user=user, store=store, role=Membership.Role.OWNER)
    return user


def test_log_in_lands_on_the_overview_and_log_out_needs_a_post(client, ada):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so(client, ada):
    response = client.post("/accounts/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()


def test_log_in_returns_to_the_page_asked_for(client, ada):
    response = client.post(
        "/accounts/login/?next=/checkouts/",
        {"username": "ada", "password": "correct horse battery", "next": "/checkouts/"},
    )
    assert response["Location"] == "/checkouts/"


def test_password_change(client, ada):
    client.force_login(ada)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "correct horse battery",
            "new_password1": "a new long phrase 42",
            "new_password2": "a new long phrase 42",
        },
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    ada.refresh_from_db()
    assert ada.check_password("a new long phrase 42")


def test_password_reset_by_email(client, ada, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ada@example.com"]
    assert mailoutbox[0].subject == "Reset your Comeback password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand new phrase 7", "new_password2": "brand new phrase 7"},
        follow=True,
    )
    assert "Password saved" in done.content.decode()
    ada.refresh_from_db()
    assert ada.check_password("brand new phrase 7")
    assert mail.outbox is mailoutbox


def test_the_store_switcher_moves_the_whole_dashboard(client, store):
    user = UserFactory(username="multi")
    second = StoreFactory(name="Zeta Shop")
    MembershipFactory(user=user, store=store, role=Membership.Role.OWNER)
    MembershipFactory(user=user, store=second, role=Membership.Role.VIEWER)
    mine = AbandonedCheckoutFactory(store=store)
    theirs = AbandonedCheckoutFactory(store=second)
    client.force_login(user)

    html = client.get("/checkouts/").content.decode()
    assert 'id="store-switch"' in html and "Zeta Shop" in html
    assert str(mine.pk) in html and str(theirs.pk) not in html

    response = client.post("/stores/switch/", {"store": second.pk, "next": f"/checkouts/{mine.pk}/"})
    assert response["Location"] == "/"  # a checkout page of the old store would be a 404
    html = client.get("/checkouts/").content.decode()
    assert str(theirs.pk) in html and str(mine.pk) not in html
    assert "Viewer" in html and 'name="ids"' not in html  # the role of the new store applies


def test_switching_to_a_store_you_are_not_in_is_a_404(client, ada, other_store):
    client.force_login(ada)
    assert client.post("/stores/switch/", {"store": other_store.pk}).status_code == 404
    assert client.post("/stores/switch/", {"store": "not-a-uuid"}).status_code == 404
