"""The sweep's `created` events: PostgreSQL renders most of them (services/created_sql.py), Python
the rest; either way each payload is the Wix entity `abandoned_checkout_to_wix` renders of the
row as written, with its activities."""

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import signals

from checkouts import hooks
from checkouts.models import (
    AbandonedCheckout,
    Activity,
    Checkout,
    Store,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from checkouts.selectors import activities_latest
from checkouts.services import ActivityEntry, abandoned_checkouts_detect, activities_insert
from checkouts.services import sweep as sweep_module
from checkouts.wix import abandoned_checkout_to_wix
from tests.checkouts.helpers import at
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

WIX_MEDIA = "abc123_0f1e2d3c4b5a~mv2.jpg"


def _checkout(store: Store, external_id: str, **fields) -> Checkout:
    values = {
        "buyer_email": f"{external_id}@example.com",
        "email_key": f"{external_id}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "currency": "USD",
        "subtotal": Decimal("120.00"),
        "total": Decimal("120.00"),
        "line_items": [{"id": "li-1", "quantity": 1, "price": {"amount": "120"}}],
        **fields,
    }
    return Checkout.objects.create(
        store=store, external_id=external_id, last_activity_at=at(0), abandon_due_at=at(60), **values
    )


# Each case: the fields that differ from the plain checkout above.
CASES = {
    "plain": {},
    "half-even-down": {"total": Decimal("10.1250"), "subtotal": Decimal("10.1350")},
    "half-cent": {"total": Decimal("0.0050"), "subtotal": Decimal("0.0150")},
    "millions": {"total": Decimal("1234567.8910"), "subtotal": Decimal("999.9950")},
    "zero": {"total": Decimal("0"), "subtotal": Decimal("0")},
    "yen": {"currency": "JPY", "total": Decimal("1234.5000"), "subtotal": Decimal("1235.5000")},
    "dinar": {"currency": "KWD", "total": Decimal("12.3455"), "subtotal": Decimal("1000.0005")},
    "converted": {
        "conversion_currency": "EUR",
        "total_converted": Decimal("110.4400"),
        "subtotal_converted": Decimal("101.0000"),
    },
    "converted-total-only": {"conversion_currency": "EUR", "total_converted": Decimal("90.0000")},
    "converted-same-currency": {"conversion_currency": "USD", "total_converted": Decimal("120.0000")},
    "negative-subtotal": {"subtotal": Decimal("-5.0000")},
    "member-no-email": {"buyer_email": "", "email_key": "", "member_id": "m-1", "visitor_id": "v-1"},
    "user-over-member": {"user_id": "u-1", "member_id": "m-1", "contact_id": "c-1"},
    "visitor-only": {"buyer_email": "", "visitor_id": "v-1", "first_name": "", "last_name": ""},
    "contact-details": {"phone": "+15555550100", "company": "Acme", "vat_id": {"id": "DE123", "type": "VAT"}},
    "vat-empty": {"vat_id": ""},
    "cart-language": {"cart_id": "cart-9", "buyer_language": "fr"},
    "discounts": {"applied_discounts": [{"discountType": "GLOBAL", "coupon": {"code": "TEN"}}]},
    "no-line-items": {"line_items": []},
    "images": {
        "line_items": [
            {"id": "1", "image": {"id": WIX_MEDIA, "url": "https://shop.example.com/a.png", "width": 10}},
            {"id": "2", "image": {"id": "sku-9", "url": f"https://static.wixstatic.com/media/{WIX_MEDIA}/v1/fill"}},
            {"id": "3", "image": {"id": "sku-9", "url": "https://shop.example.com/b.png"}},
            {"id": "4", "image": {"url": f"https://static.wixstatic.com/media/{WIX_MEDIA}"}},
            {"id": "5", "image": "https://shop.example.com/c.png"},
            {"id": "6", "image": {"id": 42}, "price": {"amount": 1.10}, "note": None},
        ]
    },
}


@pytest.fixture
def stores(store):
    # de-CH: a currency pattern only Babel formats.
    return [store, *(StoreFactory(name=language, language=language) for language in ("de", "hi", "de-CH"))]


def _sweep(receiver=None) -> list:
    """Sweep at a moment everything is due; the rows the Python renderer took (all on SQLite)."""
    unrendered = []
    python_renderer = sweep_module.created_events_record

    def recorded(abandoned_checkouts, **kwargs):
        unrendered.extend(ac.checkout_external_id for ac in abandoned_checkouts)
        return python_renderer(abandoned_checkouts, **kwargs)

    sweep_module.created_events_record = recorded
    if receiver:
        hooks.abandoned_checkouts_created.connect(receiver)
    try:
        with time_machine.travel(at(61), tick=False):
            abandoned_checkouts_detect()
    finally:
        sweep_module.created_events_record = python_renderer
        if receiver:
            hooks.abandoned_checkouts_created.disconnect(receiver)
    return unrendered


def _assert_events_render_their_rows() -> None:
    for event in WebhookEvent.objects.all():
        ac = AbandonedCheckout.objects.select_related("store").get(pk=event.entity_id)
        expected = abandoned_checkout_to_wix(ac, activities_latest(abandoned_checkout_id=ac.pk))
        assert event.payload["createdEvent"]["entity"] == expected, ac.checkout_external_id
        assert event.payload == {
            "id": str(event.id),
            "entityFqdn": "wix.ecom.v1.abandoned_checkout",
            "slug": "created",
            "entityId": str(ac.id),
            "eventTime": event.payload["eventTime"],
            "triggeredByAnonymizeRequest": False,
            "entityEventSequence": "1",
            "createdEvent": {"entity": expected},
        }
        assert (event.type, event.sequence, event.store_id) == ("created", 1, ac.store_id)


def test_every_created_event_is_the_entity_of_its_row(stores):
    for store in stores:
        for name, fields in CASES.items():
            _checkout(store, f"{store.language}-{name}", **fields)
    for currency in ("EUR", "INR", "CHF"):
        _checkout(stores[0], f"en-{currency}", currency=currency, total=Decimal("98765432.1050"))
    unrendered = _sweep()
    assert AbandonedCheckout.objects.count() == WebhookEvent.objects.count() == len(stores) * len(CASES) + 3
    _assert_events_render_their_rows()
    if connection.vendor != "postgresql":
        return
    # PostgreSQL rendered every row but those only Python formats exactly.
    assert sorted(unrendered) == sorted(
        [f"{language}-negative-subtotal" for language in ("en", "de", "hi")]
        + [f"de-CH-{name}" for name in CASES]
        + [f"{language}-converted-total-only" for language in ("en", "de", "hi")]
    )
    payload = WebhookEvent.objects.get(entity_id=AbandonedCheckout.objects.get(checkout_external_id="de-millions").pk)
    assert payload.payload["createdEvent"]["entity"]["totalPrice"]["formattedAmount"] == "1.234.567,89\xa0$"
    half = WebhookEvent.objects.get(entity_id=AbandonedCheckout.objects.get(checkout_external_id="en-half-cent").pk)
    assert half.payload["createdEvent"]["entity"]["totalPrice"]["formattedAmount"] == "$0.00"


def test_the_event_carries_the_twenty_newest_activities_oldest_first(store):
    def receiver(sender, abandoned_checkouts, **kwargs):
        return activities_insert(
            [
                ActivityEntry(abandoned_checkout=ac, type=kind)
                for kind in [Activity.Type.EMAIL_SENT] * 5 + [Activity.Type.TASK_CREATED] * 20
                for ac in abandoned_checkouts
            ]
        )

    _checkout(store, "busy")
    _checkout(store, "also-busy")
    assert _sweep(receiver) == [] or connection.vendor != "postgresql"
    _assert_events_render_their_rows()
    for event in WebhookEvent.objects.all():
        activities = event.payload["createdEvent"]["entity"]["activities"]
        assert [a["type"] for a in activities] == ["TASK_CREATED"] * 20
    ac = AbandonedCheckout.objects.get(checkout_external_id="busy")
    assert (ac.last_activity_type, ac.last_activity_at) == ("TASK_CREATED", at(61))


def test_the_created_events_are_delivered_to_the_endpoints_that_want_them(store, other_store):
    def endpoint(event_types, active=True):
        return WebhookEndpoint.objects.create(
            store=store, url="https://hooks.example.com/in", secret="s" * 32, event_types=event_types, active=active
        )

    wanting = endpoint(["created", "updated"])
    endpoint(["recovered"])
    endpoint(["created"], active=False)
    for index in range(3):
        _checkout(store, f"a{index}")
    _checkout(other_store, "b0")
    assert _sweep() == [] or connection.vendor != "postgresql"
    deliveries = WebhookDelivery.objects.all()
    assert {delivery.endpoint_id for delivery in deliveries} == {wanting.pk}
    events = {event.pk: event for event in WebhookEvent.objects.filter(store=store)}
    assert sorted(delivery.event_id for delivery in deliveries) == sorted(events)
    for delivery in deliveries:
        event = events[delivery.event_id]
        assert (delivery.entity_id, delivery.sequence, delivery.event_type) == (event.entity_id, 1, "created")


@pytest.mark.parametrize("init_signal", [False, True], ids=["fast-instances", "model-init"])
def test_the_receivers_see_every_column_the_claim_copies(stores, init_signal, django_assert_num_queries):
    """On PostgreSQL the claim returns only the columns Python reads and leaves the rest to be
    loaded on first read, for the whole batch: a receiver still sees every column of every new
    row, as `abandoned_checkouts_from` (the rows read in full) gives them."""
    for store in stores:
        for name, fields in CASES.items():
            extra = {"applied_discounts": [{"code": "TEN"}], "storefront_checkout_url": "https://shop.example.com/c"}
            _checkout(store, f"{store.language}-{name}", **{**extra, **fields})
    claimed = list(Checkout.objects.values_list(*sweep_module.CLAIMED_COLUMNS))
    expected = {
        ac.checkout_id: ac for ac in sweep_module.abandoned_checkouts_from(claimed, moments=[at(61)] * len(claimed))
    }
    seen = {}

    def receiver(sender, abandoned_checkouts, **kwargs):
        first = abandoned_checkouts[0]
        with django_assert_num_queries(1 if connection.vendor == "postgresql" else 0):
            first.line_items  # noqa: B018 - the first read loads the batch's deferred columns
        with django_assert_num_queries(0):
            for ac in abandoned_checkouts:
                seen[ac.checkout_id] = {
                    field.attname: getattr(ac, field.attname) for field in AbandonedCheckout._meta.concrete_fields
                }
        return []

    def init_receiver(sender, **kwargs):
        pass

    if init_signal:
        # An init signal makes the claim build its instances through Model.__init__.
        signals.post_init.connect(init_receiver, sender=AbandonedCheckout)
    try:
        _sweep(receiver)
    finally:
        signals.post_init.disconnect(init_receiver, sender=AbandonedCheckout)
    assert seen.keys() == expected.keys()
    for checkout_id, values in seen.items():
        reference = {
            field.attname: getattr(expected[checkout_id], field.attname)
            for field in AbandonedCheckout._meta.concrete_fields
        }
        assert {**values, "id": None} == {**reference, "id": None}
    _assert_events_render_their_rows()


def test_a_deferred_column_read_after_the_batch_is_loaded_for_its_row_alone(store, django_assert_num_queries):
    """An instance kept past its batch (the batch lets its instances go) still reads its own."""
    for index in range(3):
        _checkout(store, f"kept-{index}", line_items=[{"id": f"li-{index}", "quantity": index + 1}])
    kept = []

    def receiver(sender, abandoned_checkouts, **kwargs):
        kept.extend(abandoned_checkouts)
        return []

    _sweep(receiver)
    by_external_id = {ac.checkout_external_id: ac for ac in kept}
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 0):
        assert by_external_id["kept-2"].line_items == [{"id": "li-2", "quantity": 3}]
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 0):
        assert by_external_id["kept-0"].line_items == [{"id": "li-0", "quantity": 1}]
