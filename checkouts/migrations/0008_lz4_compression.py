from django.db import migrations

from checkouts.migration_operations import SetCompression


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0007_erasure_record"),
    ]

    operations = [
        SetCompression("webhookevent", ["payload"]),
        SetCompression("checkout", ["line_items"]),
        SetCompression("abandonedcheckout", ["line_items"]),
    ]
