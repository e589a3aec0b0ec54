"""The admin for tenants: stores, their members and their API keys, written through the store services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from .admin_display import local_time
from .admin_scope import StoreListFilter, StoreScopedAdmin, fixed_filter
from .models import ApiKey, Membership, Store
from .services import (
    LastOwnerError,
    api_key_revoke,
    membership_add,
    membership_remove,
    membership_role_change,
    store_create,
    store_update,
)


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
    min_view_role = min_change_role = Membership.Role.OWNER
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
            try:
                membership_remove(membership=membership)
            except LastOwnerError as exc:
                self.message_user(request, f"{membership}: {exc}", messages.ERROR)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == Membership.Role.OWNER:
            # The last owner cannot be removed (membership_remove refuses): offer no button.
            others = Membership.objects.filter(store_id=obj.store_id, role=Membership.Role.OWNER).exclude(pk=obj.pk)
            if not others.exists():
                return False
        return super().has_delete_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(StoreScopedAdmin):
    min_view_role = min_change_role = Membership.Role.OWNER
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
