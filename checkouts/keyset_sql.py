"""A keyset page of one scope's rows as plain tuples, through SQL built once per page shape.

An API page with no filter (an app paging through a store's checkouts: the commonest request)
is `SELECT <columns> FROM <table> WHERE <scope> = %s AND <after the position> ORDER BY <keys>
LIMIT n`. Building that through the ORM (a QuerySet, its Q objects, the compiler) cost about
0.8 ms of CPU per request, as much again as running the statement and reading its 101 rows. The
statement depends only on the page's shape (the columns, the sort, the direction, the limit), so
it is built here once per shape and kept; each request prepares its few parameters with the
model's fields, as the ORM would, and runs it.

The SQL is what `checkouts.pagination.keyset_page` has the ORM write, condition for condition
(tests/checkouts/test_keyset_sql.py compares the pages), and rows come back as `.values_list()`
gives them (the backend's converters applied: SQLite's text dates and uuids).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connections
from django.db.models import Field, Model, QuerySet
from django.db.models.fields.related_lookups import RelatedExact
from django.db.models.sql.where import AND

from .pagination import Cursor, KeysetPage, SortKey


@dataclass(frozen=True)
class KeysetStatement:
    sql: str
    scope_field: Field
    # For each placeholder after the scope's: which sort key's value it takes, and that key's field.
    slots: tuple[int, ...]
    fields: tuple[Field, ...]
    compiler: Any  # the compiler of `.values_list(*columns)`, whose converters the rows go through
    converters: dict


def scoped_to(queryset: QuerySet, field: str, value: Any) -> bool:
    """True when `queryset` is exactly `Model.objects.filter(<field>=value)`: no other condition,
    join, annotation, distinct, extra or slice (then its page can be read by `keyset_rows`)."""
    query = queryset.query
    where = query.where
    if where.connector != AND or where.negated or len(where.children) != 1:
        return False
    if query.annotations or query.distinct or query.extra or query.low_mark or query.high_mark is not None:
        return False
    (lookup,) = where.children
    return (
        type(lookup) is RelatedExact
        and getattr(lookup.lhs, "target", None) is queryset.model._meta.get_field(field)
        and lookup.rhs == value
    )


def keyset_rows(
    model: type[Model],
    *,
    scope: str,
    value: Any,
    columns: Sequence[str],
    keys: list[SortKey],
    limit: int,
    cursor: Cursor | None,
    using: str = "default",
) -> KeysetPage | None:
    """The page `KeysetPager.page` reads from `model.objects.filter(<scope>=value).values_list(*columns)`,
    or None when this shape is not one built here (then the caller asks the ORM): a position
    holding None, a sort key that is not a plain column of `model`."""
    position = cursor.position if cursor is not None else None
    if position is not None and any(item is None for item in position):
        return None  # the ORM turns `= None` into IS NULL and refuses `< None`: its rules, not ours
    direction = None if cursor is None else cursor.backward
    connection = connections[using]  # this thread's: the cached converters are bound to it
    statement = _statement(model, scope, tuple(columns), tuple(keys), direction, limit, connection)
    if statement is None:
        return None
    params = [statement.scope_field.get_db_prep_value(value, connection)]
    params += [
        field.get_db_prep_value(position[slot], connection)
        for slot, field in zip(statement.slots, statement.fields, strict=True)
    ]
    with connection.cursor() as sql_cursor:
        sql_cursor.execute(statement.sql, params)
        rows = sql_cursor.fetchall()
    if statement.converters:
        rows = [tuple(row) for row in statement.compiler.apply_converters(rows, statement.converters)]
    if direction:  # backward: read in the reverse order, handed out in the page's
        items = rows[:limit]
        items.reverse()
        return KeysetPage(items, keys, has_next=True, has_previous=len(rows) > limit)
    return KeysetPage(rows[:limit], keys, has_next=len(rows) > limit, has_previous=direction is not None)


@lru_cache(maxsize=256)
def _statement(
    model: type[Model],
    scope: str,
    columns: tuple[str, ...],
    keys: tuple[SortKey, ...],
    backward,
    limit: int,
    connection,
) -> KeysetStatement | None:
    meta = model._meta
    quote = connection.ops.quote_name
    try:
        scope_field = meta.get_field(scope)
        key_fields = [meta.get_field(key.field) for key in keys]
        for name in columns:
            meta.get_field(name)
    except Exception:  # FieldDoesNotExist, or a name the ORM reads through a relation
        return None
    if not all(field.concrete and not field.is_relation for field in key_fields) or not scope_field.concrete:
        return None
    table = quote(meta.db_table)

    def column(field: Field) -> str:
        return f"{table}.{quote(field.column)}"

    # Backward pages walk the reverse order from the position, as `keyset_page` does.
    order = [SortKey(key.field, not key.descending) if backward else key for key in keys]
    where = [f"{column(scope_field)} = %s"]
    slots: list[int] = []
    if backward is not None:
        # Rows strictly after the position: `first <=/>= v0 AND (first </> v0 OR (first = v0 AND ...))`,
        # the leading range that lets the index be walked from the position (pagination._after).
        condition = ""
        for index in range(len(order) - 1, -1, -1):
            beyond = f"{column(key_fields[index])} {'<' if order[index].descending else '>'} %s"
            if index == len(order) - 1:
                condition, inner_slots = beyond, [index]
            else:
                condition = f"({beyond} OR ({column(key_fields[index])} = %s AND {condition}))"
                inner_slots = [index, index, *inner_slots]
        where.append(f"{column(key_fields[0])} {'<=' if order[0].descending else '>='} %s")
        where.append(condition)
        slots = [0, *inner_slots]
    ordering = ", ".join(
        f"{column(field)} {'DESC' if key.descending else 'ASC'}" for key, field in zip(order, key_fields, strict=True)
    )
    select = ", ".join(column(meta.get_field(name)) for name in columns)
    # Names from the model's metadata, quoted; every value is a parameter.
    sql = (
        f"SELECT {select} FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608  # nosec B608
        f"ORDER BY {ordering} LIMIT {int(limit) + 1}"
    )
    compiler = model._default_manager.values_list(*columns).query.get_compiler(connection=connection)
    compiler.setup_query()
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select[: compiler.col_count]])
    return KeysetStatement(
        sql, scope_field, tuple(slots), tuple(key_fields[slot] for slot in slots), compiler, converters
    )
