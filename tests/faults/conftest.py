"""Fault tests: real processes, real outages. PostgreSQL only (the `postgres` marker skips them on SQLite)."""

import pytest

from automations.models import Automation, ContactPolicy
from checkouts.models import WebhookEndpoint
from checkouts.webhooks.services import webhook_endpoint_create
from tests.checkouts.webhooks.receiver import Receiver
from tests.factories import AutomationFactory, AutomationStepFactory, StoreFactory
from tests.smtp import SmtpSink


@pytest.fixture
def smtp():
    with SmtpSink(delay=0.02) as sink:
        yield sink


@pytest.fixture
def receiver():
    with Receiver(delay=0.02) as hooks:
        yield hooks


@pytest.fixture
def shop(receiver, settings):
    """A store whose automation emails the buyer as soon as a checkout is abandoned, with a webhook endpoint."""
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    store = StoreFactory()
    # The faults run at any hour and email buyers again and again: no quiet hours, no frequency cap.
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    Automation.objects.filter(store=store).delete()
    automation = AutomationFactory(store=store)
    AutomationStepFactory(automation=automation, position=1, delay_value=0, delay_unit="MINUTES")
    webhook_endpoint_create(
        store=store,
        url=receiver.url,
        event_types=["created", "recovered", "updated"],
        format=WebhookEndpoint.Format.STANDARD,
    )
    return store
