"""Inserting many rows whose ids nobody needs back, as fast as the database allows."""

from collections.abc import Sequence

from django.db import connection, models


def rows_insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert `objects` (unsaved, ids left to the database).

    On PostgreSQL through COPY: the sweep's receiver writes thousands of rows per batch, and
    COPY costs about a third of a multi-row INSERT, whose parameters are quoted one by one.
    Elsewhere, bulk_create.
    """
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
