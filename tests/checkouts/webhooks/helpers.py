"""Building outbox events and reading what a receiver got."""

import json
from datetime import UTC, datetime

import time_machine
from standardwebhooks import Webhook

from checkouts.models import AbandonedCheckout, Store, WebhookDelivery, WebhookEvent
from checkouts.services import webhook_event_build, webhook_events_record
from checkouts.webhooks.tasks import webhook_deliveries_dispatch_task
from tests.factories import AbandonedCheckoutFactory

from .receiver import Received


def abandoned(store: Store, **fields) -> AbandonedCheckout:
    return AbandonedCheckoutFactory(store=store, event_sequence=1, **fields)


def record(ac: AbandonedCheckout, slug: str = "created", sequence: int = 1) -> WebhookEvent:
    """Write one outbox event (and so its deliveries), as the lifecycle services do."""
    (event,) = webhook_events_record(
        [webhook_event_build(abandoned_checkout=ac, slug=slug, sequence=sequence, activities=[])]
    )
    return event


def sweep() -> int:
    """Run the beat sweeper once, in-process (tasks are eager in tests)."""
    return webhook_deliveries_dispatch_task()


def verified(secret: str, request: Received) -> dict:
    """The payload, if the Standard Webhooks library accepts the request; raises otherwise."""
    return Webhook(secret).verify(request.body, request.headers)


def verified_on_arrival(secret: str, request: Received) -> dict:
    """Verify as the receiver did when the request arrived (its clock at the attempt's timestamp)."""
    arrived = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    with time_machine.travel(arrived, tick=False):
        return verified(secret, request)


def body(request: Received) -> dict:
    return json.loads(request.body)


def delivery_for(event: WebhookEvent) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)
