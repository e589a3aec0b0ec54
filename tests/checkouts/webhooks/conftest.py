import pytest

from checkouts.models import Membership, WebhookEndpoint
from checkouts.webhooks.services import webhook_endpoint_create
from tests.factories import MembershipFactory, UserFactory

from .receiver import Receiver

ALL_EVENTS = ["created", "updated", "deleted", "recovered"]


@pytest.fixture
def allow_loopback(settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def receiver(allow_loopback):
    with Receiver() as running:
        yield running


@pytest.fixture
def endpoint(store, receiver):
    return webhook_endpoint_create(
        store=store, url=receiver.url, event_types=ALL_EVENTS, format=WebhookEndpoint.Format.STANDARD
    )


@pytest.fixture
def wix_endpoint(store, receiver):
    return webhook_endpoint_create(
        store=store, url=receiver.url + "/wix", event_types=ALL_EVENTS, format=WebhookEndpoint.Format.WIX_JWT
    )


@pytest.fixture
def manager_client(client, store):
    user = MembershipFactory(store=store, user=UserFactory(username="manager"), role=Membership.Role.MANAGER).user
    client.force_login(user)
    return client
