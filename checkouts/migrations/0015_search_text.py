"""The list's search column (checkouts.search_text), filled for existing rows, and on PostgreSQL
a pg_trgm GIN index so "contains" stays an index lookup in a large store."""

import re
import unicodedata

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# Rows read and written per round: a bounded amount of memory whatever the table's size.
BATCH = 2000
INDEX = "ac_search_trgm"


# A copy of checkouts.search_text as of this migration: a migration must not change with the code.
def _fold(text):
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text or "").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(value):
    folded = _fold(value).strip()
    if not folded:
        return []
    return [folded, *(folded[m.end() :] for m in re.finditer(r"[\s.@_+'-]+", folded) if m.end() < len(folded))]


def _text(first_name, last_name, buyer_email, phone, order_id):
    words = [*_words(first_name), *_words(last_name), *_words(buyer_email), *_words(order_id)]
    return "".join(f" {word}" for word in [*words, re.sub(r"\D+", "", phone or "")] if word)


def fill(apps, schema_editor):
    for model_name, order_field in (("Checkout", "order_id"), ("AbandonedCheckout", "recovered_order_id")):
        model = apps.get_model("checkouts", model_name)
        last = None
        while True:
            rows = model.objects.order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows.values_list("pk", "first_name", "last_name", "buyer_email", "phone", order_field)[:BATCH])
            if not batch:
                break
            model.objects.bulk_update(
                [model(pk=row[0], search_text=_text(*row[1:])) for row in batch], ["search_text"], batch_size=500
            )
            last = batch[-1][0]


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON checkouts_abandonedcheckout USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0014_shipping_tax_timeline"),
    ]

    operations = [
        migrations.AddField(
            model_name="abandonedcheckout",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="checkout",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        # A no-op on other databases; pg_trgm is a trusted extension (PostgreSQL 13+).
        TrigramExtension(),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_index, drop_index),
    ]
