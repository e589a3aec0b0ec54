"""Set up the load test's store after `seed_demo`: fast abandonment, a webhook endpoint, API keys.

Run by tests/load/run.py in the server's environment (it needs Django settings and the
database); prints one JSON object with what the locustfile needs.
"""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import django

django.setup()

from automations.models import AutomationStep  # noqa: E402
from checkouts.models import Store, WebhookEvent  # noqa: E402
from checkouts.services import api_key_create, store_update  # noqa: E402
from checkouts.webhooks.services import webhook_endpoint_create  # noqa: E402


def main(receiver_url: str) -> None:
    store = Store.objects.get()
    # A minute (the least a store allows) instead of an hour: the sweep turns the run's idle
    # checkouts over while the load is still on.
    store_update(store=store, abandon_after=timedelta(minutes=1))
    # The default automation emails the buyer at once instead of an hour later, so the
    # dispatcher and the mailer work during the run.
    AutomationStep.objects.filter(automation__store=store).update(delay_value=0, delay_unit=AutomationStep.Unit.MINUTES)
    webhook_endpoint_create(
        store=store,
        url=receiver_url,
        event_types=list(WebhookEvent.Type.values),
        format="standard",
        description="load test receiver",
    )
    _, ingest_key = api_key_create(store=store, name="load: storefront", scopes=["ingest"])
    _, read_key = api_key_create(store=store, name="load: app", scopes=["read"])
    print(json.dumps({"store_id": str(store.pk), "ingest_key": ingest_key, "read_key": read_key}))


if __name__ == "__main__":
    main(sys.argv[1])
