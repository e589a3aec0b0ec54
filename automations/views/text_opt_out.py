"""The SMS gateway reports a buyer's STOP reply here: that number gets no more texts from the store."""

import hmac
import json
import re
import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from checkouts.models import Store

from ..services.contact import text_opt_out_record

# A number has at least this many digits; fewer is a typo, not a phone.
MIN_DIGITS = 6


def _refusal(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"field": field, "message": message}}, status=status)


@method_decorator(csrf_exempt, name="dispatch")
class TextOptOutView(View):
    """POST {"store": "<store id>", "phone": "+33 6 12 34 56 78"} with the gateway's bearer token."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest):
        token = settings.COMEBACK_SMS_INBOUND_TOKEN
        if not token:
            raise Http404("No SMS gateway is set up to report opt-outs.")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _refusal(401, "Authorization", "Expected the SMS gateway's bearer token.")
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, ValueError):
            return _refusal(400, "body", "Not valid JSON.")
        if not isinstance(body, dict):
            return _refusal(400, "body", "Expected a JSON object.")
        phone = body.get("phone")
        if not isinstance(phone, str) or len(re.sub(r"\D", "", phone)) < MIN_DIGITS:
            return _refusal(400, "phone", f"Expected a phone number with at least {MIN_DIGITS} digits.")
        try:
            store = Store.objects.get(pk=uuid.UUID(str(body.get("store", ""))))
        except (ValueError, Store.DoesNotExist):
            return _refusal(400, "store", "Expected the id of a store.")
        opt_out = text_opt_out_record(store=store, phone=phone)
        return JsonResponse({"optedOut": True, "since": opt_out.created_at.isoformat()})
