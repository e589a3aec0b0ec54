"""Redirect To Checkout: the recovery link in emails (reference §3.7). Public, no key.

`GET /ecom/v1/abandoned-checkout/{id}/redirect-to-checkout?metasiteId={store}` counts the
click and answers 302 to the storefront's checkout. A link that no longer leads anywhere
(unknown id, another store's metasiteId, a recovered or erased checkout, a checkout URL that
is not http(s) on one of the store's storefront hosts) gets a friendly page instead — never
an error page, a stack trace, or a redirect to someone else's site.

A click counts once per visitor (a keyed hash of address and user agent) and
COMEBACK_CLICK_WINDOW_MINUTES. An email's own link adds `e`, a signed token naming the email,
so the click is credited to it (see `recovery_links`); a link without one counts for the checkout
only. Link scanners and prefetches get the same answer but do not
count: HEAD requests, `Purpose: prefetch` / `Sec-Purpose: prefetch`, and known scanner agents.
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.core.exceptions import DisallowedRedirect
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from ...languages import supported_language
from ...recovery_links import email_link_key
from ...selectors import abandoned_checkout_for_recovery_link
from ...services.clicks import recovery_link_click_record
from ..wql import parse_guid

TEMPLATE = "checkouts/redirect_unavailable.html"
# Mail security gateways, link previews and crawlers that open links on the buyer's behalf.
SCANNER_AGENTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|scanner|safelinks|microsoft office|ms-office|defender|barracuda|"
    r"proofpoint|mimecast|google-safety|googleimageproxy|appengine-google|symantec|forcepoint|trendmicro|"
    r"sophos|fortiguard|zscaler|checkpoint|headlesschrome|python-requests|curl/|wget/|go-http-client|"
    r"okhttp|java/|libwww|httpclient|facebookexternalhit|whatsapp|slackbot|discordbot|skypeuripreview",
    re.IGNORECASE,
)


def is_link_scanner(request) -> bool:
    """A request that opens the link without a buyer behind it: it gets the answer but is not a click."""
    if request.method != "GET":  # mail clients' scanners often check a link with HEAD first
        return True
    meta = request.META
    purpose = f"{meta.get('HTTP_PURPOSE', '')} {meta.get('HTTP_SEC_PURPOSE', '')} {meta.get('HTTP_X_MOZ', '')}"
    if "prefetch" in purpose.lower() or "preview" in purpose.lower():
        return True
    agent = meta.get("HTTP_USER_AGENT", "").strip()
    return not agent or bool(SCANNER_AGENTS.search(agent))


def visitor_fingerprint(request) -> str:
    """A keyed hash of the client's address (and forwarding chain) and user agent: no address is stored."""
    meta = request.META
    parts = (meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR", ""), meta.get("HTTP_USER_AGENT", ""))
    key = hashlib.sha256(f"comeback.recovery-link-visitor:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()


class RedirectToCheckoutView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def perform_content_negotiation(self, request, force=False):
        # Whatever the client accepts, the answer is a redirect or an HTML page: never a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="RedirectToCheckout",
        summary="Redirect To Checkout",
        description="The recovery link (checkoutUrl). Public: buyers follow it from an email without credentials.",
        tags=["Abandoned Checkouts (Wix-compatible)"],
        auth=[],
        parameters=[
            OpenApiParameter("abandonedCheckoutId", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter(
                "metasiteId", OpenApiTypes.UUID, OpenApiParameter.QUERY, required=True, description="The store id."
            ),
        ],
        responses={
            302: OpenApiResponse(description="To the storefront's checkout page (Location header)."),
            (200, "text/html"): OpenApiResponse(
                OpenApiTypes.STR, description="The checkout was already completed: a friendly page."
            ),
            (404, "text/html"): OpenApiResponse(
                OpenApiTypes.STR, description="Unknown link or store: a friendly page."
            ),
        },
    )
    def get(self, request, abandonedCheckoutId: str):
        pk, store_id = parse_guid(abandonedCheckoutId), parse_guid(request.query_params.get("metasiteId"))
        checkout = (
            abandoned_checkout_for_recovery_link(abandoned_checkout_id=pk, store_id=store_id)
            if pk and store_id
            else None
        )
        if checkout is None:
            return self._page(request, "unknown", status=404)
        if checkout.is_recovered:
            return self._page(request, "recovered", store=checkout.store, checkout=checkout, status=200)
        store = checkout.store
        response = self._redirect(checkout.storefront_checkout_url or store.storefront_url, store=store)
        if response is None:  # no URL (an erased checkout), or not http(s) on the store's own hosts
            return self._page(request, "unavailable", store=store, checkout=checkout, status=404)
        if not is_link_scanner(request._request):
            recovery_link_click_record(
                abandoned_checkout_id=checkout.pk,
                store_id=checkout.store_id,
                visitor=visitor_fingerprint(request),
                email_key=email_link_key(request.query_params.get("e")),
            )
        # A link in an email may be clicked many times; each click must reach us to count.
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _redirect(target: str, *, store) -> HttpResponseRedirect | None:
        if not store.allows_redirect_to(target):
            return None
        try:
            return HttpResponseRedirect(target)
        except DisallowedRedirect:
            return None

    def _page(self, request, reason: str, *, status: int, store=None, checkout=None):
        # In the buyer's language (the checkout's, else the store's); an unknown link, the browser's.
        if store is None:
            language = translation.get_language_from_request(request._request)
        else:
            language = supported_language(checkout.buyer_language if checkout else "", store.language)
        with translation.override(language):
            response = render(request._request, TEMPLATE, {"reason": reason, "store": store}, status=status)
        response["Cache-Control"] = "no-store"
        return response
