"""What a staff user may see and do in the Django admin: their role in each store decides.

Viewers view, managers change their store's records, owners also change memberships and API
keys (`min_change_role`); superusers keep full access. Every queryset, every choice list and
every submitted foreign key is held to the stores (and, for an existing row, the store) the
user may act on: a POST naming another store's object is a validation error, not a leak.
"""

import zoneinfo
from collections.abc import Iterable
from contextlib import nullcontext
from uuid import UUID

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import format_html

from .admin_lists import KeysFirstPaginator, LeanChangeList
from .models import Membership, Store

# model -> the path from a row to its store ("store", "automation__store", "pk" for Store),
# filled as each StoreScopedAdmin is registered, so a related object's store can be found
# without this module importing the automations app.
STORE_PATHS: dict[type[models.Model], str] = {Store: "pk", Membership: "store"}

_ROLES_ATTR = "_admin_store_roles"


def store_roles(request) -> dict[UUID, str]:
    """{store id: role} for the signed-in user, read once per request."""
    roles = getattr(request, _ROLES_ATTR, None)
    if roles is None:
        user = request.user
        roles = (
            dict(Membership.objects.filter(user=user).values_list("store_id", "role")) if user.is_authenticated else {}
        )
        setattr(request, _ROLES_ATTR, roles)
    return roles


def store_ids_with_role(request, role: str) -> list[UUID]:
    """The stores where the user has `role` or a higher one."""
    rank = Membership.RANK[role]
    return [store_id for store_id, held in store_roles(request).items() if Membership.RANK[held] >= rank]


def store_lookup(model: type[models.Model]) -> str:
    """The ORM lookup that compares a row's store id (e.g. `automation__store_id`)."""
    path = STORE_PATHS[model]
    return "pk" if path == "pk" else f"{path}_id"


def store_id_of(obj: models.Model | None) -> UUID | None:
    """The store an object belongs to, following its registered path (None if not store-scoped)."""
    if obj is None:
        return None
    path = STORE_PATHS.get(type(obj))
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id")


def _values(value) -> Iterable[models.Model]:
    if value is None:
        return []
    if isinstance(value, models.Model):
        return [value]
    return list(value)


def scoped_form(form_class: type[forms.ModelForm], *, request, store_id: UUID | None, min_role: str, free=()):
    """`form_class` with its choices limited to `store_id` (or, for a new row, the user's stores)
    and a clean() that refuses a related object of any other store.

    `free` names user fields that may name any user (a new member is not in the store yet).
    """
    User = get_user_model()
    superuser = request.user.is_superuser
    allowed = None if superuser else store_ids_with_role(request, min_role)

    def limit(queryset: QuerySet, name: str) -> QuerySet:
        model = queryset.model
        if model is User:
            if name in free:
                return queryset
            if store_id is not None:
                return queryset.filter(memberships__store_id=store_id)
            return queryset if allowed is None else queryset.filter(memberships__store_id__in=allowed).distinct()
        if model not in STORE_PATHS:
            return queryset
        if store_id is not None:
            return queryset.filter(**{store_lookup(model): store_id})
        return queryset if allowed is None else queryset.filter(**{f"{store_lookup(model)}__in": allowed})

    class StoreScopedForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name, field in self.fields.items():
                if isinstance(field, forms.ModelChoiceField):
                    field.queryset = limit(field.queryset, name)

        def clean(self):
            cleaned = super().clean()
            target = self._target_store(cleaned)
            if target is None:
                return cleaned
            for name, field in self.fields.items():
                if not isinstance(field, forms.ModelChoiceField) or name not in cleaned:
                    continue
                chosen = _values(cleaned[name])
                if field.queryset.model is User:
                    if name in free or not chosen:
                        continue
                    members = set(
                        Membership.objects.filter(store_id=target, user__in=chosen).values_list("user_id", flat=True)
                    )
                    if any(user.pk not in members for user in chosen):
                        self.add_error(name, "Choose a member of this record's store.")
                elif any(store_id_of(item) not in (None, target) for item in chosen):
                    self.add_error(name, "That belongs to another store: choose one of this record's store.")
            return cleaned

        def _target_store(self, cleaned) -> UUID | None:
            # A row's store is its own (existing rows), or the store it is being put in.
            path = STORE_PATHS.get(self._meta.model)
            if path and path != "pk":
                parent = cleaned.get(path.split("__")[0])
                if isinstance(parent, models.Model):
                    return parent.pk if isinstance(parent, Store) else store_id_of(parent)
            return store_id

    StoreScopedForm.__name__ = form_class.__name__
    return StoreScopedForm


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


