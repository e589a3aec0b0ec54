"""JSON bodies with a size limit: over it, 413 before a byte is parsed."""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .errors import RULE_FORMAT, PayloadTooLarge, WixValidationError, violation


class BoundedJSONParser(JSONParser):
    """JSONParser that refuses bodies larger than the view's `max_body_bytes()` (a setting).

    DRF reads the request stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not
    apply to JSON; this is the limit that does.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        view = parser_context.get("view")
        limit = view.max_body_bytes() if view is not None else settings.COMEBACK_API_MAX_BODY_BYTES
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        # A chunked body has no Content-Length: read one byte past the limit to notice.
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        if _contains_nul(data):
            # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the database.
            raise WixValidationError(
                [violation("body", "Strings may not contain the NUL character (\\u0000).", RULE_FORMAT)]
            )
        return data


def _contains_nul(data) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
