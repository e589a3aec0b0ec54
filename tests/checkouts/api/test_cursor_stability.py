"""Cursors stay correct while rows are inserted and deleted between pages.

A cursor holds the boundary row's sort values, not an offset: after new rows arrive, the
next page continues right after the last row seen — nothing repeated, nothing skipped
that still exists and sorts after it, and rows sorting before it are not pulled in.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from checkouts.models import AbandonedCheckout
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
START = datetime(2026, 3, 1, tzinfo=UTC)


def key(ac) -> tuple:
    return (ac.created_at, ac.id)


def test_query_cursors_survive_inserts_and_deletes(api, store):
    rows = [AbandonedCheckoutFactory(store=store, created_at=START + timedelta(minutes=index)) for index in range(30)]
    first = api.post(QUERY, {"query": {"cursorPaging": {"limit": 10}}}).json()
    seen = [item["id"] for item in first["abandonedCheckouts"]]
    boundary = AbandonedCheckout.objects.get(pk=seen[-1])

    newer = [AbandonedCheckoutFactory(store=store, created_at=START + timedelta(hours=5)) for _ in range(4)]
    middle = [AbandonedCheckoutFactory(store=store, created_at=START + timedelta(minutes=7, seconds=30))]
    # Same createdDate as the boundary row: the id decides which side of it they fall.
    twins = [AbandonedCheckoutFactory(id=uuid.uuid4(), store=store, created_at=boundary.created_at) for _ in range(6)]
    gone = AbandonedCheckout.objects.get(pk=rows[12].pk)
    gone.delete()

    cursor = first["metadata"]["cursors"]["next"]
    while cursor:
        page = api.post(QUERY, {"query": {"cursorPaging": {"cursor": cursor, "limit": 10}}}).json()
        seen += [item["id"] for item in page["abandonedCheckouts"]]
        cursor = page["metadata"]["cursors"]["next"]

    assert len(seen) == len(set(seen)), "a row was served twice"
    remaining = sorted(
        (ac for ac in AbandonedCheckout.objects.filter(store=store) if key(ac) < key(boundary)), key=key, reverse=True
    )
    assert seen[10:] == [str(ac.id) for ac in remaining]
    assert not {str(ac.id) for ac in newer} & set(seen)
    assert str(middle[0].id) in seen and str(gone.id) not in seen[10:]
    later_twins = {str(ac.id) for ac in twins if ac.id < boundary.id}
    assert later_twins <= set(seen[10:]) and not ({str(ac.id) for ac in twins} - later_twins) & set(seen)


def test_rest_cursor_links_survive_inserts(api, store):
    for index in range(12):
        AbandonedCheckoutFactory(store=store, total=index, created_at=START + timedelta(minutes=index))
    first = api.get("/api/v1/abandoned-checkouts/?ordering=total&page_size=5").json()
    seen = [item["id"] for item in first["results"]]
    cheap = AbandonedCheckoutFactory(store=store, total=0)  # sorts before the page already read
    pricey = AbandonedCheckoutFactory(store=store, total=100)  # sorts at the end
    url = first["next"]
    while url:
        page = api.get(url).json()
        seen += [item["id"] for item in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 13
    assert seen[-1] == str(pricey.id) and str(cheap.id) not in seen
