"""The compiled ingest checks against the DRF serializers they are compiled from.

Whatever an event holds, the fast path either gives up (`Unsure`: the serializer then decides
and words the errors) or returns exactly what the serializer returns: the same values, types
and key order. Hypothesis breaks valid events one value at a time to look for a difference.
"""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework import serializers

from checkouts.ingest_serializers import _EVENT, _FAST_EVENT, checkout_event_validate
from checkouts.serializer_compile import _PLAIN_EMAIL, Unsure

set_hypothesis_home_dir(str(django_settings.VAR_DIR / "hypothesis"))

NOW = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()


def _price(amount: str, converted: str | None = None) -> dict:
    return {"amount": amount} if converted is None else {"amount": amount, "convertedAmount": converted}


UPDATED = {
    "eventId": "evt-1",
    "type": "checkout.updated",
    "occurredAt": NOW,
    "checkout": {
        "id": "co-1",
        "cartId": "cart-1",
        "buyerLanguage": "en",
        "buyerInfo": {"email": "ada@example.com", "visitorId": "v-1", "contactId": "c-1"},
        "contactDetails": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phone": "+15555550100",
            "company": "Analytical",
            "vatId": {"id": "123", "type": "CPF"},
        },
        "currency": "usd",
        "conversionCurrency": "EUR",
        "subtotalPrice": _price("40.5", "37.00"),
        "totalPrice": _price("50.00", "46"),
        "shippingPrice": _price("5"),
        "taxPrice": None,
        "marketingConsent": {"email": True, "sms": None},
        "buyerCountry": "fr",
        "buyerTimeZone": "Europe/Paris",
        "lineItems": [
            {
                "id": "li-1",
                "quantity": 2,
                "catalogReference": {"catalogItemId": "sku-1", "appId": "app", "options": {"size": "M"}},
                "productName": {"original": "Shoe", "translated": "Schuh"},
                "price": _price("20.25"),
                "priceBeforeDiscounts": _price("25"),
                "descriptionLines": [{"name": {"original": "Size"}, "plainText": {"original": "M"}}],
                "image": {"url": "https://shop.example.com/a.png?w=2", "width": 240, "height": 240, "altText": ""},
                "physicalProperties": {"weight": 1.5, "sku": "S1"},
            }
        ],
        "appliedDiscounts": [
            {"coupon": {"code": "SAVE", "amount": _price("5")}, "discountType": "GLOBAL", "lineItemIds": ["li-1"]},
            {"merchantDiscount": {"amount": _price("1"), "percentage": 10}},
        ],
        "checkoutUrl": "https://shop.example.com/checkout/co-1",
    },
}
COMPLETED = {
    "eventId": "evt-2",
    "type": "checkout.completed",
    "occurredAt": NOW,
    "checkout": {"id": "co-1", "buyerInfo": {"email": "ada@example.com"}},
    "orderId": "o-1",
}

TRICKY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.integers(min_value=0, max_value=300).map(lambda length: "a" * length),
    st.sampled_from(
        [
            "",
            "  ",
            " USD",
            "usd",
            "ß",
            "eur",
            "XXX",
            "1e5",
            "1000000000000000",
            "999999999999999.9999",
            "50.00001",
            "-1",
            "00.10",
            "١٢",
            "\x00a",
            "\ud800",
            "a@b.co",
            "a.b+c@shop-1.example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.c0m",
            "a@b@example.com",
            "not an email",
            "http://x",
            "https://a-.example.com",
            "https://example.com/ path",
            "ftp://example.com/f",
            "https://" + "a" * 64 + ".com",
            "GLOBAL",
            "CPF",
            "checkout.completed",
            "2020-01-01T00:00:00",
            "2999-01-01T00:00:00Z",
            "x" * 101,
        ]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _drf(event):
    try:
        return _EVENT.run_validation(copy.deepcopy(event))
    except serializers.ValidationError:
        return None


def _fast(event):
    try:
        return _FAST_EVENT(copy.deepcopy(event))
    except Unsure:
        return Unsure


@pytest.mark.parametrize("event", [UPDATED, COMPLETED], ids=["updated", "completed"])
def test_a_storefront_s_event_takes_the_fast_path_with_the_serializer_s_data(event):
    fast = _fast(event)

    assert fast is not Unsure
    assert repr(fast) == repr(_drf(event))
    assert checkout_event_validate(copy.deepcopy(event)) == (fast, [])


@settings(max_examples=1500, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from([UPDATED, COMPLETED]),
    pick=st.integers(min_value=0),
    action=st.sampled_from(["set", "drop", "add"]),
    value=TRICKY,
)
def test_the_fast_path_never_accepts_what_drf_refuses_nor_answers_differently(base, pick, action, value):
    event = copy.deepcopy(base)
    paths = list(_paths(event))[1:]
    path = paths[pick % len(paths)]
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    if action == "set":
        parent[path[-1]] = value
    elif action == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[str(value)[:4] or "x"] = value

    fast, drf = _fast(event), _drf(event)

    if fast is not Unsure:
        assert drf is not None, f"the fast path accepted what DRF refuses at {path}"
        assert repr(fast) == repr(drf), path


def test_an_error_is_still_drf_s_own():
    event = copy.deepcopy(UPDATED)
    event["checkout"]["lineItems"][0]["quantity"] = 0

    data, violations = checkout_event_validate(event)

    assert data is None
    assert violations == [
        {
            "field": "checkout.lineItems[0].quantity",
            "description": "Ensure this value is greater than or equal to 1.",
            "violatedRule": "min_value",
        }
    ]


# Near-plain addresses: the characters either pattern cares about, around one or two @.
_ADDRESSES = st.from_regex(r"[a-zA-Z0-9_+.\-\"é ]{0,8}@[a-z0-9.\-é@]{0,14}", fullmatch=True)


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(_ADDRESSES)
def test_an_address_the_plain_pattern_takes_is_one_django_s_validator_takes(address):
    if _PLAIN_EMAIL.fullmatch(address) and len(address) <= 320:
        try:
            EmailValidator()(address)
        except ValidationError:
            pytest.fail(f"{address!r} passed the plain pattern but not EmailValidator")
