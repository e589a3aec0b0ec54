from django.db import migrations

from checkouts.migration_operations import SetCompression


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0003_send_receipt"),
        ("checkouts", "0008_lz4_compression"),
    ]

    operations = [
        SetCompression("sentemail", ["text_body", "html_body"]),
    ]
