"""A page read through the statement built once per shape is the page the ORM reads."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.api.wql import QUERY_SPEC, sort_keys
from checkouts.keyset_sql import keyset_rows, scoped_to
from checkouts.models import AbandonedCheckout
from checkouts.pagination import Cursor, keyset_page
from checkouts.selectors import abandoned_checkouts_for_store
from tests.factories import AbandonedCheckoutFactory, StoreFactory

COLUMNS = ["id", "updated_at", "event_sequence", "wire", "wire_stamp", "created_at", "status", "buyer_email"]
SORTS = [
    [("createdDate", True)],
    [("createdDate", False)],
    [("updatedDate", True)],
    [("id", False)],
    [("status", False), ("createdDate", True)],
    [("buyerInfo.email", True), ("updatedDate", False)],
]


@pytest.fixture
def stores(db):
    store, other = StoreFactory(), StoreFactory()
    now = timezone.now().replace(microsecond=0)
    for index in range(13):
        # Ties on every sort key but the id, so the expanded OR of the position is exercised.
        AbandonedCheckoutFactory(
            store=store,
            created_at=now - timedelta(minutes=index // 3),
            updated_at=now - timedelta(minutes=index % 4),
            status=["ABANDONED", "RECOVERED"][index % 2],
            checkout_recovered_at=now if index % 2 else None,
            buyer_email=f"b{index % 5}@example.com",
        )
        AbandonedCheckoutFactory(store=other, created_at=now - timedelta(minutes=index // 3))
    return store, other


def orm_page(store, keys, limit, cursor):
    queryset = abandoned_checkouts_for_store(store=store).values_list(*COLUMNS)
    side = {} if cursor is None else {"before" if cursor.backward else "after": cursor.position}
    return keyset_page(queryset, keys, limit=limit, **side)


@pytest.mark.parametrize("sort", SORTS)
def test_every_page_forward_and_back_is_the_orms(stores, sort):
    store, other = stores
    keys = sort_keys(sort, QUERY_SPEC)
    at = {column: index for index, column in enumerate(COLUMNS)}
    position = lambda row: [row[at[key.field]] for key in keys]  # noqa: E731
    cursor, seen = None, []
    while True:
        page = keyset_rows(
            AbandonedCheckout, scope="store", value=store.pk, columns=COLUMNS, keys=keys, limit=4, cursor=cursor
        )
        expected = orm_page(store, keys, 4, cursor)
        assert (page.items, page.has_next, page.has_previous) == (
            expected.items,
            expected.has_next,
            expected.has_previous,
        )
        seen += [row[0] for row in page.items]
        if page.items and page.has_previous:
            back = Cursor(position(page.items[0]), backward=True, extra={})
            backward = keyset_rows(
                AbandonedCheckout, scope="store", value=store.pk, columns=COLUMNS, keys=keys, limit=4, cursor=back
            )
            expected = orm_page(store, keys, 4, back)
            assert (backward.items, backward.has_next, backward.has_previous) == (
                expected.items,
                expected.has_next,
                expected.has_previous,
            )
        if not page.has_next:
            break
        cursor = Cursor(position(page.items[-1]), backward=False, extra={})
    assert sorted(seen) == sorted(AbandonedCheckout.objects.filter(store=store).values_list("id", flat=True))
    assert not set(seen) & set(AbandonedCheckout.objects.filter(store=other).values_list("id", flat=True))


def test_a_page_is_one_statement(stores):
    store, _ = stores
    keys = sort_keys([("createdDate", True)], QUERY_SPEC)
    with CaptureQueriesContext(connection) as queries:
        page = keyset_rows(
            AbandonedCheckout, scope="store", value=store.pk, columns=COLUMNS, keys=keys, limit=100, cursor=None
        )
    assert len(queries) == 1 and len(page.items) == 13 and not page.has_next


def test_a_position_holding_none_or_a_related_sort_is_left_to_the_orm(stores):
    store, _ = stores
    keys = sort_keys([("createdDate", True)], QUERY_SPEC)
    cursor = Cursor([None, store.pk], backward=False, extra={})
    assert (
        keyset_rows(
            AbandonedCheckout, scope="store", value=store.pk, columns=COLUMNS, keys=keys, limit=4, cursor=cursor
        )
        is None
    )
    related = [keys[0], type(keys[0])("store", True)]
    assert (
        keyset_rows(
            AbandonedCheckout, scope="store", value=store.pk, columns=COLUMNS, keys=related, limit=4, cursor=None
        )
        is None
    )


def test_only_the_plain_store_scope_takes_the_statement(stores):
    store, other = stores
    scoped = abandoned_checkouts_for_store(store=store)
    assert scoped_to(scoped, "store", store.pk)
    assert not scoped_to(scoped, "store", other.pk)
    assert not scoped_to(scoped.filter(status="ABANDONED"), "store", store.pk)
    assert not scoped_to(scoped.filter(Q(status="ABANDONED") | Q(status="RECOVERED")), "store", store.pk)
    assert not scoped_to(scoped.distinct(), "store", store.pk)
    assert not scoped_to(scoped[:5], "store", store.pk)
    assert not scoped_to(AbandonedCheckout.objects.all(), "store", store.pk)
