"""Wix webhook bodies built from Wix's documented shapes (connectors reference §1.5-1.6), signed like Wix signs them."""

import json
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, pem


def entity(ac_id="ac-1", cart="cart-1", status="ABANDONED", created="2026-03-01T10:00:00.000Z", **extra) -> dict:
    body = {
        "id": ac_id,
        "checkoutId": "co-1",
        "cartId": cart,
        "status": status,
        "createdDate": created,
        "updatedDate": extra.pop("updated", created),
        "buyerLanguage": "en",
        "buyerInfo": {"visitorId": "v-1", "email": "ana@example.com"},
        "contactDetails": {"firstName": "Ana", "lastName": "Lima", "phone": "+351900000000"},
        "currency": "EUR",
        "conversionCurrency": "EUR",
        "subtotalPrice": {"amount": "40.00", "convertedAmount": "40.00", "formattedAmount": "€40.00"},
        "totalPrice": {"amount": "42.50", "convertedAmount": "42.50", "formattedAmount": "€42.50"},
        "lineItems": [
            {
                "id": "li-1",
                "quantity": 2,
                "productName": {"original": "Mug"},
                "catalogReference": {"catalogItemId": "p-1"},
                "price": {"amount": "20.00"},
                "physicalProperties": {"sku": "MUG-1"},
                "image": {"id": "11062b_aa~mv2.jpg", "url": "https://static.wixstatic.com/media/11062b_aa~mv2.jpg"},
            }
        ],
        "appliedDiscounts": [],
        "activities": [],
        "checkoutUrl": "https://www.wixapis.com/ecom/v1/abandoned-checkout/ac-1/redirect-to-checkout?metasiteId=s-1",
    }
    return body | extra


def created_event(event_id="evt-1", **kwargs) -> tuple[str, dict]:
    ac = entity(**kwargs)
    return "wix.ecom.v1.abandoned_checkout_created", {
        "id": event_id,
        "entityFqdn": "wix.ecom.v1.abandoned_checkout",
        "slug": "created",
        "entityId": ac["id"],
        "eventTime": ac["createdDate"],
        "entityEventSequence": "1",
        "createdEvent": {"entity": ac},
    }


def recovered_event(event_id="evt-2", recovered="2026-03-01T12:00:00.000Z", **kwargs) -> tuple[str, dict]:
    ac = entity(status="RECOVERED", updated=recovered, checkoutRecoveredDate=recovered, **kwargs)
    return "wix.ecom.v1.abandoned_checkout_recovered", {
        "id": event_id,
        "entityFqdn": "wix.ecom.v1.abandoned_checkout",
        "slug": "recovered",
        "entityId": ac["id"],
        "eventTime": recovered,
        "entityEventSequence": "3",
        "actionEvent": {"body": {"abandonedCheckout": ac}},
    }


def signed(private, event_type: str, event: dict, instance_id: str = "inst-1", **claims) -> bytes:
    envelope = {
        "eventType": event_type,
        "instanceId": instance_id,
        "data": json.dumps(event),
        "identity": json.dumps({"identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": "v-1"}),
    }
    now = datetime.now(UTC)
    payload = {"data": json.dumps(envelope), "iat": now, "exp": now + timedelta(seconds=300_000), **claims}
    return jwt.encode(payload, private, algorithm="RS256", headers={"kid": "k-1"}).encode()
