"""The public addresses platforms deliver to: verify the signature on the raw body, map, store for ingest.

A bad signature is a 401 and a body Comeback cannot read a 400, both with nothing written; a replay
or a paused connection is a 200 that changes nothing, so the platform stops retrying. A good delivery
is stored in the inbox in one insert and answered at once; the drain ingests it behind
(`services.connection_inbox`), so a burst from a platform never times out its retries.
"""

import hashlib
from typing import Any

import orjson
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from config.client_ip import client_ip
from config.ratelimit import CACHE_DOWN, sliding_window_hit

from ..models import Connection
from ..services.connection_inbox import (
    DeliveryMalformed,
    connection_delivery_enqueue,
    connection_payload_enqueue,
    connection_payload_enqueue_if_current,
)
from ..services.connections import connection_error_record
from . import browser, saleor, shopify
from .mapping import Malformed
from .selectors import (
    ReceiverConnection,
    receiver_connection,
    receiver_connection_forget,
    receiver_connection_remembered,
)


def refusal(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse(_refused(field, message), status=status)


def parse_json(raw: bytes) -> Any:
    # orjson: RFC 8259 JSON in UTF-8, which is what every platform sends; about 7x the standard
    # library's speed on a 100-item Shopify body (it refuses NaN, Infinity and a byte-order mark,
    # which the standard library would take: a 400 here, never a body the drain cannot read).
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Malformed("body", "Not valid JSON.") from None


def accept(*, connection: Connection, delivery_id: str, topic: str, events: list[dict[str, Any]]) -> JsonResponse:
    if not connection.is_active:
        return JsonResponse({"accepted": 0, "note": "This connection is paused: the delivery was ignored."})
    try:
        taken = connection_delivery_enqueue(connection=connection, delivery_id=delivery_id, topic=topic, events=events)
    except DeliveryMalformed as exc:
        connection_error_record(connection=connection, message=f"A {topic or 'delivery'} was refused: {exc}")
        return refusal(400, exc.field, str(exc))
    if not taken:
        return JsonResponse({"accepted": 0, "note": "Already received."})
    return JsonResponse({"accepted": len(events)})


def _header(meta: dict, name: str) -> str:
    # Shopify's newer deliveries drop the X- prefix; either is read.
    return meta.get(f"HTTP_X_{name}") or meta.get(f"HTTP_{name}") or ""


@csrf_exempt
def shopify_webhook(request: HttpRequest, token: str):
    """Shopify's webhooks (`shopify_receive`), for the requests config/fastpath.py's WSGI path leaves to Django."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    answer = shopify_receive(token=token, raw=request.body, meta=request.META)
    if answer is None:
        raise Http404("No such connection.")
    status, body = answer
    return JsonResponse(body, status=status)


def shopify_receive(*, token: str, raw: bytes, meta: dict) -> tuple[int, dict[str, Any]] | None:
    """Verify, check, store, answer (status, JSON body): the least that keeps a delivery safe; None: no such URL.

    Shopify retries for hours and times out at 5 s, and a busy shop sends bursts, so this path is kept
    lean: the HMAC over the raw body, a JSON parse and `shopify.delivery_check` (so a malformed body is
    still a 400 with nothing written), then one `INSERT … ON CONFLICT DO NOTHING` of the body as it came;
    the inbox's drain maps and ingests it. The connection comes from one plain query (its secrets decrypted
    once per process; the replaced one too, for the hour Shopify may still sign with it after a rotation);
    a connection this process has read before costs no query at all: the insert itself checks, in the same
    statement, that the row still holds what was remembered, and anything else is read afresh. `meta`
    holds the request's headers as WSGI names them (HTTP_X_SHOPIFY_…).
    """
    platform = Connection.Platform.SHOPIFY
    remembered = receiver_connection_remembered(platform=platform, token=token)
    if remembered is not None:
        if _shopify_store_remembered(connection=remembered, token=token, raw=raw, meta=meta):
            return 200, {"accepted": 1}
        receiver_connection_forget(platform=platform, token=token)  # a replay, a refusal or a change: read afresh
    connection = receiver_connection(platform=platform, token=token)
    if connection is None:
        return None
    if not shopify.signature_ok(raw=raw, header=_header(meta, "SHOPIFY_HMAC_SHA256"), secrets=connection.secrets):
        connection_error_record(
            connection=connection,
            message="A webhook's signature did not match the client secret: check the secret pasted here.",
        )
        return 401, _refused("X-Shopify-Hmac-Sha256", "The signature does not match this connection's secret.")
    topic = _header(meta, "SHOPIFY_TOPIC")
    webhook_id = _header(meta, "SHOPIFY_WEBHOOK_ID")
    if topic not in shopify.TOPICS:
        return 400, _refused("X-Shopify-Topic", f"Expected one of {', '.join(shopify.TOPICS)}.")
    if not webhook_id:
        return 400, _refused("X-Shopify-Webhook-Id", "Required.")
    try:
        means_events = shopify.delivery_check(topic=topic, payload=parse_json(raw))
    except Malformed as exc:
        if exc.field != "body":
            connection_error_record(connection=connection, message=f"A {topic} was refused: {exc}")
        return 400, _refused(exc.field, exc.message)
    if not connection.is_active:
        return 200, {"accepted": 0, "note": "This connection is paused: the delivery was ignored."}
    payload = raw.decode() if means_events else None
    if not connection_payload_enqueue(connection=connection, delivery_id=webhook_id, topic=topic, payload=payload):
        return 200, {"accepted": 0, "note": "Already received."}
    return 200, {"accepted": int(means_events)}


def _shopify_store_remembered(*, connection: ReceiverConnection, token: str, raw: bytes, meta: dict) -> bool:
    """Store a good delivery for a remembered connection, which the insert re-checks; False: let the full path decide.

    Only the common case is taken here (a good signature, a known topic with an id, a body that means an
    event): every refusal, replay or change is answered by the path that reads the connection afresh.
    """
    signed_by = shopify.signatures_matched(
        raw=raw, header=_header(meta, "SHOPIFY_HMAC_SHA256"), secrets=connection.secrets
    )
    topic = _header(meta, "SHOPIFY_TOPIC")
    webhook_id = _header(meta, "SHOPIFY_WEBHOOK_ID")
    if not any(signed_by) or topic not in shopify.TOPICS or not webhook_id:
        return False
    try:
        if not shopify.delivery_check(topic=topic, payload=parse_json(raw)):
            return False
        payload = raw.decode()
    except (Malformed, UnicodeDecodeError):
        return False
    return connection_payload_enqueue_if_current(
        connection=connection, token=token, signed_by=signed_by, delivery_id=webhook_id, topic=topic, payload=payload
    )


def _refused(field: str, message: str) -> dict[str, Any]:
    return {"error": {"field": field, "message": message}}


# A beacon is a few events with their items: anything bigger is not comeback.js.
BROWSER_MAX_BODY = 64 * 1024


def _cors(response, origin: str):
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    patch_vary_headers(response, ["Origin"])
    return response


@method_decorator(csrf_exempt, name="dispatch")
class BrowserEventsView(View):
    """comeback.js's beacons: a publishable key, from its listed origins, rate-limited per address; it only sends."""

    http_method_names = ["post", "options"]

    def options(self, request: HttpRequest, *args, **kwargs):
        # A preflight names no key: any listed origin of any connection may ask; the POST is checked fully.
        origin = request.headers.get("Origin", "")
        response = HttpResponse(status=204)
        return _cors(response, origin) if origin and not browser.origin_problem(origin) else response

    def post(self, request: HttpRequest, *args, **kwargs):
        origin = request.headers.get("Origin", "").rstrip("/")
        try:
            decision = sliding_window_hit(
                key=f"connect:browser:{client_ip(request) or 'unknown'}", rate=settings.COMEBACK_BROWSER_RATE_LIMIT
            )
        except CACHE_DOWN:
            decision = None  # the limiter fails open, as the API's does
        if decision is not None and not decision.allowed:
            response = refusal(429, "rate", "Too many events from this address; try again later.")
            response["Retry-After"] = str(decision.wait_seconds or 60)
            return response
        if len(request.body) > BROWSER_MAX_BODY:
            return refusal(413, "body", f"At most {BROWSER_MAX_BODY // 1024} kB.")
        try:
            body = parse_json(request.body)
        except Malformed as exc:
            return refusal(400, exc.field, exc.message)
        key = body.get("key") if isinstance(body, dict) else None
        connection = None
        if isinstance(key, str) and key.startswith(browser.KEY_PREFIX):
            connection = (
                Connection.objects.filter(platform=Connection.Platform.SCRIPT)
                .for_token(key[len(browser.KEY_PREFIX) :])
                .select_related("store")
                .first()
            )
        if connection is None:
            return refusal(403, "key", "Unknown publishable key.")
        if not origin or origin not in browser.origins(connection):
            return refusal(403, "Origin", "This page's origin is not listed for this key.")
        try:
            events = browser.events_for(body=body, capture=bool(connection.settings.get("capture")))
        except Malformed as exc:
            return _cors(refusal(400, exc.field, exc.message), origin)
        delivery_id = "browser:" + ",".join(event["eventId"] for event in events)
        return _cors(
            accept(connection=connection, delivery_id=delivery_id[:200], topic="browser", events=events), origin
        )


