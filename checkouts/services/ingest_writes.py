"""The set-based statements of an ingest batch: the same few whatever the batch's size.

On PostgreSQL the rows go in as one array per column (`unnest`): the statement's text and
its parameter count are the same for 1 row or 1,000, so psycopg has a few dozen values to
send instead of thousands to quote one by one. SQLite takes a multi-row VALUES list (split
only past its parameter limit). Event ids and checkouts are taken in sorted order, so two
batches sharing some never wait on each other in a circle.
"""

from collections.abc import Iterable, Iterator

from django.db import connection, models
from django.db.models import Case, CharField, Value, When
from django.utils import timezone

from ..models import Checkout, CheckoutData, IngestedEvent, Store


class BatchRaced(Exception):
    """Another batch changed rows this one had read (a checkout it thought new, an event id
    it found taken and then gone): redo the batch, which then finds them as they are."""


def _chunks(rows: list, columns: int) -> Iterator[list]:
    size = len(rows) if _by_column() else max(1, connection.features.max_query_params // columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _by_column() -> bool:
    return connection.vendor == "postgresql"


def _source(fields: list, rows: int) -> str:
    """The rows to insert: arrays unnested on PostgreSQL, a VALUES list elsewhere."""
    if _by_column():
        casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        return f"SELECT * FROM unnest({casts})"  # noqa: S608 - column types from the model  # nosec B608
    return "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)


def _params(fields: list, rows: list[list]) -> list:
    """The source's parameters: one list per column on PostgreSQL, the rows' values in a row elsewhere."""
    if _by_column():
        return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in fields]
    return [value for row in rows for value in row]


def _quoted(*names: str) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


_EVENT_FIELDS = [
    IngestedEvent._meta.get_field(name) for name in ("store", "event_id", "body_hash", "outcome", "created_at")
]


