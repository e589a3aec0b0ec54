"""The set-based statements of an ingest batch: the same few whatever the batch's size.

On PostgreSQL the rows go in as one JSON document (`json_to_recordset`), encoded by orjson:
the statement's text and its parameter count are the same for 1 row or 1,000, and no value
is adapted one by one in Python (psycopg quotes an array's items in Python, which cost more
than the rest of the batch's writing). Rows are looked up by key through a LATERAL probe of
the unique index, one per key: a store the planner has no statistics for yet (a new one
filling up faster than autovacuum analyses it) would otherwise be read whole, by store, on
every batch. SQLite takes a multi-row VALUES list (split only past its parameter limit).
Event ids and checkouts are taken in sorted order, so two batches sharing some never wait
on each other in a circle.
"""

import functools
from collections.abc import Iterable, Iterator
from decimal import Decimal

import orjson
from django.db import connection, models
from django.db.models import Case, CharField, Value, When
from django.db.models.expressions import Col
from django.db.models.fetch_modes import FETCH_ONE
from django.db.models.sql import Query
from django.utils import timezone

from ..models import Checkout, CheckoutData, IngestedEvent, Store


class BatchRaced(Exception):
    """Another batch changed rows this one had read (a checkout it thought new, an event id
    it found taken and then gone): redo the batch, which then finds them as they are."""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _cursor():
    """A cursor for the batch's statements; on PostgreSQL one binding server-side, so the batch's
    JSON document travels as a parameter (about 150 kB for 100 checkouts) instead of quoted into
    the text, and each statement is planned once per connection (config/postgresql/base.py)."""
    return connection.server_binding_cursor() if _postgres() else connection.cursor()


def _chunks(rows: list, columns: int) -> Iterator[list]:
    size = len(rows) if _postgres() else max(1, connection.features.max_query_params // columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _quoted(*names: str) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(value: object) -> str:
    """One statement parameter holding a batch's rows or keys (PostgreSQL parses it in C)."""
    return orjson.dumps(value, default=_json_default).decode()


def _int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers: '{1,2,3}'."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def _recordset(alias: str, fields: list) -> str:
    """`json_to_recordset` of a JSON array of objects keyed by column, typed as the model's columns."""
    return _recordset_for(connection.vendor, alias, tuple(fields))


# Statement texts depend only on the database's kind (and, on SQLite, the rows): built once,
# not per batch (forty fields' db_type and quoting cost about 1 ms a batch).
@functools.cache
def _recordset_for(vendor: str, alias: str, fields: tuple) -> str:
    columns = ", ".join(f"{connection.ops.quote_name(field.column)} {field.db_type(connection)}" for field in fields)
    return f"json_to_recordset(%s::json) AS {alias}({columns})"


def _values(fields: list, rows: int) -> str:
    """A VALUES list of `rows` rows (SQLite)."""
    return "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)


def _probe(table: str, columns: str, key: str, *, lock: bool = False) -> str:
    """Rows of one store by a unique key: one probe of the (store_id, key) unique index per key.

    Parameters: the keys as a JSON array, then the store's id. A LATERAL subquery with LIMIT
    cannot become a join, and the store's id is a sub-select (an InitPlan, evaluated once),
    whose value the planner does not see: it weighs `store_id =` by the table's number of
    stores, not by statistics that may never have seen this store (by those, a new store
    looks empty, any index on store_id as good as the unique one, and the store is read whole).
    """
    return (
        f"SELECT found.* FROM json_array_elements_text(%s::json) AS wanted(key) CROSS JOIN LATERAL ("  # noqa: S608 - names from the model  # nosec B608
        f"SELECT {columns} FROM {table} WHERE {_quoted('store_id')} = (SELECT %s::uuid)"
        f" AND {_quoted(key)} = wanted.key LIMIT 1{' FOR UPDATE' if lock else ''}) AS found"
    )


_EVENT_FIELDS = [
    IngestedEvent._meta.get_field(name) for name in ("store", "event_id", "body_hash", "outcome", "created_at")
]


def events_claim(*, store: Store, events: list[tuple[str, str, str]]) -> dict[str, int]:
    """Insert (eventId, body hash, presumed outcome) rows not seen before; return {eventId: row id}
    of those this call inserted.

    The outcome each row is inserted with is the one its event most likely gets (APPLIED for an
    update, COMPLETED for a completion): no other transaction sees the row before this one
    commits, and `outcomes_record` corrects, in the same transaction, those that got another.
    """
    table = connection.ops.quote_name(IngestedEvent._meta.db_table)
    columns = _quoted(*(field.column for field in _EVENT_FIELDS))
    conflict = f"ON CONFLICT ({_quoted('store_id', 'event_id')}) DO NOTHING RETURNING {_quoted('event_id', 'id')}"
    claimed: dict[str, int] = {}
    ordered = sorted(events)
    with _cursor() as cursor:
        if _postgres():
            source = _recordset("claimed", _EVENT_FIELDS[1:4])
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, claimed.*, %s FROM {source} {conflict}",  # noqa: S608  # nosec B608
                [
                    store.pk,
                    timezone.now(),
                    _json([{"event_id": e, "body_hash": d, "outcome": o} for e, d, o in ordered]),
                ],
            )
            claimed.update(cursor.fetchall())
            return claimed
        created_at = _EVENT_FIELDS[-1].get_db_prep_save(timezone.now(), connection)
        store_id = _EVENT_FIELDS[0].get_db_prep_save(store.pk, connection)
        for chunk in _chunks(ordered, len(_EVENT_FIELDS)):
            params = [value for e, d, o in chunk for value in (store_id, e, d, o, created_at)]
            cursor.execute(f"INSERT INTO {table} ({columns}) {_values(_EVENT_FIELDS, len(chunk))} {conflict}", params)  # nosec B608
            claimed.update(cursor.fetchall())
    return claimed


