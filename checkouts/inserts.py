"""Fast multi-row inserts: COPY on PostgreSQL, bulk_create elsewhere.

The sweep writes thousands of abandoned checkouts, activities, outbox events and
deliveries per transaction; Django's bulk_create spends most of that time adapting
parameters and building instances, while COPY streams the same rows several times faster.
Everything runs inside the caller's transaction.
"""

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import Any

import orjson
from django.db import connection
from django.db.models import NOT_PROVIDED, JSONField, Model, signals
from django.db.models.base import DEFERRED, ModelState
from django.db.models.fetch_modes import FetchMode

# Rows per bulk_create statement where COPY is not used (SQLite's variable limit).
FALLBACK_BATCH = 500


def json_text(value: Any) -> Any:
    """A JSON column's value as the text PostgreSQL parses (other values as they are)."""
    if isinstance(value, (dict, list)):
        # orjson: the JSON columns of a sweep batch are a large share of its Python time.
        return orjson.dumps(value, default=str).decode()
    return value


def uuid_array(values: Iterable[Any]) -> str:
    """A uuid[] literal of UUIDs (cast it: `%(name)s::uuid[]`). Django's client-side binding
    renders a list parameter element by element, some 2 µs per UUID or timestamp, a tenth of
    a sweep batch's Python time; their hex digits joined cost a seventh of that."""
    return "{" + ",".join([value.hex for value in values]) + "}"


def int_array(values: Sequence[int]) -> str:
    """A bigint[] literal of integers, none of them None or a bool (cast it: `%(name)s::bigint[]`):
    their digits joined, where `array_literal` quotes each distinct value (a column of ids)."""
    return "{" + ",".join(map(int.__repr__, values)) + "}"


def array_literal(values: Iterable[Any]) -> str:
    """An array literal of values that mostly repeat (one moment, a few types, one store): each
    distinct value rendered once (`isoformat` or `str`, quoted), as a text parameter to cast
    (`%(name)s::timestamptz[]`). None is NULL; booleans are t and f."""
    values = values if isinstance(values, list) else list(values)
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) > 1:
        return array_literal_mixed(values)
    # One type (and None): its equal values are the same element, so the values themselves are
    # the keys, and the join runs in C (a sweep batch's arrays: a third of the time).
    rendered = {value: _element(value) for value in dict.fromkeys(values)}
    return "{" + ",".join(map(rendered.__getitem__, values)) + "}"


def array_literal_mixed(values: Iterable[Any]) -> str:
    """`array_literal` of values of any types (the reference the one-type path is held to):
    equal values of different types (True and 1) are different elements."""
    rendered: dict[tuple, str] = {}
    parts = []
    for value in values:
        key = (value.__class__, value)  # True and 1 are equal keys, not the same element
        try:
            parts.append(rendered[key])
        except KeyError:
            rendered[key] = text = _element(value)
            parts.append(text)
    return "{" + ",".join(parts) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def insert_rows(model: type[Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert `rows` of plain values for the columns `attnames`; other columns take their defaults.

    Plain tuples skip building model instances. Rows written by COPY give no primary keys back.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=FALLBACK_BATCH
        )
        return
    fields = {field.attname: field for field in model._meta.concrete_fields}
    given = set(attnames)
    defaults = [
        (name, json_text(field.get_default()))
        for name, field in fields.items()
        if name not in given and not field.primary_key and field.db_default is NOT_PROVIDED
    ]
    columns = [*attnames, *(name for name, _ in defaults)]
    column_sql = ", ".join(connection.ops.quote_name(fields[name].column) for name in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    tail = [value for _, value in defaults]
    # Only the JSON columns need encoding. Testing every value cost 11 µs per 36-column row
    # (an abandoned checkout) against 1 µs for this, about 1.5 s of a 100,000-checkout sweep.
    json_positions = [index for index, name in enumerate(attnames) if isinstance(fields[name], JSONField)]
    # wrap_database_errors: a violated constraint raises Django's IntegrityError, as bulk_create would.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy,  # nosec B608
    ):
        for row in rows:
            values = [*row, *tail]
            for index in json_positions:
                values[index] = json_text(values[index])
            copy.write_row(values)


@cache
def _concrete_attnames(model: type[Model]) -> frozenset[str]:
    return frozenset(field.attname for field in model._meta.concrete_fields)


def instances_from_rows(
    model: type[Model],
    attnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    shared: dict[str, Any] | None = None,
    deferred: Collection[str] = (),
    fetch_mode: FetchMode | None = None,
) -> list[Model]:
    """Unsaved instances of `model` from rows of values for `attnames`, and the values `shared`
    by every row (immutable ones) for the other concrete fields: every field must be given,
    but for those `deferred`, which `fetch_mode` loads on first read (as a deferred field of a
    queryset's instance is).

    Model.__init__ costs some 30 µs for an abandoned checkout's 41 columns, most of a sweep
    row's Python time. With no init signal connected for the model, it would only set these
    same attributes on a fresh state, which this does in a fifth of the time.
    """
    shared = shared or {}
    given = [*attnames, *shared, *deferred]
    if len(given) != len(_concrete_attnames(model)) or _concrete_attnames(model) != set(given):
        raise ValueError(f"{model.__name__} rows must give every concrete field, once.")
    if deferred and fetch_mode is None:
        raise ValueError("Deferred fields need the fetch mode that loads them.")
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        if not deferred:
            return [model(**shared, **dict(zip(attnames, row, strict=True))) for row in rows]
        # Model.__init__ leaves a field out of the instance's dict, deferred, only given
        # positionally as DEFERRED (as `Model.from_db` does).
        fields = [field.attname for field in model._meta.concrete_fields]
        objs = []
        for row in rows:
            values = {**shared, **dict(zip(attnames, row, strict=True))}
            obj = model(*[values.get(name, DEFERRED) for name in fields])
            obj._state.fetch_mode = fetch_mode
            objs.append(obj)
        return objs
    new = object.__new__
    objs = []
    for row in rows:
        obj = new(model)
        values = obj.__dict__
        values.update(shared)
        values.update(zip(attnames, row, strict=True))
        obj._state = state = ModelState()
        if fetch_mode is not None:
            state.fetch_mode = fetch_mode
        objs.append(obj)
    return objs


def copy_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert column dicts keyed by attname (every dict with the same keys)."""
    if rows:
        attnames = list(rows[0])
        insert_rows(model, attnames, [[row[name] for name in attnames] for row in rows])


def instances_insert(model: type[Model], objs: Iterable[Model]) -> None:
    """Insert unsaved instances (primary keys set in Python, or left to the database)."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=FALLBACK_BATCH)
        return
    attnames = [
        field.attname
        for field in model._meta.concrete_fields
        if not (field.primary_key and getattr(objs[0], field.attname) is None)
    ]
    insert_rows(model, attnames, [[getattr(obj, name) for name in attnames] for obj in objs])
