"""Redirect To Checkout: the recovery link in emails (reference §3.7). Public, no key.

`GET /ecom/v1/abandoned-checkout/{id}/redirect-to-checkout?metasiteId={store}` counts the
click and answers 302 to the storefront's checkout. A link that no longer leads anywhere
(unknown id, another store's metasiteId, a recovered or erased checkout) gets a friendly
page instead — never an error page or a stack trace.
"""

from django.core.exceptions import DisallowedRedirect
from django.http import HttpResponseRedirect
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from ...selectors import abandoned_checkout_for_recovery_link
from ...services import abandoned_checkout_click_record
from ..wql import parse_guid

TEMPLATE = "checkouts/redirect_unavailable.html"


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
            return self._page(request, "recovered", store=checkout.store, status=200)
        response = self._redirect(checkout.storefront_checkout_url or checkout.store.storefront_url)
        if response is None:  # no URL (an erased checkout), or not an http(s) one
            return self._page(request, "unavailable", store=checkout.store, status=404)
        if request.method == "GET":  # link scanners in mail clients often check a link with HEAD first
            abandoned_checkout_click_record(abandoned_checkout_id=checkout.pk, store_id=checkout.store_id)
        # A link in an email may be clicked many times; each click must reach us to count.
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _redirect(target: str) -> HttpResponseRedirect | None:
        try:
            return HttpResponseRedirect(target) if target else None
        except DisallowedRedirect:
            return None

    def _page(self, request, reason: str, *, status: int, store=None):
        response = render(request._request, TEMPLATE, {"reason": reason, "store": store}, status=status)
        response["Cache-Control"] = "no-store"
        return response
