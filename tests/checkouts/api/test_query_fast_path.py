"""A Query body read without its serializer (`query_body`) reads exactly as the serializer reads it.

`query_body` takes the plainly valid shapes only; whatever it takes, the serializer must take
too and return the same `query`; anything else it leaves to the serializer (None).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkouts.api.listing import MAX_CURSOR_LENGTH, MAX_FILTER_CHARS, QueryRequestSerializer, query_body

CURSOR = "eyJiIjp7InN0b3JlIjoiYSJ9fQ:1tXyZa:abc-DEF_123."
SAMPLES = [
    {"query": {}},
    {"query": {"cursorPaging": {"limit": 100}}},
    {"query": {"cursorPaging": {"limit": 100, "cursor": CURSOR}}},
    {"query": {"cursorPaging": {"cursor": ""}}},
    {"query": {"cursorPaging": None, "paging": {"limit": 0, "offset": 10_000}}},
    {"query": {"paging": {"offset": None}, "filter": {"status": "ABANDONED"}, "sort": [{"fieldName": "id"}]}},
    {"query": {"filter": "not an object", "sort": 7}},
    # Each of these the serializer refuses or changes: not taken.
    {"query": {"cursorPaging": {"limit": 101}}},
    {"query": {"cursorPaging": {"limit": True}}},
    {"query": {"cursorPaging": {"limit": "100"}}},
    {"query": {"cursorPaging": {"limit": -1}}},
    {"query": {"cursorPaging": {"cursor": 5}}},
    {"query": {"cursorPaging": {"cursor": "x" * (MAX_CURSOR_LENGTH + 1)}}},
    {"query": {"cursorPaging": {"cursor": "with space"}}},
    {"query": {"cursorPaging": {"limit": 1, "other": 1}}},
    {"query": {"paging": {"offset": 10_001}}},
    {"query": {"paging": {"limit": 5}, "cursorPaging": {"limit": 5}}},
    {"query": {"filter": {"buyerInfo.email": "x" * MAX_FILTER_CHARS}}},
    {"query": {"fields": ["id"]}},
    {"query": [], "other": 1},
    {"query": None},
    [],
]


def assert_read_alike(body) -> None:
    taken = query_body(body)
    if taken is None:
        return
    serializer = QueryRequestSerializer(data=body)
    assert serializer.is_valid(), (body, serializer.errors)
    assert taken == serializer.validated_data["query"]


@pytest.mark.parametrize("body", SAMPLES)
def test_what_the_fast_path_takes_the_serializer_reads_alike(body):
    assert_read_alike(body)


def test_the_fast_path_takes_the_pages_clients_send():
    assert all(query_body(body) is not None for body in SAMPLES[:7])
    assert all(query_body(body) is None for body in SAMPLES[7:])


scalars = st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=8) | st.sampled_from([CURSOR, ""])
paging = st.none() | scalars | st.dictionaries(st.sampled_from(["limit", "cursor", "offset", "x"]), scalars, max_size=3)
queries = st.dictionaries(
    st.sampled_from(["cursorPaging", "paging", "filter", "sort", "fields"]),
    paging | st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["query", "q"]), queries | scalars, max_size=2))
def test_any_body_the_fast_path_takes_reads_alike(body):
    assert_read_alike(body)
