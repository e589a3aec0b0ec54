"""The public addresses platforms deliver to: verify the signature on the raw body, map, hand to ingest.

A bad signature is a 401 and a body Comeback cannot read a 400, both with nothing written; a replay
or a paused connection is a 200 that changes nothing, so the platform stops retrying.
"""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..models import Connection
from ..services.connections import DeliveryRefused, connection_delivery_accept, connection_error_record
from . import shopify
from .mapping import Malformed


def refusal(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"field": field, "message": message}}, status=status)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("body", "Not valid JSON.") from None


def accept(*, connection: Connection, delivery_id: str, topic: str, events: list[dict[str, Any]]) -> JsonResponse:
    if not connection.is_active:
        return JsonResponse({"accepted": 0, "note": "This connection is paused: the delivery was ignored."})
    try:
        results = connection_delivery_accept(connection=connection, delivery_id=delivery_id, topic=topic, events=events)
    except DeliveryRefused as refused:
        violation = (refused.results[0].violations or [{}])[0]
        return refusal(400, violation.get("field", "body"), str(refused))
    if results is None:
        return JsonResponse({"accepted": 0, "note": "Already received."})
    return JsonResponse({"accepted": len(results)})


@method_decorator(csrf_exempt, name="dispatch")
class ShopifyWebhookView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, token: str):
        connection = get_object_or_404(Connection.objects.filter(platform=Connection.Platform.SHOPIFY), token=token)
        raw = request.body
        header = request.headers.get("X-Shopify-Hmac-Sha256") or request.headers.get("Shopify-Hmac-Sha256")
        if not shopify.signature_ok(raw=raw, header=header, secrets=[connection.secret]):
            connection_error_record(
                connection=connection,
                message="A webhook's signature did not match the client secret: check the secret pasted here.",
            )
            return refusal(401, "X-Shopify-Hmac-Sha256", "The signature does not match this connection's secret.")
        topic = request.headers.get("X-Shopify-Topic") or request.headers.get("Shopify-Topic") or ""
        webhook_id = request.headers.get("X-Shopify-Webhook-Id") or request.headers.get("Shopify-Webhook-Id") or ""
        if topic not in shopify.TOPICS:
            return refusal(400, "X-Shopify-Topic", f"Expected one of {', '.join(shopify.TOPICS)}.")
        if not webhook_id:
            return refusal(400, "X-Shopify-Webhook-Id", "Required.")
        try:
            events = shopify.events_for(topic=topic, payload=parse_json(raw), webhook_id=webhook_id)
        except Malformed as exc:
            return refusal(400, exc.field, exc.message)
        return accept(connection=connection, delivery_id=webhook_id, topic=topic, events=events)
