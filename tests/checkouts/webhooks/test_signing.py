"""What receivers verify: Standard Webhooks signatures (with the official library) and Wix JWT bodies."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from checkouts.models import WebhookDelivery
from checkouts.webhooks.services import webhook_endpoint_rotate_secret
from checkouts.webhooks.signing import secret_generate
from tests.factories import StoreFactory

from .helpers import abandoned, record, sweep, verified
from .receiver import Received

pytestmark = pytest.mark.django_db


def _tampered(request: Received) -> list[Received]:
    """The request with one byte changed in the body, the id, or the timestamp (each position tried)."""
    variants = []
    for index in range(0, len(request.body), max(1, len(request.body) // 40)):
        changed = bytearray(request.body)
        changed[index] = ord("x") if changed[index] != ord("x") else ord("y")
        variants.append(Received(request.path, request.headers, bytes(changed)))
    for header in ("webhook-id", "webhook-timestamp"):
        value = request.headers[header]
        for index in range(len(value)):
            swapped = "7" if value[index] != "7" else "3"
            headers = {**request.headers, header: value[:index] + swapped + value[index + 1 :]}
            variants.append(Received(request.path, headers, request.body))
    return variants


def test_the_secret_is_whsec_and_32_random_bytes():
    secret = secret_generate()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != secret_generate()


def test_every_standard_delivery_verifies_and_any_changed_byte_fails(store, endpoint, receiver):
    ac = abandoned(store, first_name="Zoë", last_name="Ångström")  # non-ASCII survives as exact UTF-8 bytes
    record(ac, "created", 1)
    record(ac, "updated", 2)
    for _ in range(20):
        record(abandoned(store))
    while sweep():
        pass

    assert len(receiver.received) == 22
    tampered = 0
    for request in receiver.received:
        assert request.headers["content-type"] == "application/json"
        payload = verified(endpoint.secret, request)
        assert request.headers["webhook-id"] == payload["id"]
        assert request.headers["webhook-signature"].startswith("v1,")
        for variant in _tampered(request):
            # A changed byte inside a multi-byte character fails even earlier, as invalid UTF-8.
            with pytest.raises((WebhookVerificationError, UnicodeDecodeError)):
                verified(endpoint.secret, variant)
            tampered += 1
    assert tampered > 22 * 40
    assert json.loads(receiver.received[0].body)["createdEvent"]["entity"]["contactDetails"]["lastName"] == "Ångström"
    with pytest.raises(WebhookVerificationError):
        verified(secret_generate(), receiver.received[0])


def test_during_a_rotation_both_secrets_verify_for_24_hours(store, endpoint, receiver):
    old = endpoint.secret
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        webhook_endpoint_rotate_secret(endpoint=endpoint)
    new = endpoint.secret
    assert new != old

    for offset in (timedelta(0), timedelta(hours=12), timedelta(hours=23, minutes=59)):
        with time_machine.travel(start + offset, tick=False):
            record(abandoned(store))
            sweep()
            request = receiver.received[-1]
            assert len(request.headers["webhook-signature"].split(" ")) == 2
            assert verified(old, request) == verified(new, request)

    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        record(abandoned(store))
        sweep()
        request = receiver.received[-1]
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        verified(new, request)
        with pytest.raises(WebhookVerificationError):
            verified(old, request)


def test_wix_jwt_bodies_verify_with_the_stores_public_key_and_nest_like_wix(store, wix_endpoint, receiver):
    ac = abandoned(store)
    created, recovered = record(ac, "created", 1), record(ac, "recovered", 2)
    while sweep():
        pass

    assert len(receiver.received) == 2
    for request, event in zip(receiver.received, (created, recovered), strict=True):
        assert request.headers["content-type"].startswith("text/plain")
        claims = jwt.decode(request.body, store.webhook_public_key, algorithms=["RS256"])
        assert claims["exp"] > claims["iat"]
        envelope = json.loads(claims["data"])
        assert envelope["eventType"] == f"wix.ecom.v1.abandoned_checkout_{event.type}"
        assert envelope["instanceId"] == str(store.pk)
        assert json.loads(envelope["identity"]) == {"identityType": "APP", "appId": settings.COMEBACK_WEBHOOK_APP_ID}
        domain_event = json.loads(envelope["data"])
        assert domain_event == event.payload
        assert domain_event["entityFqdn"] == "wix.ecom.v1.abandoned_checkout"
    recovered_claims = jwt.decode(receiver.received[1].body, store.webhook_public_key, algorithms=["RS256"])
    recovered_event = json.loads(json.loads(recovered_claims["data"])["data"])
    assert recovered_event["actionEvent"]["body"]["abandonedCheckout"]["id"] == str(ac.pk)
    # Another store's key does not verify this store's deliveries.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(receiver.received[0].body, StoreFactory().webhook_public_key, algorithms=["RS256"])
    assert WebhookDelivery.objects.filter(state="succeeded").count() == 2
