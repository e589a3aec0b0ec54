"""Hostile fuzzing of every API route: no answer is a server error, every answer is JSON.

Hypothesis builds request bodies in the API's own vocabulary (ingest events, WQL filters,
search, analytics, bulk ids, legacy cart events) whose values are drawn from what breaks
parsers and databases: lone UTF-16 surrogates, NUL, 1e309, 10**400, -0, "NaN" as a string
and as a token, far dates, lists of 998 to 5,000 values, 10,000 levels of nesting and wrong
types everywhere. Requests go through the whole stack with a real API key.

Bounded: EXAMPLES requests (COMEBACK_FUZZ_EXAMPLES overrides it, e.g. 20000 by hand). The
number of requests sent and the statuses seen are printed at the end of the test.
"""

import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from checkouts.api.wql import QUERY_SPEC, SEARCH_SPEC
from tests.checkouts.helpers import updated_event
from tests.factories import AbandonedCheckoutFactory

set_hypothesis_home_dir(str(django_settings.VAR_DIR / "hypothesis"))
EXAMPLES = int(os.environ.get("COMEBACK_FUZZ_EXAMPLES", "400"))


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: tokens json.dumps cannot produce (1e309, -0, 10,000 levels)."""

    text: str


DEPTH = 10_000
RAW_TOKENS = [
    Raw("1e309"),
    Raw("-1e309"),
    Raw("-0"),
    Raw("-0.0"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("1" + "0" * 400),
    Raw("-" + "9" * 400),
    Raw("1e-400"),
    Raw("[" * DEPTH + "]" * DEPTH),
    Raw('{"a":' * DEPTH + "1" + "}" * DEPTH),
    Raw('"\\ud800"'),
    Raw('"a\\udfffb"'),
    Raw('"\\ud83d\\ude00"'),  # a valid pair: an emoji, which must work
    Raw('"\\u0000"'),
]
HOSTILE_STRINGS = [
    "",
    " ",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "null",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\r\nX-Injected: 1",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00-14:00",
    "+275760-09-13T00:00:00Z",
    "2026-02-30",
    "2026-11-28T10:00:00Z",
    "ABANDONED",
    "RECOVERED",
    "EMAIL_SENT",
    "USD",
    "x" * 10_000,
    "$in",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "https://shop.example.com/checkout/1",
    "javascript:alert(1)",
]
GUIDS = [str(uuid.UUID(int=0)), "00000000-0000-0000-0000-00000000000g", str(uuid.uuid5(uuid.NAMESPACE_URL, "fuzz"))]


@dataclass(frozen=True)
class _Pick:
    items: list

    def __call__(self, index: int):
        return self.items[index]

    def __repr__(self) -> str:
        return f"<{len(self.items)} hostile values>"


def pick(items: list) -> st.SearchStrategy:
    """sampled_from, without a strategy repr that spells out 10,000-level tokens."""
    return st.integers(0, len(items) - 1).map(_Pick(items))


text = st.one_of(
    pick(HOSTILE_STRINGS + GUIDS),
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=5),  # around surrogates
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**400, -(10**30)]),
    st.floats(),  # nan and inf included: json.dumps writes them as tokens
    pick(RAW_TOKENS),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(text, st.sampled_from(["$in", "$and"])), children, max_size=4),
    ),
    max_leaves=12,
)


def long_list(of: st.SearchStrategy) -> st.SearchStrategy:
    """998 to 5,000 copies (or distinct numbers): the documented maximum and just past it."""
    size = st.sampled_from([998, 999, 1000, 1001, 5000])
    copies = st.builds(lambda item, n: [item] * n, of, size)
    distinct = st.builds(lambda n: [str(index) for index in range(n)], size)
    return st.one_of(copies, distinct)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a plausible value, often a hostile one."""
    return st.one_of(good, good, values)


# --- WQL ----------------------------------------------------------------------------------------

OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$startsWith", "$hasSome"]
OPERATORS += ["$hasAll", "$any", "$begins", "$regex", "$and", "$or", "$not"]
FIELD_NAMES = sorted({*QUERY_SPEC.fields, *SEARCH_SPEC.fields, "buyerInfo.phone", "totalPrice.amount", "$and"})


def operand() -> st.SearchStrategy:
    return st.one_of(scalars, st.lists(scalars, max_size=5), long_list(st.one_of(text, st.sampled_from(GUIDS))))