def events_seen(*, store: Store, event_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{eventId: (body hash, outcome)} of events applied before."""
    if not event_ids:
        return {}
    if _postgres():
        table = connection.ops.quote_name(IngestedEvent._meta.db_table)
        with _cursor() as cursor:
            cursor.execute(
                _probe(table, _quoted("event_id", "body_hash", "outcome"), "event_id"), [_json(event_ids), store.pk]
            )
            rows = cursor.fetchall()
    else:
        rows = IngestedEvent.objects.filter(store=store, event_id__in=event_ids).values_list(
            "event_id", "body_hash", "outcome"
        )
    seen = {event_id: (digest, outcome) for event_id, digest, outcome in rows}
    if len(seen) < len(event_ids):
        # Taken when this batch tried to claim it, gone now (pruned since): claim it again.
        raise BatchRaced(sorted(set(event_ids) - set(seen))[0])
    return seen


def outcomes_record(*, claimed: dict[str, int], outcomes: dict[str, str], presumed: dict[str, str]) -> None:
    """Write the outcome of each claimed event that is not the one it was claimed with (`presumed`),
    by its row id: one UPDATE, one WHEN per distinct outcome; none when every event got its presumed one."""
    outcomes = {event_id: outcome for event_id, outcome in outcomes.items() if outcome != presumed[event_id]}
    if not outcomes:
        return
    by_outcome: dict[str, list[int]] = {}
    for event_id, outcome in outcomes.items():
        by_outcome.setdefault(outcome, []).append(claimed[event_id])
    if _postgres():
        # The ids as array literals: one parameter per list, and nothing for the ORM to compile.
        table, pk = connection.ops.quote_name(IngestedEvent._meta.db_table), _quoted("id")
        whens = " ".join(f"WHEN {pk} = ANY(%s::bigint[]) THEN %s" for _ in by_outcome)
        params = [value for outcome, ids in by_outcome.items() for value in (_int_array(ids), outcome)]
        with _cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {_quoted('outcome')} = CASE {whens} END WHERE {pk} = ANY(%s::bigint[])",  # noqa: S608  # nosec B608
                [*params, _int_array(claimed[event_id] for event_id in outcomes)],
            )
        return
    IngestedEvent.objects.filter(pk__in=[claimed[event_id] for event_id in outcomes]).update(
        outcome=Case(
            *(When(pk__in=ids, then=Value(outcome)) for outcome, ids in by_outcome.items()),
            output_field=CharField(),
        )
    )


def checkouts_lock(*, store: Store, external_ids: Iterable[str]) -> dict[str, Checkout]:
    """The store's existing checkouts with these ids, locked (in id order), by external id.

    On PostgreSQL the rows are read as `Checkout.objects.raw` would read them (every concrete
    field, each through its converters, `from_db`), with what raw() works out on every call
    (the columns, their fields, their converters: about 1 ms of a batch's Python) worked out once.
    """
    ordered = sorted(external_ids)
    if _postgres():
        sql, attnames, converters = _lock_statement(connection.vendor)
        with _cursor() as cursor:
            cursor.execute(sql, [_json(ordered), store.pk])
            rows = cursor.fetchall()
        checkouts = [
            Checkout.from_db(connection.alias, attnames, _converted(values, converters), fetch_mode=FETCH_ONE)
            for values in rows
        ]
        return {checkout.external_id: checkout for checkout in checkouts}
    rows = Checkout.objects.select_for_update().filter(store=store, external_id__in=ordered)
    return {checkout.external_id: checkout for checkout in rows.order_by("external_id")}


@functools.cache
def _lock_statement(vendor: str) -> tuple[str, list[str], list[tuple[int, list, Col]]]:
    """The lock's statement (every concrete column, in the model's order), the fields' attnames,
    and per column that has any, its converters with the column expression they are given."""
    fields = Checkout._meta.concrete_fields
    table = Checkout._meta.db_table
    sql = _probe(
        connection.ops.quote_name(table), _quoted(*(field.column for field in fields)), "external_id", lock=True
    )
    columns = [field.get_col(table) for field in fields]
    compiler = connection.ops.compiler("SQLCompiler")(Query(Checkout), connection, connection.alias)
    converters = [(index, convs, column) for index, (convs, column) in compiler.get_converters(columns).items()]
    return sql, [field.attname for field in fields], converters


def _converted(values: tuple, converters: list[tuple[int, list, Col]]) -> list:
    """A row's values through their fields' converters, as SQLCompiler.apply_converters passes them."""
    values = list(values)
    for index, convs, column in converters:
        value = values[index]
        for converter in convs:
            value = converter(value, column, connection)
        values[index] = value
    return values


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
    return _upsert_sql_for(connection.vendor, 0 if _postgres() else rows)


@functools.cache
def _upsert_sql_for(vendor: str, rows: int) -> str:
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
    columns = _quoted(*(field.column for field in _UPSERT_FIELDS))
    if _postgres():
        # xmax is 0 on a row this statement inserted, set on one it updated.
        source = f"SELECT * FROM {_recordset('written', _UPSERT_FIELDS)}"  # noqa: S608  # nosec B608
        inserted = "(xmax = 0)"
    else:
        source = _values(_UPSERT_FIELDS, rows)
        inserted = "1"
    return (
        f"INSERT INTO {table} ({columns}) {source} "  # nosec B608
        f"ON CONFLICT ({_quoted('store_id', 'external_id')}) DO UPDATE SET {updates} WHERE {rule} "
        f"RETURNING {_quoted('id', 'external_id')}, {inserted}"
    )


def _prepared(checkout: Checkout, column: tuple) -> object:
    field, attname, plain_text = column
    value = getattr(checkout, attname)
    return value if plain_text and type(value) is str else field.get_db_prep_save(value, connection)


def _upsert_params(checkouts: list[Checkout]) -> list:
    if _postgres():
        # The model's values as they are: orjson writes str, int, datetime, UUID, lists and
        # dicts (the JSON columns) itself, Decimals as their text; PostgreSQL casts each column.
        return [_json([_row(checkout) for checkout in checkouts])]
    return [_prepared(checkout, column) for checkout in checkouts for column in _UPSERT_COLUMNS]


_JSON_COLUMNS = [(field.column, field.attname) for field in _UPSERT_FIELDS]


def _row(checkout: Checkout) -> dict:
    """The checkout's columns, read from its __dict__ (every field of a locked or new checkout is loaded)."""
    values = vars(checkout)
    try:
        return {column: values[attname] for column, attname in _JSON_COLUMNS}
    except KeyError:  # a deferred field: the descriptor loads it
        return {column: getattr(checkout, attname) for column, attname in _JSON_COLUMNS}


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
        with _cursor() as cursor:
            cursor.execute(_upsert_sql(len(chunk)), _upsert_params(chunk))
            written.update((external_id, (pk, bool(inserted))) for pk, external_id, inserted in cursor.fetchall())
    for external_id, checkout in by_external_id.items():
        if external_id not in written or (external_id in new and not written[external_id][1]):
            raise BatchRaced(external_id)
        checkout.pk = written[external_id][0]
        checkout._state.adding = False
