"""Ingest over HTTP: storefront checkout events, and the legacy Wix Stores cart events.

Every event gets its own result, in Wix's bulk shape (`results[].itemMetadata` with
`originalIndex`, `success`, `error`, plus `bulkActionMetadata`). The HTTP status follows
one rule: when every event has the same outcome the status is that outcome's — 200
applied (or an identical replay), 400 invalid, 422 an `eventId` reused with a different
body — and a batch with mixed outcomes is 207 Multi-Status. A body that is not a batch
at all is a 400, and one over COMEBACK_INGEST_MAX_BYTES a 413, before any event is read.
"""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from ...ingest_serializers import CheckoutRefSerializer, CheckoutSnapshotSerializer
from ...models import ApiKey
from ...services import IngestOutcome, IngestResult, checkout_events_ingest
from ...services.ingest import ErrorCode
from ..base import StoreAPIView
from ..errors import RULE_MAX_SIZE, RULE_MIN_SIZE, WixValidationError, violation
from ..legacy import (
    CartAbandonedEventSerializer,
    CartRecoveredEventSerializer,
    cart_abandoned_to_event,
    cart_recovered_to_event,
)
from ..openapi.entities import ApplicationErrorSerializer, ErrorDetailsSerializer, WixErrorSerializer
from ..openapi.requests import BulkActionMetadataSerializer
from ..renderers import FastJSONRenderer
from .ecom import json_object

TAG = "Ingest"
MAX_EVENTS = 1000
MULTI_STATUS = 207


class CheckoutUpdatedEventSerializer(serializers.Serializer):
    eventId = serializers.CharField(max_length=255, help_text="Idempotency key, unique per store.")
    type = serializers.ChoiceField(choices=["checkout.updated"])
    occurredAt = serializers.DateTimeField(help_text="Orders snapshots: an older one never overwrites a newer one.")
    checkout = CheckoutSnapshotSerializer(help_text="The checkout, in the abandoned checkout's field names.")


class CheckoutCompletedEventSerializer(serializers.Serializer):
    eventId = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(choices=["checkout.completed"])
    occurredAt = serializers.DateTimeField()
    checkout = CheckoutRefSerializer(
        help_text="Its id; optionally buyerInfo.email, and appliedDiscounts: the discounts the order used."
    )
    orderId = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CheckoutEventsRequestSerializer(serializers.Serializer):
    events = PolymorphicProxySerializer(
        component_name="CheckoutEvent",
        serializers={
            "checkout.updated": CheckoutUpdatedEventSerializer,
            "checkout.completed": CheckoutCompletedEventSerializer,
        },
        resource_type_field_name="type",
        many=True,
    )


class IngestItemMetadataSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, help_text="The event's eventId.")
    originalIndex = serializers.IntegerField()
    success = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=IngestOutcome.values, required=False)
    error = ApplicationErrorSerializer(required=False, help_text="INVALID_ARGUMENT or EVENT_ID_REUSED.")


class IngestResultSerializer(serializers.Serializer):
    itemMetadata = IngestItemMetadataSerializer()


class IngestResponseSerializer(serializers.Serializer):
    results = IngestResultSerializer(many=True)
    bulkActionMetadata = BulkActionMetadataSerializer()


class IngestErrorSerializer(serializers.Serializer):
    """Every event failed (with `results`), or the body was refused as a whole (without)."""

    message = serializers.CharField()
    details = ErrorDetailsSerializer()
    results = IngestResultSerializer(many=True, required=False)
    bulkActionMetadata = BulkActionMetadataSerializer(required=False)


def _responses() -> dict:
    error = OpenApiResponse(IngestErrorSerializer)
    return {
        200: OpenApiResponse(IngestResponseSerializer, description="Every event applied (or replayed)."),
        MULTI_STATUS: OpenApiResponse(IngestResponseSerializer, description="Some events failed: see results."),
        400: OpenApiResponse(IngestErrorSerializer, description="Not a batch, or every event invalid."),
        401: OpenApiResponse(WixErrorSerializer),
        403: OpenApiResponse(WixErrorSerializer),
        413: OpenApiResponse(WixErrorSerializer, description="Body over COMEBACK_INGEST_MAX_BYTES."),
        415: OpenApiResponse(WixErrorSerializer),
        422: error,
        429: OpenApiResponse(WixErrorSerializer),
    }


def http_status(result: IngestResult) -> int:
    """The status this event alone would get: 200, 400 invalid, 422 an eventId reused."""
    if result.success:
        return 200
    return 422 if result.error_code == ErrorCode.EVENT_ID_REUSED else 400


