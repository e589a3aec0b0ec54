"""OAuth apps in the admin: an operator registers a Wix app and installs it on stores.

Apps span stores, so only superusers see them. The client secret is shown once, in the message
after saving a new app (or after "Issue a new client secret"); only its hash is kept.
"""

from django.contrib import admin, messages

from .models import OAuthApp
from .services.oauth import oauth_app_secret_reset


@admin.register(OAuthApp)
class OAuthAppAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "scopes", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "=client_id"]
    readonly_fields = ["client_id", "created_at"]
    filter_horizontal = ["stores"]
    actions = ["new_secret"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            secret = obj.set_new_secret()
            self.message_user(request, f"Client secret for {obj.name} (shown only now): {secret}", messages.WARNING)
        super().save_model(request, obj, form, change)

    @admin.action(description="Issue a new client secret (the old one stops working)")
    def new_secret(self, request, queryset):
        for app in queryset:
            secret = oauth_app_secret_reset(app=app)
            self.message_user(request, f"New client secret for {app.name}: {secret}", messages.WARNING)
