"""JSON bodies with a size limit: over it, 413 before a byte is parsed."""

import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from .errors import PayloadTooLarge


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
        return super().parse(io.BytesIO(body), media_type, parser_context)
