from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Comeback administration"
admin.site.site_title = "Comeback admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    # JSON APIs (Wix-compatible /ecom/v1/, REST /api/v1/, schema and docs).
    path("", include("checkouts.api.urls")),
    # Webhook settings pages.
    path("settings/webhooks/", include("checkouts.webhooks.urls")),
    # Automations, tasks, notifications, unsubscribe.
    path("", include("automations.urls")),
    # The dashboard: overview, checkouts, export, settings, sign-in.
    path("", include("checkouts.urls")),
]
