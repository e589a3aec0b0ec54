"""The Django admin for every checkouts model. Staff act on their stores as their role allows; superusers on all.

Writes go through the services, as everywhere else: a store is created by `store_create`
(owner, default automation), members change through the membership services (a store keeps
an owner), and a checkout is recovered by `abandoned_checkout_recover` (date, events, steps).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.auth import get_user_model

from .admin_display import ACTIVITY_LABELS, REASON_LABELS, code_label, line_items_table, local_time, money
from .admin_scope import CurrencyFilter, StoreListFilter, StoreScopedAdmin, StoreScopedInline, fixed_filter
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
from .services import (
    abandoned_checkout_anonymise,
    abandoned_checkout_delete,
    abandoned_checkout_recover,
    api_key_revoke,
    membership_add,
    membership_remove,
    membership_role_change,
    store_create,
    store_update,
)
from .services.ingest import Outcome


class StoreAdminForm(forms.ModelForm):
    """On a new store, who becomes its owner (the superuser may choose; others own what they create)."""

    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        required=False,
        help_text="Becomes the store's owner. Leave empty to be the owner yourself.",
    )

    class Meta:
        model = Store
        fields = [
            "name",
            "currency",
            "time_zone",
            "language",
            "storefront_url",
            "abandon_after",
            "recovery_rule",
            "recovery_window_days",
        ]


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    store_path = "pk"
    form = StoreAdminForm
    list_display = [
        "name",
        "id",
        "currency",
        "time_zone",
        "abandon_after",
        "recovery_rule",
        local_time("created_at", "created", store_attr=""),
    ]
    list_filter = [fixed_filter("recovery_rule", Store.RecoveryRule.choices, "recovery rule")]
    search_fields = ["name", "=id"]
    readonly_fields = ["id", "created_at", "webhook_public_key"]
    show_full_result_count = True

    def has_add_permission(self, request) -> bool:
        # Whoever owns a store may open another (they become its owner); viewers and managers may not.
        return self._allows(request, None, Membership.Role.OWNER)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allows(request, obj, Membership.Role.OWNER)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None or not request.user.is_superuser:
            fields = [name for name in fields if name != "owner"]
        return fields

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name]
            for name in form.cleaned_data
            if name not in ("owner", "name") and name in {f.name for f in Store._meta.fields}
        }
        if change:
            # A fresh row: store_update compares the new values with the stored ones.
            stored = Store.objects.get(pk=obj.pk)
            store_update(store=stored, **{name: values[name] for name in form.changed_data if name in values})
            return
        owner = form.cleaned_data.get("owner") if request.user.is_superuser else None
        store = store_create(name=form.cleaned_data["name"], owner=owner or request.user, id=obj.pk, **values)
        # The admin logs and redirects with `obj`: make it the row the service wrote.
        obj.__dict__.update({f.attname: getattr(store, f.attname) for f in Store._meta.concrete_fields})
        obj._state.adding = False
        obj._state.db = store._state.db


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "store", "role"]

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk and instance.role == Membership.Role.OWNER and cleaned.get("role") != Membership.Role.OWNER:
            others = Membership.objects.filter(store_id=instance.store_id, role=Membership.Role.OWNER)
            if not others.exclude(pk=instance.pk).exists():
                self.add_error("role", "A store needs at least one owner: make someone else owner first.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(StoreScopedAdmin):
    form = MembershipAdminForm
    min_change_role = Membership.Role.OWNER
    free_user_fields = ("user",)
    list_display = ["user", "store", "role", local_time("created_at", "created")]
    list_filter = [StoreListFilter, fixed_filter("role", Membership.Role.choices)]
    search_fields = ["user__username", "user__email", "store__name"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "store"]

    def get_readonly_fields(self, request, obj=None):
        # A membership is one user in one store: only its role changes.
        return ["user", "store"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            membership_role_change(membership=obj, role=form.cleaned_data["role"])
        else:
            saved = membership_add(store=obj.store, user=obj.user, role=obj.role)
            obj.pk, obj.created_at = saved.pk, saved.created_at

    def delete_model(self, request, obj):
        membership_remove(membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_remove(membership=membership)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == Membership.Role.OWNER:
            # The last owner cannot be removed (membership_remove refuses): offer no button.
            others = Membership.objects.filter(store_id=obj.store_id, role=Membership.Role.OWNER).exclude(pk=obj.pk)
            if not others.exists():
                return False
        return super().has_delete_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(StoreScopedAdmin):
    min_change_role = Membership.Role.OWNER
    list_display = [
        "name",
        "prefix",
        "store",
        "scopes",
        local_time("created_at", "created"),
        local_time("last_used_at", "last used"),
        local_time("revoked_at", "revoked"),
    ]
    list_filter = [StoreListFilter, ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=prefix", "store__name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "created_by", "store"]
    list_select_related = ["store"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # A key's secret is shown once, at creation: use `manage.py create_api_key` or Settings.
        return False

    @admin.action(description="Revoke the selected keys", permissions=["change"])
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
        money("total"),
        local_time("last_activity_at", "last activity"),
        local_time("abandoned_at", "abandoned"),
        local_time("completed_at", "completed"),
    ]
    list_filter = [
        StoreListFilter,
        CurrencyFilter,
        ("completed_at", admin.EmptyFieldListFilter),
        ("abandoned_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=external_id", "email_key", "last_name"]
    readonly_fields = [
        "store",
        "email_key",
        "created_at",
        "updated_at",
        "snapshot_event_id",
        "abandon_due_at",
        "items",
    ]
    exclude = ["line_items"]
    list_select_related = ["store"]
    ordering = ["-created_at", "-id"]

    @admin.display(description="line items")
    def items(self, obj):
        return line_items_table(obj)


class ActivityInline(StoreScopedInline, admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["created_at", "type", "reason_label", "detail"]
    readonly_fields = ["created_at", "type", "reason_label", "detail"]
    ordering = ["-created_at"]
    can_delete = False
    show_change_link = False

    @admin.display(description="reason")
    def reason_label(self, obj) -> str:
        return REASON_LABELS.get(obj.reason, obj.reason) or "–"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AbandonedCheckout)
class AbandonedCheckoutAdmin(StoreScopedAdmin):
    list_display = [
        local_time("created_at", "abandoned"),
        "buyer_email",
        "buyer_name",
        money("total"),
        "status",
        code_label("last_activity_type", ACTIVITY_LABELS, "last activity"),
        "store",
    ]
    list_filter = [
        StoreListFilter,
        "status",
        CurrencyFilter,
        fixed_filter("last_activity_type", Activity.Type.choices, "last activity"),
    ]
    search_fields = ["=id", "email_key", "last_name", "=checkout_external_id"]
    readonly_fields = [
        "id",
        "store",
        "checkout",
        "status",
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
        "items",
    ]
    exclude = ["line_items"]
    list_select_related = ["store"]
    inlines = [ActivityInline]
    # The (store, created_at DESC, id DESC) index's order: a page is an index range, never a sort.
    ordering = ["-created_at", "-id"]
    actions = ["mark_recovered", "anonymise", "delete_with_event"]

    @admin.display(description="line items")
    def items(self, obj):
        return line_items_table(obj)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        # Deleting must write the `deleted` webhook event: use the action below instead.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        abandoned_checkout_delete(abandoned_checkout_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            abandoned_checkout_delete(abandoned_checkout_id=pk)

    @admin.action(
        description="Mark as recovered (sends the recovered webhook, stops the automations)",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def mark_recovered(self, request, queryset):
        pks = list(queryset.filter(status=AbandonedCheckout.Status.ABANDONED).values_list("pk", flat=True))
        done = sum(abandoned_checkout_recover(abandoned_checkout_id=pk) for pk in pks)
        self.message_user(request, f"Marked {done} abandoned checkout(s) as recovered.", messages.SUCCESS)

    @admin.action(
        description="Delete the selected abandoned checkouts (sends the deleted webhook)", permissions=["delete"]
    )
    def delete_with_event(self, request, queryset):
        deleted = sum(
            abandoned_checkout_delete(abandoned_checkout_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Deleted {deleted} abandoned checkout(s).", messages.SUCCESS)

    @admin.action(description="Anonymise the selected buyers (GDPR erasure)", permissions=["change"])
    def anonymise(self, request, queryset):
        done = sum(
            abandoned_checkout_anonymise(abandoned_checkout_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Anonymised {done} abandoned checkout(s).", messages.SUCCESS)


@admin.register(Activity)
class ActivityAdmin(StoreScopedAdmin):
    list_display = [
        local_time("created_at", "created"),
        "type",
        code_label("reason", REASON_LABELS, "reason"),
        "abandoned_checkout",
        "store",
    ]
    list_filter = [StoreListFilter, "type"]
    search_fields = ["=abandoned_checkout__id"]
    autocomplete_fields = ["abandoned_checkout"]
    list_select_related = ["store", "abandoned_checkout"]
    readonly_fields = ["created_at"]
    ordering = ["-created_at", "-id"]


@admin.register(IngestedEvent)
class IngestedEventAdmin(StoreScopedAdmin):
    list_display = ["event_id", "store", "outcome", local_time("created_at", "received")]
    list_filter = [
        StoreListFilter,
        fixed_filter(
            "outcome",
            [(value, value.replace("_", " ").capitalize()) for name, value in vars(Outcome).items() if name.isupper()],
        ),
    ]
    search_fields = ["=event_id"]
    readonly_fields = ["store", "event_id", "body_hash", "outcome", "created_at"]
    list_select_related = ["store"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(StoreScopedAdmin):
    list_display = [local_time("created_at", "created"), "type", "entity_id", "sequence", "store"]
    list_filter = [StoreListFilter, "type"]
    search_fields = ["=id", "=entity_id"]
    readonly_fields = ["id", "store", "type", "entity_id", "sequence", "payload", "created_at"]
    list_select_related = ["store"]
    ordering = ["-created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ErasureRecord)
class ErasureRecordAdmin(StoreScopedAdmin):
    """The proof that buyers were erased: read-only, as written by the erasure itself."""

    list_display = [local_time("erased_at", "erased"), "store", "actor_label", "email_hash"]
    list_filter = [StoreListFilter]
    list_select_related = ["store"]
    search_fields = ["=email_hash"]
    ordering = ["-erased_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
