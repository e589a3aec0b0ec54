from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from . import health

admin.site.site_header = "Comeback administration"
admin.site.site_title = "Comeback admin"

# On /ecom/ and /api/ every error Django answers itself is JSON in Wix's envelope; a database
# outage anywhere in a request becomes a 503 (see config/errors.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    # Probes (config.health.HealthProbeMiddleware answers them before host checks).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Browsers ask for it on documents that name no icon (the email previews in their frames).
    path("favicon.ico", RedirectView.as_view(url=static("img/logo.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # Platform webhooks and browser events (comeback.js), checked by signature or publishable key.
    # Before the APIs' long list: a busy shop's webhooks are resolved in a few steps.
    path("connect/wix/", include("checkouts.connectors.wix.urls")),
    path("connect/", include("checkouts.connectors.urls")),
    # JSON APIs (Wix-compatible /ecom/v1/, REST /api/v1/, schema and docs).
    path("", include("checkouts.api.urls")),
    path("settings/connections/", include("checkouts.connectors.dashboard_urls")),
    # Webhook settings pages.
    path("settings/webhooks/", include("checkouts.webhooks.urls")),
    # Automations, tasks, notifications, unsubscribe.
    path("", include("automations.urls")),
    # The dashboard: overview, checkouts, export, settings, sign-in.
    path("", include("checkouts.urls")),
]