def events_claim(*, store: Store, events: list[tuple[str, str]]) -> set[str]:
    """Insert (eventId, body hash) rows not seen before; return the eventIds this call inserted."""
    table = connection.ops.quote_name(IngestedEvent._meta.db_table)
    columns = _quoted(*(field.column for field in _EVENT_FIELDS))
    store_id = _EVENT_FIELDS[0].get_db_prep_save(store.pk, connection)
    created_at = _EVENT_FIELDS[-1].get_db_prep_save(timezone.now(), connection)
    claimed: set[str] = set()
    for chunk in _chunks(sorted(events), len(_EVENT_FIELDS)):
        rows = [[store_id, event_id, digest, "PENDING", created_at] for event_id, digest in chunk]
        sql = (
            f"INSERT INTO {table} ({columns}) {_source(_EVENT_FIELDS, len(rows))} "  # nosec B608
            f"ON CONFLICT ({_quoted('store_id', 'event_id')}) DO NOTHING RETURNING {_quoted('event_id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, _params(_EVENT_FIELDS, rows))
            claimed.update(row[0] for row in cursor.fetchall())
    return claimed


def events_seen(*, store: Store, event_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{eventId: (body hash, outcome)} of events applied before."""
    if not event_ids:
        return {}
    rows = IngestedEvent.objects.filter(store=store, event_id__in=event_ids).values_list(
        "event_id", "body_hash", "outcome"
    )
    seen = {event_id: (digest, outcome) for event_id, digest, outcome in rows}
    if len(seen) < len(event_ids):
        # Taken when this batch tried to claim it, gone now (pruned since): claim it again.
        raise BatchRaced(sorted(set(event_ids) - set(seen))[0])
    return seen


def outcomes_record(*, store: Store, outcomes: dict[str, str]) -> None:
    """Write the outcome of each claimed event: one UPDATE, one WHEN per distinct outcome."""
    if not outcomes:
        return
    by_outcome: dict[str, list[str]] = {}
    for event_id, outcome in outcomes.items():
        by_outcome.setdefault(outcome, []).append(event_id)
    IngestedEvent.objects.filter(store=store, event_id__in=list(outcomes)).update(
        outcome=Case(
            *(When(event_id__in=ids, then=Value(outcome)) for outcome, ids in by_outcome.items()),
            output_field=CharField(),
        )
    )


def checkouts_lock(*, store: Store, external_ids: Iterable[str]) -> dict[str, Checkout]:
    """The store's existing checkouts with these ids, locked, by external id."""
    rows = Checkout.objects.select_for_update().filter(store=store, external_id__in=list(external_ids))
    return {checkout.external_id: checkout for checkout in rows.order_by("external_id")}


_UPSERT_FIELDS = [
    Checkout._meta.get_field(name)
    for name in (
        "store",
        "external_id",
        *CheckoutData.SNAPSHOT_FIELDS,
        "last_activity_at",
        "snapshot_event_id",
        "abandon_due_at",
        "completed_at",
        "order_id",
        "created_at",
        "updated_at",
    )
]
_KEPT_ON_CONFLICT = {"store", "external_id", "created_at"}
# Most of a row's columns are plain text, which get_db_prep_save hands back unchanged when it
# is a str: those skip the call (three method calls a column, forty columns a row).
_PLAIN_TEXT = (models.CharField, models.TextField, models.EmailField, models.URLField)
_UPSERT_COLUMNS = [(field, field.attname, type(field) in _PLAIN_TEXT) for field in _UPSERT_FIELDS]


def _upsert_sql(rows: int) -> str:
    quote = connection.ops.quote_name
    table = quote(Checkout._meta.db_table)
    updates = ", ".join(
        f"{quote(field.column)} = EXCLUDED.{quote(field.column)}"
        for field in _UPSERT_FIELDS
        if field.name not in _KEPT_ON_CONFLICT
    )
    # The rule, in SQL as well: a completed checkout never changes again, and a snapshot is
    # written only over an older one ((occurredAt, eventId) orders them); a completion is
    # written over any snapshot.
    rule = (
        f"{table}.completed_at IS NULL AND (EXCLUDED.completed_at IS NOT NULL"
        f" OR ({table}.last_activity_at, {table}.snapshot_event_id)"
        " < (EXCLUDED.last_activity_at, EXCLUDED.snapshot_event_id))"
    )
    # PostgreSQL: xmax is 0 on a row this statement inserted, set on one it updated.
    inserted = "(xmax = 0)" if connection.vendor == "postgresql" else "1"
    return (
        f"INSERT INTO {table} ({_quoted(*(field.column for field in _UPSERT_FIELDS))}) "  # nosec B608
        f"{_source(_UPSERT_FIELDS, rows)} "
        f"ON CONFLICT ({_quoted('store_id', 'external_id')}) DO UPDATE SET {updates} WHERE {rule} "
        f"RETURNING {_quoted('id', 'external_id')}, {inserted}"
    )


def _prepared(checkout: Checkout, column: tuple) -> object:
    field, attname, plain_text = column
    value = getattr(checkout, attname)
    return value if plain_text and type(value) is str else field.get_db_prep_save(value, connection)


def checkouts_upsert(*, checkouts: list[Checkout], new: set[str]) -> None:
    """Write the batch's changed checkouts (the `new` ones inserted) and set their primary keys.

    Raises BatchRaced when a checkout thought new already existed (another batch
    created it after this one looked): the batch is redone, and then finds it locked.
    """
    if not checkouts:
        return
    by_external_id = {checkout.external_id: checkout for checkout in checkouts}
    written: dict[str, tuple[int, bool]] = {}
    for chunk in _chunks(sorted(checkouts, key=lambda checkout: checkout.external_id), len(_UPSERT_FIELDS)):
        rows = [[_prepared(checkout, column) for column in _UPSERT_COLUMNS] for checkout in chunk]
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(len(chunk)), _params(_UPSERT_FIELDS, rows))
            written.update((external_id, (pk, bool(inserted))) for pk, external_id, inserted in cursor.fetchall())
    for external_id, checkout in by_external_id.items():
        if external_id not in written or (external_id in new and not written[external_id][1]):
            raise BatchRaced(external_id)
        checkout.pk = written[external_id][0]
        checkout._state.adding = False
