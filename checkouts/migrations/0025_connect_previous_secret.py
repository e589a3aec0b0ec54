"""A Shopify connection keeps its replaced client secret for an hour (Shopify may still sign with it), and
checkouts are indexed by cart id, for an order that names its cart but not its checkout.
"""

import checkouts.encryption
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkouts", "0024_connect_inbox_payload_token_rotation"),
    ]

    operations = [
        migrations.AddField(
            model_name="connection",
            name="previous_secret",
            field=checkouts.encryption.EncryptedTextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="connection",
            name="previous_secret_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="checkout",
            index=models.Index(
                condition=models.Q(("cart_id", ""), _negated=True),
                fields=["store", "cart_id"],
                name="checkout_store_cart",
            ),
        ),
    ]
