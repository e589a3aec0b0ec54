"""The public addresses platforms and browsers deliver to (signature- or key-checked), under /connect/."""

from django.urls import path

from . import receivers

app_name = "connect"

urlpatterns = [
    path("browser/events", receivers.BrowserEventsView.as_view(), name="browser"),
    path("saleor/<str:token>/", receivers.SaleorWebhookView.as_view(), name="saleor"),
    path("shopify/<str:token>/", receivers.shopify_webhook, name="shopify"),
]
