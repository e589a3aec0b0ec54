"""The per-connection Wix webhook receiver: verify the JWT, check it maps, store it in the inbox, answer.

Wix wants a 200 within 1.25 s. The JWT is verified and the event mapped here (so a bad signature is a
401 and an unreadable event a 400, nothing written), then the body is stored in the inbox as it came
(`connection_payload_enqueue`, de-duplicated by the event id) and the drain applies it behind, as it
does Shopify's and Saleor's deliveries.
"""

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
from ...ingest_serializers import checkout_event_validate
from ...models import Connection
from ...services.connection_inbox import connection_payload_enqueue
from ...services.connections import connection_error_record
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
            Connection.objects.filter(platform=Connection.Platform.WIX).for_token(token).select_related("store").first()
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
        # Ingest's own rules, here, so an event it would refuse is a 400 Wix shows the app's developer
        # (a Wix event is one checkout: its check costs little beside the JWT's RS256 verification).
        for event in delivery.events:
            _, violations = checkout_event_validate(event)
            if violations:
                connection_error_record(
                    connection=connection,
                    message=f"A Wix {delivery.event_type} was refused: {violations[0]['field']}: "
                    f"{violations[0]['description']}",
                )
                raise WixValidationError(violations)
        taken = connection_payload_enqueue(
            connection=connection,
            delivery_id=delivery.event_id,
            topic=delivery.event_type,
            # A topic that means nothing (deleted, others the app subscribed to) is only a receipt.
            payload=raw.strip().decode() if delivery.events or delivery.activities else None,
        )
        return Response({"received": delivery.event_id, "duplicate": not taken})
