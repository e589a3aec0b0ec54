"""The frequency cap's ledger under erasure: a buyer's row goes with them, unless the cap still
needs it (contacted within the store's window), and then only until the window is over."""

from datetime import timedelta

import pytest
import time_machine

from automations.models import ContactLedger, ContactPolicy, buyer_key
from automations.services.contact import contact_ledger_prune
from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkout_anonymise
from checkouts.services.privacy import buyer_erase
from tests.automations.helpers import T0, abandon, after, dispatch_at, email_step, only_automation
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

EMAIL = "Zelda@Example.org"
PHONE = "+33 6 12 34 56 78"


def ledger(store, *, email: str = EMAIL, phone: str = "") -> ContactLedger | None:
    return ContactLedger.objects.filter(store=store, buyer_key=buyer_key(email=email.lower(), phone=phone)).first()


def contacted(store, when, *, email: str = EMAIL, phone: str = ""):
    return ContactLedger.objects.create(
        store=store, buyer_key=buyer_key(email=email.lower(), phone=phone), last_contacted_at=when
    )


def test_erasing_a_buyer_deletes_their_ledger_row_once_the_window_is_over(store):
    other = StoreFactory()
    contacted(store, T0)
    contacted(other, T0)
    with time_machine.travel(after(hours=17), tick=False):  # the default window is 16 hours
        record = buyer_erase(store=store, email=EMAIL)
    assert record.counts["contactLedger"] == 1
    assert ledger(store) is None
    assert ledger(other) is not None  # another store's cap is its own


def test_inside_the_window_the_hash_stays_and_still_holds_the_buyer_back_until_the_prune(store):
    email_step(only_automation(store))
    abandon(store, buyer_email=EMAIL)
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 1}
    with time_machine.travel(after(hours=2), tick=False):
        record = buyer_erase(store=store, email=EMAIL)
    assert record.counts.get("contactLedger", 0) == 0  # counts leave out the kinds untouched
    row = ledger(store)
    assert (row.buyer_key, row.last_contacted_at) == (buyer_key(email=EMAIL.lower(), phone=""), after(hours=1))
    # The buyer comes back the same day: the erasure did not reset their cap.
    abandon(store, when=after(hours=3), buyer_email=EMAIL)
    assert dispatch_at(after(hours=4)).outcomes == {"AUTOMATION_SKIPPED:RECENTLY_CONTACTED": 1}
    assert contact_ledger_prune(now=after(hours=16)) == 0
    assert contact_ledger_prune(now=after(hours=17)) == 1
    assert not ContactLedger.objects.exists()


def test_anonymising_a_checkout_deletes_the_rows_of_its_address_and_of_its_phone(store):
    ContactPolicy.objects.create(store=store, window_hours=0)  # no cap: nothing needs the rows
    (ac,) = abandon(store, buyer_email=EMAIL, phone=PHONE)
    contacted(store, T0)
    contacted(store, T0, email="", phone=PHONE)  # from a text sent when the buyer left no address
    contacted(store, T0, email="someone@else.example")
    assert abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=store)
    assert list(ContactLedger.objects.values_list("buyer_key", flat=True)) == [
        buyer_key(email="someone@else.example", phone="")
    ]
    assert AbandonedCheckout.objects.get().buyer_email == ""


def test_the_prune_follows_each_stores_window_and_drops_rows_never_stamped(store):
    short, no_cap = StoreFactory(), StoreFactory()
    ContactPolicy.objects.create(store=short, window_hours=2)
    ContactPolicy.objects.create(store=no_cap, window_hours=0)
    kept = [
        contacted(store, T0 - timedelta(hours=15), email="a@example.org"),
        contacted(short, T0 - timedelta(hours=1), email="b@example.org"),
    ]
    contacted(store, T0 - timedelta(hours=16), email="c@example.org")
    contacted(short, T0 - timedelta(hours=2), email="d@example.org")
    contacted(no_cap, T0 - timedelta(minutes=1), email="e@example.org")
    contacted(store, None, email="never@example.org")
    assert contact_ledger_prune(now=T0) == 4
    assert set(ContactLedger.objects.all()) == set(kept)
