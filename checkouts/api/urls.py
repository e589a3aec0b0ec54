"""The JSON APIs: Wix-compatible under /ecom/v1/, REST and ingest under /api/v1/, schema and docs.

Wix's paths exactly (reference §3): the resource segment is singular, bulk methods live
under /ecom/v1/bulk/. Ids are matched as plain strings and checked by the views, so a
malformed id gets Wix's error envelope instead of an HTML 404.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from .docs import ApiDocsView
from .errors import api_route_not_found
from .views import ecom, ingest, oauth, privacy, redirect, rest

urlpatterns = [
    # Wix-compatible (literal segments before the {id} route they would otherwise match).
    path("ecom/v1/abandoned-checkout/query", ecom.QueryView.as_view(), name="wix-query"),
    path("ecom/v1/abandoned-checkout/search", ecom.SearchView.as_view(), name="wix-search"),
    path("ecom/v1/abandoned-checkout/get-analytics", ecom.AnalyticsView.as_view(), name="wix-analytics"),
    path("ecom/v1/bulk/abandoned-checkout/delete", ecom.BulkDeleteView.as_view(), name="wix-bulk-delete"),
    path(
        "ecom/v1/abandoned-checkout/<str:abandonedCheckoutId>/redirect-to-checkout",
        redirect.RedirectToCheckoutView.as_view(),
        name="wix-redirect",
    ),
    path(
        "ecom/v1/abandoned-checkout/<str:abandonedCheckoutId>",
        ecom.AbandonedCheckoutView.as_view(),
        name="wix-abandoned-checkout",
    ),
    # REST.
    path("api/v1/abandoned-checkouts/", rest.AbandonedCheckoutListView.as_view(), name="api-abandoned-checkouts"),
    path(
        "api/v1/abandoned-checkouts/<str:id>/",
        rest.AbandonedCheckoutDetailView.as_view(),
        name="api-abandoned-checkout",
    ),
    # Privacy.
    path("api/v1/buyers/erase", privacy.BuyerEraseView.as_view(), name="api-buyers-erase"),
    # Ingest.
    path("api/v1/checkout-events", ingest.CheckoutEventsView.as_view(), name="api-checkout-events"),
    path(
        "api/v1/legacy/wix-stores/cart-abandoned", ingest.CartAbandonedView.as_view(), name="api-legacy-cart-abandoned"
    ),
    path(
        "api/v1/legacy/wix-stores/cart-recovered", ingest.CartRecoveredView.as_view(), name="api-legacy-cart-recovered"
    ),
    # OAuth 2 client credentials for Wix apps (their SDK's AppStrategy).
    path("oauth2/token", oauth.TokenView.as_view(), name="oauth2-token"),
    # OpenAPI 3 and its interactive docs (assets served locally by drf-spectacular-sidecar).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under Wix's prefixes is Wix's JSON 404, with DEBUG on too (Django's own 404 page is HTML).
    re_path(r"^(?:ecom|oauth2)/", api_route_not_found, name="api-not-found"),
]
