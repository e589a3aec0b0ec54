from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0016_admin_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="abandonedcheckout",
            name="wire",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="abandonedcheckout",
            name="wire_stamp",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddIndex(
            model_name="abandonedcheckout",
            index=models.Index(condition=models.Q(("wire_stamp", "")), fields=["id"], name="ac_wire_missing"),
        ),
    ]