filters = st.recursive(
    st.dictionaries(
        st.sampled_from(FIELD_NAMES),
        st.one_of(operand(), st.dictionaries(st.sampled_from(OPERATORS), operand(), max_size=3)),
        max_size=3,
    ),
    lambda children: st.one_of(
        st.fixed_dictionaries({"$and": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"$or": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"$not": children}),
    ),
    max_leaves=6,
)
sorts = maybe(
    st.lists(
        st.fixed_dictionaries(
            {"fieldName": maybe(st.sampled_from(FIELD_NAMES)), "order": maybe(st.sampled_from(["ASC", "DESC"]))}
        ),
        max_size=5,
    )
)
paging = st.fixed_dictionaries(
    {}, optional={"limit": maybe(st.integers(0, 101)), "cursor": maybe(text), "offset": numbers}
)
query_bodies = st.fixed_dictionaries(
    {
        "query": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "filter": maybe(filters),
                    "sort": sorts,
                    "cursorPaging": maybe(paging),
                    "paging": maybe(paging),
                },
            )
        )
    }
)
search_bodies = st.fixed_dictionaries(
    {
        "search": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "search": maybe(
                        st.fixed_dictionaries(
                            {"expression": maybe(text), "mode": maybe(st.sampled_from(["OR", "AND"]))}
                        )
                    ),
                    "filter": maybe(filters),
                    "sort": sorts,
                    "cursorPaging": maybe(paging),
                },
            )
        )
    }
)

# --- Ingest, analytics, bulk delete, legacy events ---------------------------------------------------

dates = st.one_of(st.dates().map(str), text)
price = st.fixed_dictionaries({"amount": maybe(st.sampled_from(["0", "1.5", "1e15", "-1", "1e309"]))})
checkouts = st.fixed_dictionaries(
    {"id": maybe(st.text(min_size=1, max_size=10)), "currency": maybe(st.sampled_from(["USD", "EUR", "usd", "XXX"]))},
    optional={
        "totalPrice": maybe(price),
        "subtotalPrice": maybe(price),
        "buyerInfo": maybe(st.fixed_dictionaries({}, optional={"email": maybe(st.emails()), "visitorId": text})),
        "contactDetails": maybe(st.fixed_dictionaries({}, optional={"firstName": text, "phone": text})),
        "lineItems": maybe(
            st.one_of(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "quantity": numbers,
                            "productName": maybe(st.fixed_dictionaries({"original": text})),
                            "price": maybe(price),
                        }
                    ),
                    max_size=3,
                ),
                long_list(st.just({"quantity": 1})),
            )
        ),
        "appliedDiscounts": maybe(
            st.lists(
                st.fixed_dictionaries({"coupon": maybe(st.fixed_dictionaries({"code": text, "name": text}))}),
                max_size=3,
            )
        ),
        "checkoutUrl": text,
        "buyerLanguage": text,
    },
)
events = st.fixed_dictionaries(
    {
        "eventId": maybe(st.uuids().map(str)),
        "type": maybe(st.sampled_from(["checkout.updated", "checkout.completed"])),
        "occurredAt": maybe(
            st.sampled_from(
                ["2026-11-28T10:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-11-28T10:00:00+14:00"]
            )
        ),
        "checkout": maybe(checkouts),
    },
    optional={"orderId": maybe(text)},
)
ingest_bodies = st.fixed_dictionaries(
    {"events": st.one_of(st.lists(events, min_size=1, max_size=4), long_list(st.just({})), values)}
)
analytics_bodies = st.fixed_dictionaries(
    {"startDate": maybe(dates), "endDate": maybe(dates)},
    optional={
        "metrics": maybe(st.lists(st.sampled_from(["RECOVERY_RATE", "RECOVERED_VALUE", "NOPE"]))),
        "statuses": maybe(st.lists(text)),
    },
)
bulk_bodies = st.fixed_dictionaries(
    {"abandonedCheckoutIds": maybe(st.lists(st.sampled_from(GUIDS) | st.uuids().map(str), max_size=101))}
)
legacy_bodies = st.fixed_dictionaries(
    {"cartId": maybe(text), "abandonTime": maybe(dates), "creationTime": maybe(dates)},
    optional={
        "buyerInfo": maybe(
            st.fixed_dictionaries(
                {"identityType": maybe(st.sampled_from(["MEMBER", "CONTACT"])), "id": text, "email": text}
            )
        ),
        "totals": maybe(st.fixed_dictionaries({"total": numbers, "subtotal": numbers})),
    },
)

