"""The per-connection Wix webhook receiver: verify the JWT, de-duplicate by event id, ingest."""

from django.conf import settings
from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ...api.errors import PayloadTooLarge, WixApplicationError, WixValidationError, violation
from ...api.renderers import FastJSONRenderer
from ...models import Connection
from ...services.connections import connection_error_record
from ...services.wix_connections import EventsRefused, wix_delivery_apply
from .webhooks import BadPayload, BadSignature, wix_delivery


@method_decorator(csrf_exempt, name="dispatch")
class WixWebhookView(APIView):
    """Wix wants a 200 within 1.25 s; any other answer is retried for two days, which a paused connection relies on."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    renderer_classes = [FastJSONRenderer]

    @extend_schema(exclude=True)  # Wix's own delivery format, documented in docs/connect/wix.md
    def post(self, request, token: str):
        connection = (
            Connection.objects.filter(token=token, platform=Connection.Platform.WIX).select_related("store").first()
        )
        if connection is None:
            raise Http404
        raw = request.body
        if len(raw) > settings.COMEBACK_API_MAX_BODY_BYTES:
            raise PayloadTooLarge(settings.COMEBACK_API_MAX_BODY_BYTES)
        try:
            delivery = wix_delivery(raw, pem=connection.public_key, store=connection.store)
        except BadSignature as exc:
            connection_error_record(connection=connection, message=str(exc))
            raise WixApplicationError(status.HTTP_401_UNAUTHORIZED, "UNAUTHENTICATED", str(exc)) from exc
        except BadPayload as exc:
            connection_error_record(connection=connection, message=f"A Wix webhook was unreadable: {exc}")
            raise WixValidationError([violation(exc.field, exc.message)]) from exc
        expected = connection.settings.get("instance_id")
        if expected and delivery.instance_id != expected:
            raise WixValidationError([violation("data.instanceId", "This is not the app instance of this connection.")])
        if not connection.is_active:
            raise WixApplicationError(status.HTTP_409_CONFLICT, "PAUSED", "This connection is paused; Wix will retry.")
        try:
            applied = wix_delivery_apply(
                connection=connection,
                delivery_id=delivery.event_id,
                topic=delivery.event_type,
                events=delivery.events,
                abandoned=delivery.abandoned,
                activities=delivery.activities,
            )
        except EventsRefused as refused:
            violations = [item for result in refused.results for item in result.violations]
            raise WixValidationError(violations or [violation("data.data", str(refused))]) from refused
        return Response({"received": delivery.event_id, "duplicate": not applied})
