"""Ingested events' pages keep half their room free: writing a batch's outcomes stays on the page.

An ingest batch inserts its event rows (outcome PENDING) and, once applied, updates their
outcome. On full pages (PostgreSQL's default fillfactor, 100) nearly every such update moved
the row to another page and added a new entry to both of the table's indexes (in the bench:
447 of 304,873 updates stayed on their page). With half of each page free every outcome update
is a heap-only tuple update, no index entry added: about a tenth less PostgreSQL CPU an event,
and the indexes grow by one entry an event instead of two. Existing pages keep their layout
until rewritten; new ones follow the setting.
"""

from django.db import migrations

TABLE = "checkouts_ingestedevent"


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0026_connect_receipt_lean"),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
