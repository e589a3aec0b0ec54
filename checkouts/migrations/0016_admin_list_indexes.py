"""The admin's lists newest first (abandoned checkouts of all stores, checkouts and activities per
store): an index range instead of a sort."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0015_search_text"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="abandonedcheckout",
            index=models.Index(
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="ac_created",
            ),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                models.F("store"),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="activity_store_created",
            ),
        ),
        migrations.AddIndex(
            model_name="checkout",
            index=models.Index(
                models.F("store"),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="checkout_store_created",
            ),
        ),
    ]
