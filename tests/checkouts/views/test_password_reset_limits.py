"""Password-reset emails are capped per email address and per client, and the page never tells."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
DONE = "/accounts/password/reset/sent/"


@pytest.fixture
def ada(db):
    return get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery")


def ask(client, email: str, address: str = "203.0.113.7"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=address)


def test_one_account_gets_at_most_three_emails_an_hour_however_its_address_is_spelled(client, ada, mailoutbox):
    spellings = ["ada@example.com", "ADA@example.com", " Ada@Example.com "]
    answers = [ask(client, spellings[n % 3], address=f"198.51.100.{n}") for n in range(10)]
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, DONE)] * 10
    assert len(mailoutbox) == 3

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        ask(client, "ada@example.com")
    assert len(mailoutbox) == 4


def test_the_answer_is_the_same_for_an_unknown_address_before_and_after_the_cap(client, ada, mailoutbox):
    known = [ask(client, "ada@example.com") for _ in range(5)]
    unknown = [ask(client, "nobody@example.com", address="203.0.113.8") for _ in range(5)]
    assert {(a.status_code, a["Location"]) for a in known + unknown} == {(302, DONE)}
    assert client.get(DONE).content == client.get(DONE).content  # one page, whatever was asked
    assert len(mailoutbox) == 3


def test_one_client_gets_at_most_twenty_resets_an_hour(client, mailoutbox):
    users = get_user_model().objects
    for n in range(25):
        users.create_user(f"user{n}", f"user{n}@example.com", "a long enough password")
    answers = [ask(client, f"user{n}@example.com", address="203.0.113.99") for n in range(25)]
    assert {a.status_code for a in answers} == {302}
    assert len(mailoutbox) == 20
    ask(client, "user24@example.com", address="203.0.113.100")  # another client is not held back
    assert len(mailoutbox) == 21
