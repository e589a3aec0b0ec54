"""What goes on the wire: the body bytes and the headers of one attempt, in either format.

`standard` follows the Standard Webhooks spec: the body is the JSON of the Wix domain
event, signed as `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 under each
active secret. `wix-jwt` is what Wix itself sends: an RS256 JWT whose `data` claim is a
JSON string holding `eventType`, `instanceId`, `data` (the domain event, again a JSON
string) and `identity` (a JSON string), which `client.webhooks.process(body)` of @wix/sdk
verifies with the store's public key and hands to the typed event handlers.
"""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from ..models import Store, WebhookEndpoint

# How long a wix-jwt body stays valid after it is signed; each attempt signs afresh.
JWT_LIFETIME_SECONDS = 3600
USER_AGENT = "Comeback-Webhooks/1.0"


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


def secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64)."""
    return WebhookEndpoint.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(WebhookEndpoint.SECRET_PREFIX))


def json_bytes(payload: dict[str, Any]) -> bytes:
    """The one serialisation of a payload: compact, UTF-8. The signature covers exactly these bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def standard_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_request(
    *, endpoint: WebhookEndpoint, msg_id: str, payload: dict[str, Any], now: datetime
) -> SignedRequest:
    body = json_bytes(payload)
    timestamp = int(now.timestamp())
    signatures = [
        standard_signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
        for secret in endpoint.signing_secrets(now)
    ]
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
    return SignedRequest(body=body, headers=headers)


@lru_cache(maxsize=64)
def _private_key(pem: str):
    # Loading checks the RSA key's consistency, which costs milliseconds: do it once per key.
    return serialization.load_pem_private_key(pem.encode(), password=None)


def wix_envelope(*, store_id: str, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The decoded `data` claim of a Wix webhook JWT (before it is turned into a string)."""
    return {
        "eventType": event_type,
        "instanceId": store_id,
        "data": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        "identity": json.dumps({"identityType": "APP", "appId": settings.COMEBACK_WEBHOOK_APP_ID}),
        "accountInfo": {"siteId": store_id},
    }


def wix_jwt_request(
    *, store: Store, msg_id: str, event_type: str, payload: dict[str, Any], now: datetime
) -> SignedRequest:
    envelope = wix_envelope(store_id=str(store.pk), event_type=event_type, payload=payload)
    issued = int(now.timestamp())
    claims = {
        "data": json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),
        "iat": issued,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    token = jwt.encode(claims, _private_key(store.webhook_private_key), algorithm="RS256")
    headers = {
        "content-type": "text/plain; charset=utf-8",
        "webhook-id": msg_id,
        "webhook-timestamp": str(issued),
    }
    return SignedRequest(body=token.encode(), headers=headers)


def signed_request(
    *, endpoint: WebhookEndpoint, store: Store, msg_id: str, event_type: str, payload: dict[str, Any], now: datetime
) -> SignedRequest:
    """The body and headers of one attempt; `msg_id` (the event id) is the same on every retry."""
    if endpoint.format == WebhookEndpoint.Format.WIX_JWT:
        request = wix_jwt_request(store=store, msg_id=msg_id, event_type=event_type, payload=payload, now=now)
    else:
        request = standard_request(endpoint=endpoint, msg_id=msg_id, payload=payload, now=now)
    request.headers["user-agent"] = USER_AGENT
    return request
