"""Response maps for extend_schema: the success shape plus every error an operation can answer."""

from drf_spectacular.utils import OpenApiResponse

from .entities import WixErrorSerializer

_ERRORS = {
    400: "Invalid request: validationError.fieldViolations names each bad field.",
    401: "Missing, malformed, revoked or unknown API key (or wix-site-id names another store).",
    403: "The API key lacks the scope, or the member's role is too low.",
    404: "No such abandoned checkout in this store (NOT_FOUND).",
    413: "The request body is larger than the configured limit.",
    415: "The body is not application/json.",
    429: "Rate limit exceeded; Retry-After says when to try again (RESOURCE_EXHAUSTED).",
}


def with_errors(success: dict, *extra: int, body: bool = True) -> dict:
    """`success` plus 400/401/403/429, the codes in `extra`, and 413/415 when there is a body."""
    codes = [400, 401, 403, 429, *extra] + ([413, 415] if body else [])
    responses = dict(success)
    for code in sorted(set(codes)):
        responses[code] = OpenApiResponse(WixErrorSerializer, description=_ERRORS[code])
    return responses
