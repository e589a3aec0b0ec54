"""The Wix representation, checked against the reference's example object (§2.9)."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from checkouts.models import AbandonedCheckout, Activity
from checkouts.selectors import abandoned_checkouts_with_activities
from checkouts.wix import abandoned_checkout_to_wix, decimal_str, format_money, iso
from tests.factories import AbandonedCheckoutFactory, ActivityFactory, StoreFactory

STORE_ID = uuid.UUID("07b12318-0a8b-4f9b-9b47-000000000001")

REFERENCE = {
    "id": "b4ebb0b8-4482-4693-ae09-7b47e977484c",
    "createdDate": "2023-05-03T08:26:07.512Z",
    "updatedDate": "2023-05-03T08:33:33.809Z",
    "checkoutId": "a9524a00-4b00-4edb-abbc-538a09e59f43",
    "cartId": "b1460e65-bf14-42e3-9279-d96705a69347",
    "status": "RECOVERED",
    "buyerLanguage": "en",
    "buyerInfo": {
        "contactId": "251f2a54-3bde-4c34-8647-89111ef83358",
        "email": "John.Doe@example.com",
        "visitorId": "2f8d09d0-d067-44d9-9bd8-495d63fa5b4a",
    },
    "contactDetails": {"firstName": "John", "lastName": "Doe"},
    "currency": "USD",
    "conversionCurrency": "EUR",
    "checkoutUrl": (
        "http://www.wixapis.com/ecom/v1/abandoned-checkout/b4ebb0b8-4482-4693-ae09-7b47e977484c"
        f"/redirect-to-checkout?metasiteId={STORE_ID}"
    ),
    "totalPrice": {
        "amount": "255",
        "convertedAmount": "234.6",
        "formattedAmount": "$255.00",
        "formattedConvertedAmount": "€234.60",
    },
    "activities": [
        {"createdDate": "2023-05-03T08:26:07.747Z", "type": "SCHEDULED"},
        {"createdDate": "2023-05-03T08:32:01.991Z", "type": "EMAIL_SENT"},
    ],
    "checkoutRecoveredDate": "2023-05-03T08:33:33.809Z",
    "subtotalPrice": {
        "amount": "255",
        "convertedAmount": "234.6",
        "formattedAmount": "$255.00",
        "formattedConvertedAmount": "€234.60",
    },
    "lineItems": [],
    "appliedDiscounts": [],
}


def ms(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def reference_checkout(db, settings):
    settings.COMEBACK_PUBLIC_URL = "http://www.wixapis.com"
    store = StoreFactory(id=STORE_ID, currency="USD", language="en")
    ac = AbandonedCheckoutFactory(
        id=uuid.UUID(REFERENCE["id"]),
        store=store,
        checkout_external_id=REFERENCE["checkoutId"],
        cart_id=REFERENCE["cartId"],
        status=AbandonedCheckout.Status.RECOVERED,
        buyer_language="en",
        contact_id="251f2a54-3bde-4c34-8647-89111ef83358",
        buyer_email="John.Doe@example.com",
        visitor_id="2f8d09d0-d067-44d9-9bd8-495d63fa5b4a",
        first_name="John",
        last_name="Doe",
        currency="USD",
        conversion_currency="EUR",
        total=Decimal("255.0000"),
        total_converted=Decimal("234.60"),
        subtotal=Decimal("255"),
        subtotal_converted=Decimal("234.60"),
        created_at=ms(REFERENCE["createdDate"]),
        updated_at=ms(REFERENCE["updatedDate"]),
        checkout_recovered_at=ms(REFERENCE["checkoutRecoveredDate"]),
    )
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.SCHEDULED, created_at=ms("2023-05-03T08:26:07.747Z"))
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT, created_at=ms("2023-05-03T08:32:01.991Z"))
    return ac


def test_renders_the_reference_example_exactly(reference_checkout):
    ac = abandoned_checkouts_with_activities(AbandonedCheckout.objects.all()).get()
    rendered = abandoned_checkout_to_wix(ac)
    assert rendered == REFERENCE
    # Key order follows Wix's example too, so diffs against captured responses read well.
    assert list(rendered)[:6] == ["id", "createdDate", "updatedDate", "checkoutId", "cartId", "status"]
    json.dumps(rendered)  # nothing but JSON types


def test_unset_optional_fields_are_omitted_and_arrays_always_present(db):
    ac = AbandonedCheckoutFactory(
        checkout_external_id="",
        cart_id="",
        buyer_email="",
        first_name="",
        last_name="",
        member_id="m-1",
        buyer_language="",
        conversion_currency="",
    )
    rendered = abandoned_checkout_to_wix(ac, [])
    for absent in ("checkoutId", "cartId", "buyerLanguage", "conversionCurrency", "checkoutRecoveredDate"):
        assert absent not in rendered
    assert rendered["buyerInfo"] == {"memberId": "m-1"}
    assert rendered["contactDetails"] == {}
    assert rendered["activities"] == [] and rendered["lineItems"] == [] and rendered["appliedDiscounts"] == []
    assert None not in rendered.values()


def test_only_the_latest_twenty_activities_oldest_first(db):
    ac = AbandonedCheckoutFactory()
    for minute in range(25):
        ActivityFactory(abandoned_checkout=ac, created_at=datetime(2026, 1, 1, 0, minute, tzinfo=UTC))
    ac = abandoned_checkouts_with_activities(AbandonedCheckout.objects.all()).get()
    activities = abandoned_checkout_to_wix(ac)["activities"]
    assert len(activities) == 20
    assert activities[0]["createdDate"] == "2026-01-01T00:05:00.000Z"
    assert activities[-1]["createdDate"] == "2026-01-01T00:24:00.000Z"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (Decimal("255"), "USD", "en", "$255.00"),
        (Decimal("1234.5"), "EUR", "de", "1.234,50\xa0€"),
        (Decimal("1500"), "JPY", "ja", "￥1,500"),
        (Decimal("9.99"), "GBP", "en", "£9.99"),
    ],
)
def test_money_is_formatted_per_currency_and_locale(amount, currency, language, expected):
    assert format_money(amount, currency, language) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("255.0000"), "255"), (Decimal("10.50"), "10.5"), (Decimal("1E+3"), "1000"), (Decimal("0.0000"), "0")],
)
def test_amounts_are_plain_decimal_strings(value, expected):
    assert decimal_str(value) == expected


def test_timestamps_are_utc_with_milliseconds():
    assert iso(datetime(2023, 5, 3, 8, 26, 7, 512345, tzinfo=UTC)) == "2023-05-03T08:26:07.512Z"


def test_fast_money_formatting_matches_babel_everywhere():
    import random

    from babel.core import Locale
    from babel.numbers import format_currency

    rnd = random.Random(3)
    languages = ["en", "fr", "de", "ja", "hi_IN", "ar", "de_CH", "nl", "pt_BR", "sv", "es", "it", "pl", "zh", "ko"]
    currencies = ["USD", "EUR", "JPY", "GBP", "INR", "CHF", "KWD", "BRL", "SEK", "CLP", "BHD"]
    amounts = [Decimal(0), Decimal("0.005"), Decimal("0.015"), Decimal("999.995"), Decimal("1000"), Decimal("1e15")]
    amounts += [Decimal(rnd.randrange(0, 10**12)).scaleb(-rnd.choice([0, 1, 2, 3, 4])) for _ in range(60)]
    for language in languages:
        for currency in currencies:
            for amount in amounts:
                expected = format_currency(amount, currency, locale=Locale.parse(language))
                assert format_money(amount, currency, language) == expected, (language, currency, amount)
