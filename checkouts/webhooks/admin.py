"""Admin pages for endpoints and deliveries (read-mostly: the settings pages are where merchants work)."""

from django import forms
from django.contrib import admin

from ..admin_display import local_time
from ..admin_scope import StoreListFilter, StoreScopedAdmin
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import webhook_endpoint_create, webhook_endpoint_update
from .ssrf import UnsafeURL, check_url


class WebhookEndpointAdminForm(forms.ModelForm):
    """The settings page's rules: the URL passes the SSRF guard, events are known ones."""

    event_types = forms.MultipleChoiceField(choices=WebhookEvent.Type.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["store", "url", "description", "event_types", "format", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        # An unchanged URL passed when it was set; each delivery checks it again anyway.
        if self.instance.pk is None or "url" in self.changed_data:
            try:
                check_url(url)
            except UnsafeURL as exc:
                raise forms.ValidationError(str(exc), code="unsafe_url") from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(StoreScopedAdmin):
    form = WebhookEndpointAdminForm
    list_display = ["url", "store", "format", "active", "disabled_reason", local_time("created_at", "created")]
    list_filter = [StoreListFilter, "format", "active", "disabled_reason"]
    search_fields = ["url"]
    readonly_fields = [
        "id",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "failing_since",
        "created_at",
    ]
    list_select_related = ["store"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in ("url", "description", "event_types", "format", "active")}
        if change:
            # A fresh row: the service compares the new `active` with the stored one.
            webhook_endpoint_update(endpoint=WebhookEndpoint.objects.get(pk=obj.pk), **values)
            return
        endpoint = webhook_endpoint_create(store=form.cleaned_data["store"], **values)
        obj.__dict__.update({f.attname: getattr(endpoint, f.attname) for f in WebhookEndpoint._meta.concrete_fields})
        obj._state.adding = False


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
    # The (endpoint, id DESC) index's order.
    ordering = ["-id"]

    def has_add_permission(self, request) -> bool:
        return False

    def of_stores(self, queryset, store_ids):
        # By the endpoints' ids, read once: a join through endpoints to their store would walk
        # every delivery instead of the (endpoint, id) index.
        endpoints = list(WebhookEndpoint.objects.filter(store_id__in=store_ids).values_list("pk", flat=True))
        return queryset.filter(endpoint_id__in=endpoints)
