"""Wix's error envelope for every API route: `{message, details: {applicationError | validationError}}`.

Validation problems (HTTP 400) carry `validationError.fieldViolations`, each naming the
field by its path in the request (`query.filter.buyerInfo.phone`); everything else carries
`applicationError.code`. The exception handler converts DRF's own exceptions too, so a
missing key, a wrong scope or a rate limit reads the same as Wix's.
"""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config.errors import API_PREFIXES, page_not_found

from ..ingest_serializers import field_violations
from ..pagination import BAD_CURSOR_MESSAGE

# Wix's `violatedRule` values (a subset of its ValidationError.RuleType).
RULE_VALIDATION = "VALIDATION"
RULE_FORMAT = "FORMAT"
RULE_MAX = "MAX"
RULE_MIN = "MIN"
RULE_MAX_SIZE = "MAX_SIZE"
RULE_MIN_SIZE = "MIN_SIZE"
RULE_MAX_LENGTH = "MAX_LENGTH"
RULE_MIN_LENGTH = "MIN_LENGTH"
RULE_REQUIRED = "REQUIRED_FIELD"
RULE_NOT_ALLOWED = "FIELD_NOT_ALLOWED"
RULE_ONE_OF = "ONE_OF_ALIGNMENT"

_CODES = {
    status.HTTP_400_BAD_REQUEST: "INVALID_ARGUMENT",
    status.HTTP_401_UNAUTHORIZED: "UNAUTHENTICATED",
    status.HTTP_403_FORBIDDEN: "PERMISSION_DENIED",
    status.HTTP_404_NOT_FOUND: "NOT_FOUND",
    status.HTTP_405_METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
    status.HTTP_406_NOT_ACCEPTABLE: "NOT_ACCEPTABLE",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
    status.HTTP_429_TOO_MANY_REQUESTS: "RESOURCE_EXHAUSTED",
}

# DRF's validation codes → Wix's violatedRule.
_RULES = {
    "required": RULE_REQUIRED,
    "null": RULE_REQUIRED,
    "blank": RULE_REQUIRED,
    "max_value": RULE_MAX,
    "min_value": RULE_MIN,
    "max_length": RULE_MAX_LENGTH,
    "min_length": RULE_MIN_LENGTH,
    "invalid": RULE_FORMAT,
    "invalid_choice": RULE_FORMAT,
    "not_a_list": RULE_FORMAT,
    "not_a_dict": RULE_FORMAT,
    "empty": RULE_MIN_SIZE,
    "date": RULE_FORMAT,
    "parse_error": RULE_FORMAT,
    "not_allowed": RULE_NOT_ALLOWED,
    "one_of": RULE_ONE_OF,
}


def violation(field: str, description: str, rule: str = RULE_VALIDATION, rule_name: str = "", **data) -> dict:
    item: dict[str, Any] = {"field": field, "description": description, "violatedRule": rule}
    if rule_name:
        item["ruleName"] = rule_name
    if data:
        item["data"] = data
    return item


class WixValidationError(exceptions.APIException):
    """400 with `validationError.fieldViolations`."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "INVALID_ARGUMENT"

    def __init__(self, violations: list[dict], message: str | None = None):
        self.violations = violations
        super().__init__(message or "; ".join(f"{v['field']}: {v['description']}" for v in violations))


def invalid_cursor(field: str) -> WixValidationError:
    """The JSON side of `KeysetPager`'s bad-cursor policy: a 400 naming the cursor field."""
    return WixValidationError([violation(field, BAD_CURSOR_MESSAGE, RULE_FORMAT, "INVALID_CURSOR")])


class WixApplicationError(exceptions.APIException):
    """Any non-validation error, with Wix's `applicationError.code` and optional data."""

    def __init__(self, status_code: int, code: str, message: str, data: dict | None = None):
        self.status_code = status_code
        self.code = code
        self.data = data or {}
        super().__init__(message)


class NotFound(WixApplicationError):
    def __init__(self, message: str = "Not found.", data: dict | None = None):
        super().__init__(status.HTTP_404_NOT_FOUND, "NOT_FOUND", message, data)


class PayloadTooLarge(WixApplicationError):
    def __init__(self, limit: int):
        super().__init__(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            f"The request body is larger than {limit} bytes.",
            {"maxBytes": limit},
        )


def application_error_body(code: str, message: str, data: dict | None = None) -> dict:
    return {
        "message": message,
        "details": {"applicationError": {"code": code, "description": message, "data": data or {}}},
    }


def validation_error_body(violations: list[dict], message: str) -> dict:
    return {"message": message, "details": {"validationError": {"fieldViolations": violations}}}


def _drf_violations(detail: Any) -> list[dict]:
    violations = field_violations(detail)
    for item in violations:
        item["violatedRule"] = _RULES.get(item["violatedRule"], RULE_VALIDATION)
    return violations


@csrf_exempt
def api_route_not_found(request: HttpRequest) -> HttpResponse:
    """No API route matches: Wix's NOT_FOUND envelope, whatever DEBUG says."""
    return page_not_found(request)


def wix_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, reshaped into Wix's envelope on the API routes."""
    request = context.get("request")
    response = exception_handler(exc, context)
    if response is None or request is None or not request.path.startswith(API_PREFIXES):
        return response
    if isinstance(exc, Http404):
        exc = NotFound()
    if isinstance(exc, WixValidationError):
        body = validation_error_body(exc.violations, str(exc.detail))
    elif isinstance(exc, exceptions.ValidationError):
        violations = _drf_violations(exc.detail)
        message = "; ".join(f"{v['field']}: {v['description']}" for v in violations) or "Invalid request."
        body = validation_error_body(violations, message)
    elif isinstance(exc, exceptions.ParseError):
        body = validation_error_body(
            [violation("body", str(exc.detail), RULE_FORMAT, "MALFORMED_JSON")], str(exc.detail)
        )
    elif isinstance(exc, WixApplicationError):
        body = application_error_body(exc.code, str(exc.detail), exc.data)
    else:
        code = _CODES.get(response.status_code, "UNKNOWN")
        data = {"retryAfterSeconds": int(exc.wait)} if isinstance(exc, exceptions.Throttled) and exc.wait else {}
        body = application_error_body(code, str(getattr(exc, "detail", exc)), data)
    response.data = body
    return response