@method_decorator(csrf_exempt, name="dispatch")
class SaleorWebhookView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, token: str):
        connection = get_object_or_404(
            Connection.objects.filter(platform=Connection.Platform.SALEOR).for_token(token).select_related("store")
        )
        raw = request.body
        signature = request.headers.get("Saleor-Signature") or request.headers.get("X-Saleor-Signature")
        if not saleor.signature_ok(connection=connection, raw=raw, signature=signature):
            connection_error_record(
                connection=connection,
                message="A webhook's signature did not verify against the instance's key set (JWKS URL).",
            )
            return refusal(401, "Saleor-Signature", "The signature does not verify against the instance's keys.")
        event = (request.headers.get("Saleor-Event") or request.headers.get("X-Saleor-Event") or "").lower()
        if event not in saleor.EVENTS:
            return refusal(400, "Saleor-Event", f"Expected one of {', '.join(saleor.EVENTS)}.")
        # Saleor sends no delivery id; a retry re-sends the same bytes, so their digest is one.
        delivery_id = hashlib.sha256(event.encode() + b"\n" + raw).hexdigest()
        try:
            events = saleor.events_for(
                event=event, payload=parse_json(raw), delivery_id=delivery_id, connection=connection
            )
        except Malformed as exc:
            return refusal(400, exc.field, exc.message)
        return accept(connection=connection, delivery_id=delivery_id, topic=event, events=events)
