"""Admin pages for endpoints and deliveries (read-mostly: the settings pages are where merchants work)."""

from django.contrib import admin

from ..admin_display import local_time
from ..admin_scope import StoreListFilter, StoreScopedAdmin
from ..models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(StoreScopedAdmin):
    list_display = ["url", "store", "format", "active", "disabled_reason", local_time("created_at", "created")]
    list_filter = [StoreListFilter, "format", "active", "disabled_reason"]
    search_fields = ["url"]
    readonly_fields = ["id", "secret", "previous_secret", "previous_secret_expires_at", "failing_since", "created_at"]
    list_select_related = ["store"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StoreScopedAdmin):
    store_path = "endpoint__store"
    list_display = [
        "id",
        "event_type",
        "sequence",
        "entity_id",
        "endpoint",
        "state",
        "attempts",
        "last_status_code",
        local_time("last_attempt_at", "last attempt", store_attr="endpoint__store"),
    ]
    list_filter = [StoreListFilter, "state", "event_type"]
    search_fields = ["=entity_id", "=event__id"]
    raw_id_fields = ["endpoint", "event"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    list_select_related = ["endpoint__store"]
    ordering = ["-id"]

    def has_add_permission(self, request) -> bool:
        return False