POSTS = [
    ("/ecom/v1/abandoned-checkout/query", query_bodies),
    ("/ecom/v1/abandoned-checkout/search", search_bodies),
    ("/ecom/v1/abandoned-checkout/get-analytics", analytics_bodies),
    ("/ecom/v1/bulk/abandoned-checkout/delete", bulk_bodies),
    ("/api/v1/checkout-events", ingest_bodies),
    ("/api/v1/legacy/wix-stores/cart-abandoned", legacy_bodies),
    ("/api/v1/legacy/wix-stores/cart-recovered", legacy_bodies),
    ("/api/v1/buyers/erase", st.fixed_dictionaries({"email": maybe(st.emails())})),
]


def encode(value) -> str:
    """JSON text with the Raw tokens spliced in; surrogates escaped as \\udXXX, as a client would send them."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key))}:{encode(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value)  # NaN and Infinity come out as those tokens


path_segments = st.one_of(
    st.sampled_from(GUIDS), text.map(lambda value: quote(value.encode("utf-8", "surrogatepass"), safe=""))
)
query_strings = st.dictionaries(
    st.sampled_from(
        [
            "status",
            "created_after",
            "updated_before",
            "total_min",
            "total_max",
            "currency",
            "has_email",
            "activity",
            "q",
            "ordering",
            "page_size",
            "cursor",
        ]
    ),
    text,
    max_size=4,
)


@st.composite
def requests(draw) -> tuple[str, str, dict]:
    kind = draw(st.sampled_from(["post"] * 8 + ["raw", "get-one", "delete-one", "list", "unknown"]))
    if kind == "post":
        path, bodies = draw(st.sampled_from(POSTS))
        return "post", path, {"data": encode(draw(bodies))}
    if kind == "raw":
        path, _ = draw(st.sampled_from(POSTS))
        return "post", path, {"data": encode(draw(values))}
    if kind in ("get-one", "delete-one"):
        method = "get" if kind == "get-one" else "delete"
        return method, f"/ecom/v1/abandoned-checkout/{draw(path_segments)}", {}
    if kind == "list":
        params = {
            key: value.encode("utf-8", "surrogatepass").decode("latin-1") for key, value in draw(query_strings).items()
        }
        return "get", "/api/v1/abandoned-checkouts/", {"data": params}
    return (
        draw(st.sampled_from(["get", "post", "put", "delete"])),
        f"/{draw(st.sampled_from(['ecom', 'api']))}/{draw(path_segments)}",
        {},
    )


@pytest.fixture
def fuzz_client(store, api_key, settings):
    settings.COMEBACK_API_RATE_LIMIT = "1000000/minute"
    settings.COMEBACK_INGEST_RATE_LIMIT = "1000000/minute"
    AbandonedCheckoutFactory.create_batch(3, store=store, applied_discounts=[{"coupon": {"code": "SAVE10"}}])
    client = Client(raise_request_exception=False, headers={"Authorization": api_key})
    return client


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the nested strategies' repr, never shown
def test_no_hostile_request_gets_a_server_error_or_a_non_json_answer(fuzz_client, capsys, record_property):
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(request=requests())
    def send(request):
        method, path, kwargs = request
        if method in ("post", "put"):
            kwargs = {**kwargs, "content_type": "application/json"}
        response = getattr(fuzz_client, method)(path, **kwargs)
        statuses[response.status_code] += 1
        problem = _problem(response)
        if problem:
            body = kwargs.get("data", "")
            failures.append(f"{method.upper()} {path} {str(body)[:300]!r} → {response.status_code}: {problem}")

    send()
    total = sum(statuses.values())
    record_property("hostile_fuzz_cases", total)
    with capsys.disabled():
        print(f"\nhostile fuzz: {total} requests, statuses {dict(sorted(statuses.items()))}, {len(failures)} failures")
        for failure in failures[:50]:
            print("  " + failure)
    assert total >= EXAMPLES // 2
    assert failures == []


def _problem(response) -> str:
    if response.status_code >= 500:
        return "server error " + response.content[:200].decode("utf-8", "replace")
    if not response["Content-Type"].startswith("application/json"):
        return f"not JSON ({response['Content-Type']})"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "invalid JSON"
    if response.status_code >= 400 and not (isinstance(body, dict) and {"message", "details"} <= body.keys()):
        return "not Wix's error envelope"
    return ""


def test_the_encoder_writes_the_hostile_tokens():
    """The fuzzer really sends what it claims to (a fuzzer that cannot produce them proves nothing)."""
    assert encode({"a": [Raw("1e309"), "\ud800", float("nan")]}) == '{"a":[1e309,"\\ud800",NaN]}'
    assert json.loads(encode(updated_event("co-1")))["checkout"]["id"] == "co-1"
