"""Unsubscribes are looked up by a keyed hash of the address, so an erased buyer's can drop the address."""

from django.db import migrations, models


def hash_addresses(apps, schema_editor):
    from checkouts.models.privacy import email_digest

    Unsubscribe = apps.get_model("automations", "Unsubscribe")
    for row in Unsubscribe.objects.exclude(email="").only("pk", "email").iterator(chunk_size=2000):
        Unsubscribe.objects.filter(pk=row.pk).update(email_hash=email_digest(row.email))


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_automations"),
    ]

    operations = [
        migrations.AddField(
            model_name="unsubscribe",
            name="email_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(hash_addresses, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint(model_name="unsubscribe", name="unsubscribe_once_per_store"),
        migrations.AlterField(
            model_name="unsubscribe",
            name="email",
            field=models.CharField(blank=True, max_length=254),
        ),
        migrations.AddConstraint(
            model_name="unsubscribe",
            constraint=models.UniqueConstraint(fields=("store", "email_hash"), name="unsubscribe_once_per_store"),
        ),
    ]
