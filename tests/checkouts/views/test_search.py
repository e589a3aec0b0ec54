"""The list's search: case and accents folded in every script, inside emails, phone digits, order ids."""

import pytest

from checkouts.models import AbandonedCheckout
from checkouts.services import (
    abandoned_checkout_anonymise,
    abandoned_checkout_recover,
    abandoned_checkouts_detect,
    checkout_events_ingest,
)
from tests.checkouts.helpers import at, updated_event
from tests.checkouts.views.test_list import row_ids

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ({"last_name": "Müller"}, "MÜLLER"),
        ({"last_name": "Müller"}, "muller"),
        ({"first_name": "Zoë", "last_name": "Ångström"}, "zoe angstrom"),
        ({"first_name": "Σοφία"}, "ΣΟΦΙΑ"),
        ({"last_name": "Дмитриев"}, "дмитриев"),
        ({"first_name": "Đặng"}, "đang"),
        ({"last_name": "Straße"}, "STRASSE"),
        ({"buyer_email": "Ada.Lovelace@Example.org"}, "example.org"),
        ({"buyer_email": "ada.lovelace@example.org"}, "lovelace"),
        ({"phone": "+1 (555) 010-0199"}, "5550100199"),
        ({"phone": "+15550100199"}, "+1 555 010 0199"),
        ({"phone": "+15550100199"}, "(555) 010-0199"),
        ({"buyer_email": "ada.lovelace@example.org"}, "@example.org"),
        ({"last_name": "Müller-Lüdenscheidt"}, "ludenscheidt"),
    ],
)
def test_search_folds_case_and_accents_and_finds_inside_emails_and_phones(make_checkout, owner_client, stored, typed):
    wanted = make_checkout(**stored)
    make_checkout(first_name="Grace", last_name="Hopper", buyer_email="grace@navy.mil", phone="+44 20 7946 0958")

    assert row_ids(owner_client.get("/checkouts/", {"q": typed})) == [str(wanted.pk)]


def test_a_term_matches_the_start_of_a_word_not_its_middle(make_checkout, owner_client):
    liam = make_checkout(first_name="Liam", last_name="Smith", buyer_email="liam@example.com")
    make_checkout(first_name="Hugo", last_name="Williams", buyer_email="hugo.williams@example.com")

    assert row_ids(owner_client.get("/checkouts/", {"q": "liam"})) == [str(liam.pk)]


def test_search_finds_an_order_id_once_recovered(make_checkout, owner_client):
    ac = make_checkout()
    make_checkout(first_name="Other")
    abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="ORD-7781")

    assert row_ids(owner_client.get("/checkouts/", {"q": "ord-7781"})) == [str(ac.pk)]


def test_ingested_and_swept_checkouts_are_searchable(store, owner_client):
    event = updated_event("co-1", contactDetails={"firstName": "Jürgen", "lastName": "Groß", "phone": "+49 30 1234567"})
    checkout_events_ingest(store=store, events=[event])
    abandoned_checkouts_detect(now=at(24 * 60))
    ac = AbandonedCheckout.objects.get()

    for typed in ("JURGEN", "gross", "301234567", "example.com"):
        assert row_ids(owner_client.get("/checkouts/", {"q": typed})) == [str(ac.pk)], typed


def test_an_anonymised_buyer_is_no_longer_found(make_checkout, owner_client):
    ac = make_checkout(buyer_email="erase.me@example.com", phone="+15550100123")
    abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=ac.store)

    for typed in ("erase.me", "Lovelace", "5550100123"):
        assert row_ids(owner_client.get("/checkouts/", {"q": typed})) == [], typed
