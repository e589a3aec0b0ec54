"""Which email a recovery is credited to: clicks, sends and completions in every order around the window.

The rule (automations.services.engagement.recovery_attribute): the email with the last counted
click in [T − W, T], else the email sent last in [T − W, T], else none; T is the recovery, W the
store's attribution window (5 days by default). Each case goes through the real recovery path.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import EmailClick, RecoveryAttribution, SentEmail
from automations.services.engagement import recovery_attribute
from checkouts.services import abandoned_checkout_recover
from tests.checkouts.helpers import at
from tests.factories import AbandonedCheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db

T = at(0)  # the order that recovers the checkout
W = timedelta(days=5)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def _email(ac, name: str, sent_at, kind=SentEmail.Kind.AUTOMATION) -> SentEmail:
    return SentEmail.objects.create(
        store=ac.store,
        abandoned_checkout=ac,
        kind=kind,
        idempotency_key=f"{ac.pk}-{name}",
        message_id=f"<{name}@test>",
        to_email=ac.buyer_email,
        subject=name,
        text_body=name,
        sent_at=sent_at,
    )


def _recover(sends: dict, clicks: list, *, window_days: int = 5, kinds: dict | None = None):
    """A checkout abandoned well before everything, its emails sent, clicked, then recovered at T.
    Returns (credited email's name or None, via)."""
    store = StoreFactory(attribution_window_days=window_days)
    ac = AbandonedCheckoutFactory(store=store, created_at=T - 30 * DAY, total=Decimal("80.00"))
    emails = {
        name: _email(ac, name, sent_at, kind=(kinds or {}).get(name, SentEmail.Kind.AUTOMATION))
        for name, sent_at in sends.items()
    }
    for name, clicked_at in clicks:
        EmailClick.objects.create(sent_email=emails[name], clicked_at=clicked_at)
    assert abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="o-1", recovered_at=T)
    credit = RecoveryAttribution.objects.filter(abandoned_checkout=ac).select_related("sent_email").first()
    if credit is None:
        return None, None
    assert credit.revenue == Decimal("80.00") and credit.recovered_at == T and credit.store_id == store.pk
    return credit.sent_email.subject, credit.via


CASES = {
    # Sends only.
    "one send inside": ({"e1": T - DAY}, [], ("e1", "SEND")),
    "a send exactly at the window's start counts": ({"e1": T - W}, [], ("e1", "SEND")),
    "a send a second before the window does not": ({"e1": T - W - SECOND}, [], (None, None)),
    "a send at the very moment of the order counts": ({"e1": T}, [], ("e1", "SEND")),
    "a send after the order does not": ({"e1": T + SECOND}, [], (None, None)),
    "the last send inside wins": ({"e1": T - 3 * DAY, "e2": T - DAY}, [], ("e2", "SEND")),
    "a later send after the order is ignored": ({"e1": T - 2 * DAY, "e2": T + DAY}, [], ("e1", "SEND")),
    "no email at all": ({}, [], (None, None)),
    # Clicks.
    "a click beats a later send": (
        {"e1": T - 3 * DAY, "e2": T - DAY},
        [("e1", T - 2 * DAY)],
        ("e1", "CLICK"),
    ),
    "a click exactly at the window's start counts": (
        {"e1": T - 6 * DAY, "e2": T - DAY},
        [("e1", T - W)],
        ("e1", "CLICK"),
    ),
    "a click a second before the window falls back to the last send inside": (
        {"e1": T - 6 * DAY, "e2": T - DAY},
        [("e1", T - W - SECOND)],
        ("e2", "SEND"),
    ),
    "a click before the window and no send inside: nothing": (
        {"e1": T - 7 * DAY},
        [("e1", T - 6 * DAY)],
        (None, None),
    ),
    "a click inside on an email sent before the window still counts": (
        {"e1": T - 7 * DAY},
        [("e1", T - DAY)],
        ("e1", "CLICK"),
    ),
    "the last click wins, whichever email was sent last": (
        {"e1": T - 3 * DAY, "e2": T - 2 * DAY},
        [("e2", T - 2 * DAY + SECOND), ("e1", T - DAY)],
        ("e1", "CLICK"),
    ),
    "a click after the order (learnt of late) does not count": (
        {"e1": T - 3 * DAY, "e2": T - 2 * DAY},
        [("e1", T + 10 * SECOND)],
        ("e2", "SEND"),
    ),
    "an earlier click counts when a later one came after the order": (
        {"e1": T - 3 * DAY, "e2": T - 2 * DAY},
        [("e1", T - 2 * DAY - SECOND), ("e1", T + SECOND)],
        ("e1", "CLICK"),
    ),
    "a click at the moment of the order counts": ({"e1": T - DAY, "e2": T - SECOND}, [("e1", T)], ("e1", "CLICK")),
    "equal clicks: the later-sent email": (
        {"e1": T - 3 * DAY, "e2": T - 2 * DAY},
        [("e1", T - DAY), ("e2", T - DAY)],
        ("e2", "CLICK"),
    ),
}


@pytest.mark.parametrize(("sends", "clicks", "expected"), CASES.values(), ids=CASES.keys())
def test_a_recovery_is_credited_to_the_last_email_clicked_else_sent_within_the_window(sends, clicks, expected):
    assert _recover(sends, clicks) == expected


def test_the_window_is_the_store_setting():
    sends = {"e1": T - 2 * DAY}
    assert _recover(sends, [], window_days=1) == (None, None)
    assert _recover(sends, [], window_days=2) == ("e1", "SEND")


def test_test_sends_and_staff_copies_are_never_credited_but_emails_sent_by_hand_are():
    kinds = {"test": SentEmail.Kind.TEST, "staff": SentEmail.Kind.STAFF, "manual": SentEmail.Kind.MANUAL}
    assert _recover({"manual": T - 3 * DAY, "test": T - DAY, "staff": T - DAY}, [], kinds=kinds) == ("manual", "SEND")
    assert _recover({"test": T - DAY}, [("test", T - DAY)], kinds=kinds) == (None, None)


def test_a_checkout_recovered_twice_is_credited_once():
    store = StoreFactory()
    ac = AbandonedCheckoutFactory(store=store, created_at=T - 30 * DAY)
    _email(ac, "e1", T - DAY)
    assert abandoned_checkout_recover(abandoned_checkout_id=ac.pk, recovered_at=T)
    assert not abandoned_checkout_recover(abandoned_checkout_id=ac.pk, recovered_at=T + DAY)
    assert RecoveryAttribution.objects.filter(abandoned_checkout=ac).count() == 1


def test_crediting_reads_a_constant_number_of_queries():
    """Two reads and one insert at most, however many emails and clicks the checkout has."""
    store = StoreFactory()
    counts = []
    for n in (1, 12):
        ac = AbandonedCheckoutFactory(store=store, created_at=T - 30 * DAY)
        for i in range(n):
            email = _email(ac, f"e{i}", T - DAY + i * SECOND)
            EmailClick.objects.create(sent_email=email, clicked_at=T - 2 * DAY)
        ac.checkout_recovered_at = T
        with CaptureQueriesContext(connection) as queries:
            recovery_attribute(abandoned_checkout=ac)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3
