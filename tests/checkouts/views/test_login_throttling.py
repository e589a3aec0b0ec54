"""Guessing passwords is throttled per account and per client address, on every sign-in page."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from checkouts.models import Membership
from checkouts.views.accounts import login_locked_out
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def ada(store):
    user = get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery", is_staff=True)
    MembershipFactory(user=user, store=store, role=Membership.Role.OWNER)
    return user


def attempt(client: Client, page: str, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def error_of(response) -> str:
    """The message the sign-in page shows, without the markup around it."""
    found = re.search(
        r'<(?:div|p|ul)[^>]*class="[^"]*(?:error|errornote)[^"]*"[^>]*>(.*?)</(?:div|p|ul)>',
        response.content.decode(),
        re.S,
    )
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_after_too_many_wrong_passwords_the_right_one_is_refused_until_the_cool_off_ends(client, ada, page):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, page, "ada", "wrong").status_code == 200
    assert attempt(client, page, "ada", "wrong").status_code == 429  # the last failure allowed locks

    locked = attempt(client, page, "ada", "correct horse battery")
    assert locked.status_code == 429
    assert not signed_in(client)
    minutes = settings.AXES_COOLOFF_TIME // timedelta(minutes=1)
    assert f"Too many attempts. Try again in {minutes} minutes." in error_of(locked)
    assert 'name="password"' in locked.content.decode()  # the sign-in page itself, not a bare error
    assert 0 < int(locked["Retry-After"]) <= minutes * 60

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert attempt(client, page, "ada", "correct horse battery").status_code == 302
    assert signed_in(client)


def test_a_locked_account_stays_locked_from_another_address(client, ada):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/accounts/login/", "ada", "wrong", address=f"198.51.100.{n}")
    assert attempt(client, "/accounts/login/", "ada", "correct horse battery", address="192.0.2.1").status_code == 429
    assert not signed_in(client)


def test_one_address_guessing_many_accounts_is_locked_out_while_others_sign_in(client, ada):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/admin/login/", f"user{n}", "wrong", address="203.0.113.66")
    assert (
        attempt(client, "/accounts/login/", "ada", "correct horse battery", address="203.0.113.66").status_code == 429
    )
    assert not signed_in(client)
    assert (
        attempt(client, "/accounts/login/", "ada", "correct horse battery", address="203.0.113.67").status_code == 302
    )


def test_the_lockout_reads_the_same_for_an_account_that_does_not_exist(client, ada):
    """A locked-out attacker learns nothing about which user names exist."""
    answers = {}
    for username, address in (("ada", "203.0.113.1"), ("nobody-by-this-name", "203.0.113.2")):
        first = attempt(client, "/accounts/login/", username, "wrong", address=address)
        for _ in range(settings.AXES_FAILURE_LIMIT):
            last = attempt(client, "/accounts/login/", username, "wrong", address=address)
        answers[username] = (first.status_code, error_of(first), last.status_code, error_of(last))
    assert answers["ada"] == answers["nobody-by-this-name"]
    assert answers["ada"][2] == 429 and "Too many attempts" in answers["ada"][3]


def test_behind_the_trusted_proxy_each_client_address_counts_on_its_own(client, ada):
    """The proxy (REMOTE_ADDR 127.0.0.1) forwards the client's address; the proxy itself is never locked out."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": f"user{n}", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    refused = client.post(
        "/accounts/login/",
        {"username": "ada", "password": "correct horse battery"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert refused.status_code == 429
    other = client.post(
        "/accounts/login/",
        {"username": "ada", "password": "correct horse battery"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert other.status_code == 302


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(client, ada):
    """A client that talks to gunicorn directly cannot dodge the limit by inventing X-Forwarded-For."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": f"user{n}", "password": "wrong"},
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    refused = client.post(
        "/accounts/login/",
        {"username": "ada", "password": "correct horse battery"},
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="10.0.0.99",
    )
    assert refused.status_code == 429


def test_a_lockout_outside_a_sign_in_form_gets_a_page_of_its_own(rf):
    """Anything else that signs in through Django's authenticate() and gets locked out."""
    response = login_locked_out(rf.post("/elsewhere/", {"username": "ada"}), HttpResponse(status=403), None)
    assert response.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 15 * 60