class StoreScopedAdmin(admin.ModelAdmin):
    """A model admin whose rows, choices and permissions follow the user's role in each store."""

    store_path = "store"
    # The least role that may see the rows (owners only for memberships and keys, as in Settings).
    min_view_role = Membership.Role.VIEWER
    # The least role that may add, change or delete (owners only for memberships and keys).
    min_change_role = Membership.Role.MANAGER
    # User fields that may name any user, not only the store's members.
    free_user_fields: tuple[str, ...] = ()
    # These tables grow without bound: never COUNT(*) them for the changelist.
    show_full_result_count = False
    paginator = KeysFirstPaginator

    # Columns a list never shows (line items JSON): left out of its SELECT.
    list_defer: tuple[str, ...] = ()

    def __init__(self, model, admin_site):
        STORE_PATHS[model] = self.store_path
        super().__init__(model, admin_site)

    # Rows ---------------------------------------------------------------------------------

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # A list of ids, not a join through memberships: the planner then walks the
        # (store, created_at, id) indexes instead of sorting every row the join yields.
        return self.of_stores(queryset, store_ids_with_role(request, self.min_view_role))

    def of_stores(self, queryset: QuerySet, store_ids: list) -> QuerySet:
        """The rows of `store_ids`, compared on the row's own column (an admin whose rows reach
        their store through a parent compares the parents' ids, fetched once, instead of joining)."""
        return queryset.filter(**{f"{store_lookup(self.model)}__in": store_ids})

    def get_changelist(self, request, **kwargs):
        return LeanChangeList

    def get_changeform_initial_data(self, request) -> dict:
        """The add form's initial values from the query string, less those that are not values
        of their field (`?checkout=oops` would otherwise fail the page with a 500)."""
        initial = super().get_changeform_initial_data(request)
        return {name: value for name, value in initial.items() if _valid_initial(self.model, name, value)}

    def action_checkbox(self, obj):
        # Django's markup, without a form widget's template render for each of 100 rows.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            f"Select this object for an action - {obj}",
        )

    def changeable(self, request, queryset: QuerySet) -> QuerySet:
        """The part of `queryset` the user may change (actions run on this only)."""
        if request.user.is_superuser:
            return queryset
        return self.of_stores(queryset, store_ids_with_role(request, self.min_change_role))

    def response_action(self, request, queryset, action_location=ActionLocation.CHANGE_LIST):
        return super().response_action(request, self.changeable(request, queryset), action_location=action_location)

    # Permissions --------------------------------------------------------------------------

    def _allows(self, request, obj, role: str) -> bool:
        if request.user.is_superuser:
            return True
        stores = store_ids_with_role(request, role)
        if obj is None:
            return bool(stores)
        return store_id_of(obj) in stores

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser or bool(store_roles(request))

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allows(request, obj, self.min_view_role)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allows(request, obj, self.min_change_role)

    def has_add_permission(self, request) -> bool:
        return self._allows(request, None, self.min_change_role)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allows(request, obj, self.min_change_role)

    # Forms --------------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return scoped_form(
            form,
            request=request,
            store_id=store_id_of(obj) if change else None,
            min_role=self.min_change_role,
            free=self.free_user_fields,
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Times on a record's page read (and are typed) in its store's time zone.
        zone = self._record_zone(request, object_id)
        with timezone.override(zone) if zone else nullcontext():
            response = super().changeform_view(request, object_id, form_url, extra_context)
            # A TemplateResponse renders later, outside this block, unless rendered here.
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response

    def _record_zone(self, request, object_id) -> zoneinfo.ZoneInfo | None:
        if object_id is None:
            return None
        try:
            obj = self.get_object(request, unquote(object_id))
        except (ValueError, TypeError):
            return None
        store_id = store_id_of(obj)
        if store_id is None:
            return None
        time_zone = Store.objects.filter(pk=store_id).values_list("time_zone", flat=True).first()
        return zoneinfo.ZoneInfo(time_zone) if time_zone else None


class StoreScopedInline:
    """An inline whose permissions are its parent's and whose choices are the parent's store's."""

    def _parent_admin(self) -> StoreScopedAdmin:
        return self.admin_site.get_model_admin(self.parent_model)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._parent_admin().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = scoped_form(
            formset.form,
            request=request,
            store_id=store_id_of(obj),
            min_role=self._parent_admin().min_change_role,
        )
        return formset


class StoreListFilter(admin.SimpleListFilter):
    """Filter by store, its choices the user's stores: never a SELECT DISTINCT over a big table."""

    title = "store"
    parameter_name = "store"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.model_admin = model_admin

    def lookups(self, request, model_admin):
        stores = Store.objects.order_by("name")
        if not request.user.is_superuser:
            stores = stores.filter(pk__in=list(store_roles(request)))
        return [(str(pk), name) for pk, name in stores.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return self.model_admin.of_stores(queryset, [self.value()])


class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter on a code column with a known set of values (no DISTINCT over the table)."""

    options: list[tuple[str, str]] = []

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.parameter_name: self.value()})


def fixed_filter(field: str, choices: Iterable[tuple[str, str]], title: str | None = None) -> type[FixedChoicesFilter]:
    return type(
        f"{field.title().replace('_', '')}Filter",
        (FixedChoicesFilter,),
        {"parameter_name": field, "title": title or field.replace("_", " "), "options": list(choices)},
    )


class CurrencyFilter(admin.SimpleListFilter):
    """Currencies of the user's stores: the values a list can hold, without scanning it."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        stores = Store.objects.all()
        if not request.user.is_superuser:
            stores = stores.filter(pk__in=list(store_roles(request)))
        return [(code, code) for code in stores.order_by("currency").values_list("currency", flat=True).distinct()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(currency=self.value())