def item_metadata(result: IngestResult) -> dict[str, Any]:
    """A bulk-result item in Wix's shape: itemMetadata with originalIndex / success / error."""
    item: dict[str, Any] = {"originalIndex": result.original_index, "success": result.success}
    if result.event_id is not None:
        item["id"] = result.event_id
    if result.success:
        item["outcome"] = result.outcome
    else:
        data: dict[str, Any] = {}
        if result.violations:
            data["fieldViolations"] = result.violations
        item["error"] = {"code": result.error_code, "description": result.description, "data": data}
    return item


def batch_response(results: list[IngestResult]) -> Response:
    items = [{"itemMetadata": item_metadata(result)} for result in results]
    successes = sum(1 for result in results if result.success)
    body: dict = {
        "results": items,
        "bulkActionMetadata": {
            "totalSuccesses": successes,
            "totalFailures": len(results) - successes,
            "undetailedFailures": 0,
        },
    }
    statuses = {http_status(result) for result in results}
    status = statuses.pop() if len(statuses) == 1 else MULTI_STATUS
    if status == 422:
        message = "Every eventId was already used with a different body."
        body = {
            "message": message,
            "details": {"applicationError": {"code": ErrorCode.EVENT_ID_REUSED, "description": message, "data": {}}},
            **body,
        }
    elif status == 400:
        violations = [violation for result in results for violation in _event_violations(result)]
        body = {
            "message": "Every event was invalid.",
            "details": {"validationError": {"fieldViolations": violations}},
            **body,
        }
    return Response(body, status=status)


def _event_violations(result: IngestResult) -> list[dict]:
    """The event's field violations, named from the top of the request: events[2].checkout.currency."""
    event = f"events[{result.original_index}]"
    if not result.violations:
        return [{"field": event, "description": result.description, "violatedRule": "VALIDATION"}]
    return [{**item, "field": _within(event, item["field"])} for item in result.violations]


def _within(event: str, field: str) -> str:
    if field.startswith(event):  # already named from the top (an event that is not an object)
        return field
    return event if field == "body" else f"{event}.{field}"


class IngestView(StoreAPIView):
    scopes = {"POST": ApiKey.Scope.INGEST}
    rate_setting = "COMEBACK_INGEST_RATE_LIMIT"
    body_limit_setting = "COMEBACK_INGEST_MAX_BYTES"
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]


class CheckoutEventsView(IngestView):
    @extend_schema(
        operation_id="ingestCheckoutEvents",
        summary="Ingest storefront checkout events",
        description=__doc__,
        tags=[TAG],
        request=CheckoutEventsRequestSerializer,
        parameters=[OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429])],
        responses=_responses(),
    )
    def post(self, request):
        events = json_object(request.data).get("events")
        if not isinstance(events, list) or not events:
            raise WixValidationError([violation("events", "Send 1 to 1,000 events.", RULE_MIN_SIZE)])
        if len(events) > MAX_EVENTS:
            raise WixValidationError(
                [violation("events", f"At most {MAX_EVENTS} events per request.", RULE_MAX_SIZE, max=MAX_EVENTS)]
            )
        return batch_response(checkout_events_ingest(store=self.store, events=events))


class LegacyCartEventView(IngestView):
    """One legacy event per request, as Wix Stores' webhooks delivered them."""

    event_serializer: type[serializers.Serializer]
    to_event: Callable[..., dict]

    def ingest(self, request) -> Response:
        serializer = self.event_serializer(data=json_object(request.data))
        serializer.is_valid(raise_exception=True)
        event = self.to_event(serializer.validated_data, store=self.store)
        return batch_response(checkout_events_ingest(store=self.store, events=[event]))


class CartAbandonedView(LegacyCartEventView):
    event_serializer = CartAbandonedEventSerializer
    to_event = staticmethod(cart_abandoned_to_event)

    @extend_schema(
        operation_id="ingestLegacyCartAbandoned",
        summary="Legacy Wix Stores Cart Abandoned event",
        description="Applied as a checkout.updated event for the cart (its cartId is the checkout id).",
        tags=[TAG],
        request=CartAbandonedEventSerializer,
        responses=_responses(),
    )
    def post(self, request):
        return self.ingest(request)


class CartRecoveredView(LegacyCartEventView):
    event_serializer = CartRecoveredEventSerializer
    to_event = staticmethod(cart_recovered_to_event)

    @extend_schema(
        operation_id="ingestLegacyCartRecovered",
        summary="Legacy Wix Stores Cart Recovered event",
        description="Applied as a checkout.completed event for the cart: recovers its abandoned checkout.",
        tags=[TAG],
        request=CartRecoveredEventSerializer,
        responses=_responses(),
    )
    def post(self, request):
        return self.ingest(request)
