"""Each abandoned checkout's Wix entity kept as ready JSON (`wire`), and pages spliced from it.

Building 100 entities in Python is most of a Query page's time, so every write that changes
an entity stores its JSON too, in the same transaction (`checkouts.services.wire`), stamped
with what it was built from: the row's updatedDate and event sequence, the store's language
(the formatted amounts) and the public URL (checkoutUrl). A reader splices the stored JSON
only when that stamp matches the row as it is now, and builds the entity otherwise: a
writer that forgets the refresh costs speed, never correctness.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import prefetch_related_objects

from .models import AbandonedCheckout, Activity, Store
from .selectors import abandoned_checkouts_with_activities, latest_activities_prefetch
from .wix import abandoned_checkout_to_wix, activity_to_wix, iso

# Bump when `abandoned_checkout_to_wix` changes what it writes: every stored entity goes stale.
WIRE_VERSION = 2  # 2: line-item images keep their real URL (a Wix media id only where one exists)
# What a page reads of each row when the stored JSON will do (plus its sort keys).
WIRE_COLUMNS = ("id", "store_id", "updated_at", "event_sequence", "wire", "wire_stamp")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=256)
def _context(language: str, public_url: str) -> str:
    return hashlib.blake2b(f"{WIRE_VERSION}|{language}|{public_url}".encode(), digest_size=6).hexdigest()


def wire_stamp(*, updated_at: datetime, event_sequence: int, language: str) -> str:
    """What an entity's JSON was built from; equal stamps mean equal JSON."""
    return _stamp(updated_at, event_sequence, _context(language, settings.COMEBACK_PUBLIC_URL))


def _stamp(updated_at: datetime, event_sequence: int, context: str) -> str:
    return f"{(updated_at - _EPOCH) // _MICROSECOND}.{event_sequence}.{context}"


def wire_current(row: AbandonedCheckout, *, store: Store) -> bool:
    """True when the row's stored JSON is the entity it would be built into now."""
    return row.wire is not None and row.wire_stamp == wire_stamp(
        updated_at=row.updated_at, event_sequence=row.event_sequence, language=store.language
    )


def wire_encode(entity: dict) -> str:
    """The entity's bytes exactly as the API's renderer (orjson, compact) writes them."""
    return orjson.dumps(entity).decode()


def as_stored(value: Any) -> Any:
    """A JSON value as the database will give it back: PostgreSQL's jsonb orders each object's
    keys by length, then bytes, and the stored entity must have the bytes a read would build."""
    if connection.vendor != "postgresql":
        return value
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: as_stored(value[key]) for key in keys}
    if isinstance(value, list):
        return [as_stored(item) for item in value]
    return value


def wire_build(ac: AbandonedCheckout, activities: Iterable[Activity] | None = None, *, store: Store) -> tuple[str, str]:
    """(wire, wire_stamp) of an abandoned checkout, its latest activities newest first."""
    entity = abandoned_checkout_to_wix(ac, activities, store=store)
    stamp = wire_stamp(updated_at=ac.updated_at, event_sequence=ac.event_sequence, language=store.language)
    return wire_encode(entity), stamp


def wire_entity_logged(ac: AbandonedCheckout, activity: Activity, *, store: Store, updated_at: datetime) -> dict | None:
    """The entity `abandoned_checkout_to_wix` builds once `activity`, the checkout's only new one,
    is logged and updatedDate moved to `updated_at`: the row's stored JSON (read before those
    changes, so its stamp can be checked) with the activity appended. None when that JSON is not
    current, or when the activity might not sort newest (an older one logged in the same
    millisecond): build it then.

    Logging an activity changes nothing else in the entity; reading the JSON and appending costs far
    less than building it, and needs no query for the latest activities.
    """
    if not wire_current(ac, store=store):
        return None
    entity = orjson.loads(ac.wire)
    logged = entity.get("activities")
    entry = activity_to_wix(activity)
    if not isinstance(logged, list) or (logged and not logged[-1]["createdDate"] < entry["createdDate"]):
        return None
    return entity | {"updatedDate": iso(updated_at), "activities": [*logged, entry][-Activity.API_LIMIT :]}


# The columns of a page read as plain values (`wire_splice`), in this order.
SPLICE_COLUMNS = ("id", "updated_at", "event_sequence", "wire", "wire_stamp")


def wire_splice(rows: Sequence[tuple], *, store: Store) -> list[orjson.Fragment]:
    """The Wix entities of a page read as `SPLICE_COLUMNS` tuples (`.values_list`), in their order.

    The same entities as `wire_fragments`, without a model instance per row (a third of a
    Query page's Python): current stored JSON is spliced as it is, the other rows are read in
    full with their activities (one query more) and built. A row deleted in between is left out.
    """
    context = _context(store.language, settings.COMEBACK_PUBLIC_URL)
    fragments: list = []
    stale = {}
    for pk, updated_at, sequence, wire, stamp in rows:
        if wire is not None and stamp == _stamp(updated_at, sequence, context):
            fragments.append(orjson.Fragment(wire))
        else:
            stale[pk] = len(fragments)
            fragments.append(None)
    if stale:
        full = abandoned_checkouts_with_activities(
            AbandonedCheckout.objects.filter(store=store, pk__in=stale).defer("wire", "wire_stamp")
        )
        for ac in full:
            fragments[stale[ac.pk]] = orjson.Fragment(wire_encode(abandoned_checkout_to_wix(ac, store=store)))
    return [fragment for fragment in fragments if fragment is not None]


def wire_fragments(rows: Sequence[AbandonedCheckout], *, store: Store) -> list[orjson.Fragment]:
    """The Wix entities of a page's rows (read with at least `WIRE_COLUMNS`), in their order.

    Current stored JSON is spliced as it is; the other rows are built, after reading their
    activities (and, when `rows` hold only some columns, the rows in full: one query more).
    A row deleted in between is left out.
    """
    stale = {row.pk for row in rows if not wire_current(row, store=store)}
    built: dict = {}
    if stale and not any(row.get_deferred_fields() for row in rows):
        full = [row for row in rows if row.pk in stale]  # read in full already: only their activities
        prefetch_related_objects(full, latest_activities_prefetch())
    elif stale:
        full = abandoned_checkouts_with_activities(
            AbandonedCheckout.objects.filter(store=store, pk__in=stale).defer("wire", "wire_stamp")
        )
    if stale:
        built = {ac.pk: wire_encode(abandoned_checkout_to_wix(ac, store=store)) for ac in full}
    fragments = []
    for row in rows:
        text = built.get(row.pk) if row.pk in stale else row.wire
        if text is not None:
            fragments.append(orjson.Fragment(text))
    return fragments
