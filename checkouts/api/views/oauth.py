"""`POST /oauth2/token`: a Wix app's client credentials for one store, traded for an access token.

The request and answer are Wix's (connectors reference §1.1): a JSON body (a form is accepted
too, as RFC 6749 has it) with `grant_type=client_credentials`, `client_id`, `client_secret` and
`instance_id` (the store id); `{"access_token", "token_type": "Bearer", "expires_in": 14400}`.
Refusals carry Wix's error envelope plus OAuth's own `error` code. Bad credentials count
against the sending address like bad API keys, until it is refused with 429.
"""

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ...services.oauth import TOKEN_LIFETIME_SECONDS, OAuthError, oauth_token_issue
from ..auth import ApiKeyAuthentication, failures_key
from ..errors import RULE_REQUIRED, WixValidationError, application_error_body, violation
from ..openapi.entities import WixErrorSerializer
from ..parsers import BoundedJSONParser
from ..renderers import FastJSONRenderer
from .ecom import json_object

GRANT_TYPE = "client_credentials"
FIELDS = ("grant_type", "client_id", "client_secret", "instance_id")


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=[GRANT_TYPE])
    client_id = serializers.CharField(help_text="The app's id in Comeback (Wix: the app id).")
    client_secret = serializers.CharField()
    instance_id = serializers.CharField(help_text="The store id (Wix: the app instance id).")


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="Send it as `Authorization: <token>` (or `Bearer <token>`).")
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds: always 14400 (4 hours), as on Wix.")


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [BoundedJSONParser, FormParser]
    renderer_classes = [FastJSONRenderer]

    def max_body_bytes(self) -> int:
        return 16 * 1024

    @extend_schema(
        operation_id="createAccessToken",
        summary="Create an access token (OAuth 2 client credentials)",
        description=__doc__,
        tags=["OAuth"],
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(WixErrorSerializer),
            401: OpenApiResponse(WixErrorSerializer),
            413: OpenApiResponse(WixErrorSerializer),
            415: OpenApiResponse(WixErrorSerializer),
            429: OpenApiResponse(WixErrorSerializer),
        },
    )
    def post(self, request):
        body = json_object(request.data)
        missing = [name for name in FIELDS if not isinstance(body.get(name), str) or not body[name]]
        if missing:
            raise WixValidationError([violation(name, f"{name} is required.", RULE_REQUIRED) for name in missing])
        if body["grant_type"] != GRANT_TYPE:
            return _refusal(OAuthError("unsupported_grant_type", f"Only grant_type={GRANT_TYPE} is supported."))
        failures = failures_key(request)
        ApiKeyAuthentication.refuse_if_blocked(failures)
        try:
            token = oauth_token_issue(
                client_id=body["client_id"], client_secret=body["client_secret"], instance_id=body["instance_id"]
            )
        except OAuthError as refused:
            try:
                ApiKeyAuthentication.fail(failures, str(refused))
            except exceptions.AuthenticationFailed:
                return _refusal(refused)
        return _answer({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS})


def _refusal(error: OAuthError) -> Response:
    body = application_error_body(error.code.upper(), str(error))
    return _answer({**body, "error": error.code, "error_description": str(error)}, status=error.status)


def _answer(body: dict, status: int = 200) -> Response:
    # The SDK quotes this header when a token request fails; tokens must never be cached.
    headers = {"X-Wix-Request-Id": uuid.uuid4().hex, "Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(body, status=status, headers=headers)
