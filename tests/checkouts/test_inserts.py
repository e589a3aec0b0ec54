"""The sweep's array literals and instances (checkouts/inserts.py): what PostgreSQL reads back
is what Python sent, and an instance built from a row and shared values is the model's."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from checkouts.inserts import array_literal, array_literal_mixed, instances_from_rows, int_array, uuid_array
from checkouts.models import AbandonedCheckout
from checkouts.services import sweep

pytestmark = pytest.mark.django_db


def test_array_literal_keeps_true_apart_from_one_and_quotes_text():
    assert array_literal([1, True, 0, False, None]) == '{"1",t,"0",f,NULL}'
    assert array_literal(['a"b\\c', "a,b"]) == '{"a\\"b\\\\c","a,b"}'


_ELEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.decimals(min_value=-2, max_value=2, places=2, allow_nan=False),
    st.text(alphabet='ab"\\, {}', max_size=4),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 2), timezones=st.just(UTC)),
)


@given(kind=_ELEMENTS, values=st.lists(_ELEMENTS, max_size=12), same=st.lists(st.integers(0, 11), max_size=12))
def test_array_literal_of_one_type_is_the_mixed_types_literal(kind, values, same):
    """The one-type path (values as keys) renders what the reference, keyed by type and value, does."""
    one_type = [value for value in values if value is None or type(value) is type(kind)]
    one_type += [one_type[index] for index in same if index < len(one_type)]
    assert array_literal(one_type) == array_literal_mixed(one_type)
    assert array_literal(values) == array_literal_mixed(values)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_array_literals_read_back_as_sent():
    ids = [uuid.uuid4() for _ in range(3)]
    moments = [datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC), None]
    texts = ['a"b\\c', "it's", "{x,y}", "", None]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::uuid[], %s::timestamptz[], %s::text[], %s::bigint[], %s::boolean[], %s::numeric[], "
            "%s::bigint[]",
            [
                uuid_array(ids),
                array_literal(moments),
                array_literal(texts),
                array_literal([1, 2, None]),
                array_literal([True, False, None]),
                array_literal([Decimal("10.1250"), Decimal("0")]),
                int_array([1, -2, 9223372036854775807]),
            ],
        )
        row = cursor.fetchone()
    assert row == (
        ids,
        moments,
        texts,
        [1, 2, None],
        [True, False, None],
        [Decimal("10.1250"), Decimal("0")],
        [1, -2, 9223372036854775807],
    )


def test_instances_from_rows_with_shared_values_must_give_every_field_once():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    names = list(sweep._CLAIMED_FIELDS)
    row = [uuid.uuid4() if name == "id" else None for name in names]
    lazy = {"deferred": sweep._CLAIM_DEFERRED, "fetch_mode": sweep.SnapshotFromCheckouts()}
    (ac,) = instances_from_rows(AbandonedCheckout, names, [row], shared=sweep._new_values(now), **lazy)
    assert ac.pk == row[0] and ac.created_at == now and ac._state.adding
    assert ac.get_deferred_fields() == set(sweep._CLAIM_DEFERRED) and ac._state.fetch_mode is lazy["fetch_mode"]
    with pytest.raises(ValueError, match="every concrete field"):
        instances_from_rows(AbandonedCheckout, names[1:], [row[1:]], shared=sweep._new_values(now), **lazy)
    with pytest.raises(ValueError, match="every concrete field"):
        instances_from_rows(AbandonedCheckout, names, [row], shared=sweep._new_values(now))
    with pytest.raises(ValueError, match="once"):
        instances_from_rows(AbandonedCheckout, names, [row], shared={**sweep._new_values(now), "id": None}, **lazy)
    with pytest.raises(ValueError, match="fetch mode"):
        instances_from_rows(
            AbandonedCheckout, names, [row], shared=sweep._new_values(now), deferred=sweep._CLAIM_DEFERRED
        )
