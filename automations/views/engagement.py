"""The open pixel: the invisible image in the emails of automations that track opens."""

import base64

from django.http import HttpResponse
from django.views import View

from ..services.engagement import open_pixel_key, sent_email_open_record

# The smallest transparent GIF: 1×1, one colour.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class OpenPixelView(View):
    """Answers every request with the same image, whatever the token: a mail client must never
    show a broken image, and nobody learns from the answer whether a token was good. Only a GET
    with a token we signed counts, and only once per email."""

    def get(self, request, token: str):
        sent_email_open_record(email_key=open_pixel_key(token))
        return self._pixel()

    def head(self, request, token: str):
        return self._pixel()

    @staticmethod
    def _pixel() -> HttpResponse:
        response = HttpResponse(PIXEL, content_type="image/gif")
        # Each open must reach us to count; a cached image would hide it.
        response["Cache-Control"] = "no-store, private"
        return response
