"""Fast multi-row inserts: COPY on PostgreSQL, bulk_create elsewhere.

The sweep writes thousands of abandoned checkouts, activities and outbox events per
transaction; Django's bulk_create spends most of that time adapting parameters, while
COPY streams the same rows several times faster. Both run inside the caller's transaction.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import Model

# Rows per bulk_create statement where COPY is not available (SQLite's variable limit).
FALLBACK_BATCH = 500


def _json_text(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        # orjson: the JSON columns of a sweep batch are most of its Python time.
        return orjson.dumps(value, default=str).decode()
    return value


def copy_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """COPY plain column dicts (keyed by attname) into the model's table.

    Columns a row leaves out get the field's default; an auto primary key is left to the
    database. PostgreSQL only.
    """
    if not rows:
        return
    fields = {field.attname: field for field in model._meta.concrete_fields}
    given = set(rows[0])
    defaults = {
        name: field.get_default()
        for name, field in fields.items()
        if name not in given and not (field.primary_key and field.get_default() is None)
    }
    columns = [*given, *defaults]
    column_sql = ", ".join(connection.ops.quote_name(fields[name].column) for name in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_json_text(row[name]) if name in row else _json_text(defaults[name]) for name in columns])


def bulk_insert(model: type[Model], objs: Iterable[Model]) -> None:
    """Insert unsaved instances (primary keys set in Python, or left to the database)."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=FALLBACK_BATCH)
        return
    names = [
        field.attname
        for field in model._meta.concrete_fields
        if not (field.primary_key and getattr(objs[0], field.attname) is None)
    ]
    copy_rows(model, [{name: getattr(obj, name) for name in names} for obj in objs])
