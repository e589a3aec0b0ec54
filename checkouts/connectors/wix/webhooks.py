"""Wix webhooks: a JWT body signed RS256 with the app's key, an envelope, a domain event (reference §4).

`wix_delivery` verifies the raw body against the public key the merchant pasted and unwraps it
into a `Delivery`: the event id (the de-duplication key), its type and the checkout events it
means. Nothing here writes; the view hands the result to the services.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from rest_framework import serializers

from ...api.legacy import (
    CartAbandonedEventSerializer,
    CartRecoveredEventSerializer,
    cart_abandoned_to_event,
    cart_recovered_to_event,
)
from ...ingest_serializers import field_violations
from ...models import Store
from .mapping import NotMappable, abandoned_checkout_events, checkout_id

CREATED = "wix.ecom.v1.abandoned_checkout_created"
UPDATED = "wix.ecom.v1.abandoned_checkout_updated"
RECOVERED = "wix.ecom.v1.abandoned_checkout_recovered"
DELETED = "wix.ecom.v1.abandoned_checkout_deleted"
# The legacy Wix Stores cart events, by the names Wix's webhooks and SDK gave them.
CART_ABANDONED = ("com.wix.ecommerce.cart.CartAbandonedEvent", "wix.stores.v1.cart_abandoned", "CartAbandoned")
CART_RECOVERED = ("com.wix.ecommerce.cart.CartRecoveredEvent", "wix.stores.v1.cart_recovered", "CartRecovered")


class BadSignature(Exception):
    """The body is not a JWT signed by this connection's key (or has expired): 401, nothing written."""


class BadPayload(Exception):
    """Signed, but not an event Comeback can read: 400 naming the field, nothing written."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Delivery:
    event_id: str
    event_type: str
    instance_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    # checkout id → when Wix abandoned it, for a checkout Wix reports as abandoned.
    abandoned: dict[str, datetime] = field(default_factory=dict)
    # checkout id → Wix's activity log for it.
    activities: dict[str, list] = field(default_factory=dict)


def public_key(text: str):
    """The key the merchant pasted: a PEM, or that PEM base64-encoded on one line (as Wix's SDK accepts)."""
    text = text.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = base64.b64decode(text, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("The public key is neither a PEM nor a base64-encoded PEM.") from exc
    return load_pem_public_key(text.encode())


def wix_delivery(raw: bytes, *, pem: str, store: Store) -> Delivery:
    try:
        key = public_key(pem)
    except ValueError as exc:
        raise BadSignature("This connection has no valid Wix public key yet.") from exc
    try:
        claims = jwt.decode(raw.strip(), key, algorithms=["RS256"], options={"verify_aud": False})
    except jwt.InvalidTokenError as exc:
        raise BadSignature(f"The webhook's signature could not be verified ({exc}).") from exc
    return _delivery(claims, store=store)


def wix_delivery_stored(body: str, *, store: Store) -> Delivery:
    """A delivery the receiver verified and stored in the inbox, unwrapped again for the drain.

    The signature was checked before the body was stored (and its expiry with it), so it is not
    checked again: a drain running after the token's `exp` must still take it.
    """
    try:
        claims = jwt.decode(body, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise BadPayload("body", f"The stored webhook is not a JWT ({exc}).") from exc
    return _delivery(claims, store=store)


def _delivery(claims: dict, *, store: Store) -> Delivery:
    envelope = _json(claims.get("data"), "data")
    event_type = envelope.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise BadPayload("data.eventType", "is required.")
    event = _json(envelope.get("data"), "data.data")
    event_id = event.get("id") or event.get("eventId")
    if not isinstance(event_id, str) or not event_id:
        raise BadPayload("data.data.id", "the event id is required.")
    delivery = Delivery(event_id=event_id, event_type=event_type, instance_id=str(envelope.get("instanceId") or ""))
    try:
        _map(delivery, event, store=store)
    except NotMappable as exc:
        raise BadPayload("data.data", str(exc)) from exc
    return delivery


def _map(delivery: Delivery, event: dict, *, store: Store) -> None:
    kind = delivery.event_type
    if kind in (CREATED, UPDATED, RECOVERED):
        entity = _entity(event)
        delivery.events, created = abandoned_checkout_events(entity)
        delivery.abandoned[checkout_id(entity)] = created
        delivery.activities[checkout_id(entity)] = entity.get("activities") or []
    elif kind in CART_ABANDONED:
        data = _legacy(CartAbandonedEventSerializer, event)
        delivery.events = [cart_abandoned_to_event(data, store=store)]
        delivery.abandoned[data["cartId"]] = data["abandonTime"]
    elif kind in CART_RECOVERED:
        data = _legacy(CartRecoveredEventSerializer, event)
        # Recovery needs the abandonment first: a cart Comeback never saw abandoned is abandoned then.
        delivery.events = [cart_recovered_to_event(data, store=store)]
    # Anything else (deleted, other topics the app subscribed to) is acknowledged and ignored.


def _entity(event: dict) -> Any:
    for path in (("createdEvent", "entity"), ("updatedEvent", "currentEntity"), ("actionEvent", "body")):
        body = (event.get(path[0]) or {}).get(path[1])
        if body is None:
            # Older examples name the bodies entityAsJson / bodyAsJson, as JSON text.
            text = (event.get(path[0]) or {}).get(f"{path[1]}AsJson")
            body = _json(text, f"data.data.{path[0]}.{path[1]}AsJson") if text else None
        if body is not None:
            return body.get("abandonedCheckout", body) if path[1] == "body" else body
    raise NotMappable("the event carries no abandoned checkout (createdEvent, updatedEvent or actionEvent).")


def _legacy(serializer_class: type[serializers.Serializer], event: dict) -> dict:
    body = event.get("actionEvent", {}).get("body") if isinstance(event.get("actionEvent"), dict) else None
    serializer = serializer_class(data=body if isinstance(body, dict) else event)
    if not serializer.is_valid():
        first = field_violations(serializer.errors)[0]
        raise BadPayload(f"data.data.{first['field']}", first["description"])
    return serializer.validated_data


def _json(value: Any, field_name: str) -> dict:
    """Wix nests JSON as text (data, data.data); a dict is taken as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadPayload(field_name, "is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise BadPayload(field_name, "must be a JSON object.")
    return value
