"""The Django admin for every checkouts model. Staff see the stores they belong to; superusers all."""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet

from .models import (
    AbandonedCheckout,
    Activity,
    ApiKey,
    Checkout,
    ErasureRecord,
    IngestedEvent,
    Membership,
    Store,
    WebhookEvent,
)
from .services import abandoned_checkout_anonymise, abandoned_checkout_delete, api_key_revoke


class StoreScopedAdmin(admin.ModelAdmin):
    """Limits rows (and autocomplete choices) to the stores the staff user is a member of."""

    store_path = "store"
    # These tables grow without bound: never COUNT(*) them for the changelist.
    show_full_result_count = False

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.store_path}__memberships__user": request.user})

    def get_changeform_initial_data(self, request) -> dict:
        """The add form's initial values from the query string, less those that are not values
        of their field (`?checkout=oops` would otherwise fail the page with a 500)."""
        initial = super().get_changeform_initial_data(request)
        return {name: value for name, value in initial.items() if _valid_initial(self.model, name, value)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store" and not request.user.is_superuser:
            kwargs["queryset"] = Store.objects.filter(memberships__user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _valid_initial(model, name: str, value) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    target = field.target_field if field.is_relation else field
    try:
        for each in value if isinstance(value, list) else [value]:
            target.clean(each, None)  # the type and, for integers, the database's range
    except (ValidationError, ValueError, TypeError):
        return False
    return True


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    store_path = "pk"
    list_display = ["name", "id", "currency", "time_zone", "abandon_after", "recovery_rule", "created_at"]
    list_filter = ["currency", "recovery_rule"]
    search_fields = ["name", "=id"]
    readonly_fields = ["id", "created_at", "webhook_public_key"]
    show_full_result_count = True

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if request.user.is_superuser else queryset.filter(memberships__user=request.user)


@admin.register(Membership)
class MembershipAdmin(StoreScopedAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "store__name"]
    autocomplete_fields = ["user", "store"]
    list_select_related = ["user", "store"]


@admin.register(ApiKey)
class ApiKeyAdmin(StoreScopedAdmin):
    list_display = ["name", "prefix", "store", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "=prefix", "store__name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "created_by"]
    autocomplete_fields = ["store"]
    list_select_related = ["store"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # A key's secret is shown once, at creation: use `manage.py create_api_key` or Settings.
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(api_key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(Checkout)
class CheckoutAdmin(StoreScopedAdmin):
    list_display = [
        "external_id",
        "store",
        "buyer_email",
        "total",
        "currency",
        "last_activity_at",
        "abandoned_at",
        "completed_at",
    ]
    list_filter = [
        "currency",
        ("completed_at", admin.EmptyFieldListFilter),
        ("abandoned_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=external_id", "email_key", "last_name"]
    readonly_fields = ["email_key", "created_at", "updated_at", "snapshot_event_id", "abandon_due_at"]
    autocomplete_fields = ["store"]
    list_select_related = ["store"]
    date_hierarchy = None


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["created_at", "type", "reason", "detail"]
    readonly_fields = ["created_at", "type", "reason", "detail"]
    ordering = ["-created_at"]
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AbandonedCheckout)
class AbandonedCheckoutAdmin(StoreScopedAdmin):
    list_display = [
        "created_at",
        "buyer_email",
        "buyer_name",
        "total",
        "currency",
        "status",
        "last_activity_type",
        "store",
    ]
    list_filter = ["status", "currency", "last_activity_type"]
    search_fields = ["=id", "email_key", "last_name", "=checkout_external_id"]
    readonly_fields = [
        "id",
        "created_at",
        "updated_at",
        "checkout_recovered_at",
        "recovered_order_id",
        "link_clicks",
        "last_clicked_at",
        "last_activity_type",
        "last_activity_at",
        "event_sequence",
        "email_key",
    ]
    autocomplete_fields = ["store", "checkout"]
    list_select_related = ["store"]
    inlines = [ActivityInline]
    ordering = ["-created_at", "-id"]
    actions = ["anonymise", "delete_with_event"]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        # Deleting must write the `deleted` webhook event: use the action below instead.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        abandoned_checkout_delete(abandoned_checkout_id=obj.pk)

    @admin.action(description="Delete the selected abandoned checkouts (sends the deleted webhook)")
    def delete_with_event(self, request, queryset):
        deleted = sum(
            abandoned_checkout_delete(abandoned_checkout_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Deleted {deleted} abandoned checkout(s).", messages.SUCCESS)

    @admin.action(description="Anonymise the selected buyers (GDPR erasure)")
    def anonymise(self, request, queryset):
        done = sum(
            abandoned_checkout_anonymise(abandoned_checkout_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Anonymised {done} abandoned checkout(s).", messages.SUCCESS)


@admin.register(Activity)
class ActivityAdmin(StoreScopedAdmin):
    list_display = ["created_at", "type", "reason", "abandoned_checkout", "store"]
    list_filter = ["type", "reason"]
    search_fields = ["=abandoned_checkout__id"]
    autocomplete_fields = ["store", "abandoned_checkout"]
    list_select_related = ["store", "abandoned_checkout"]
    readonly_fields = ["created_at"]


@admin.register(IngestedEvent)
class IngestedEventAdmin(StoreScopedAdmin):
    list_display = ["event_id", "store", "outcome", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["=event_id"]
    readonly_fields = ["store", "event_id", "body_hash", "outcome", "created_at"]
    list_select_related = ["store"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(StoreScopedAdmin):
    list_display = ["created_at", "type", "entity_id", "sequence", "store"]
    list_filter = ["type"]
    search_fields = ["=id", "=entity_id"]
    readonly_fields = ["id", "store", "type", "entity_id", "sequence", "payload", "created_at"]
    list_select_related = ["store"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ErasureRecord)
class ErasureRecordAdmin(StoreScopedAdmin):
    """The proof that buyers were erased: read-only, as written by the erasure itself."""

    list_display = ["erased_at", "store", "actor_label", "email_hash"]
    list_select_related = ["store"]
    search_fields = ["=email_hash"]
    ordering = ["-erased_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
