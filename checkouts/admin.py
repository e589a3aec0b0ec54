"""The Django admin for every checkouts model. Staff act on their stores as their role allows; superusers on all.

Writes go through the services, as everywhere else: a store is created by `store_create`
(owner, default automation), members change through the membership services (a store keeps
an owner), and a checkout is recovered by `abandoned_checkout_recover` (date, events, steps).
"""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation

from .admin_display import ACTIVITY_LABELS, REASON_LABELS, code_label, line_items_table, local_time, money
from .admin_scope import CurrencyFilter, StoreListFilter, StoreScopedAdmin, StoreScopedInline, fixed_filter
from .models import (
    AbandonedCheckout,
    Activity,
    Checkout,
    ErasureRecord,
    IngestedEvent,
    WebhookEvent,
)
from .services import (
    abandoned_checkout_anonymise,
    abandoned_checkout_delete,
    abandoned_checkout_recover,
)
from .services.ingest import IngestOutcome

# Stores, members and API keys: registered by importing their module.
from . import admin_oauth, admin_stores  # noqa: F401  isort: skip

# Amounts are read here in their currency; prices come from the storefront, not from an admin.
MONEY_FIELDS = ["subtotal", "total", "subtotal_converted", "total_converted"]
PRICES = [f"{name}_text" for name in MONEY_FIELDS]


def _price_column(field: str, currency_field: str):
    column = money(field, field.replace("_", " "), currency_field=currency_field)
    return admin.display(description=field.replace("_", " "))(lambda self, obj: column(obj))


PRICE_COLUMNS = [
    _price_column("subtotal", "currency"),
    _price_column("total", "currency"),
    _price_column("subtotal_converted", "conversion_currency"),
    _price_column("total_converted", "conversion_currency"),
]


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
        "email_key",
        "created_at",
        "updated_at",
        "snapshot_event_id",
        "abandon_due_at",
        *PRICES,
        "items",
    ]
    exclude = ["line_items", *MONEY_FIELDS]
    list_defer = ("line_items", "applied_discounts", "vat_id")
    list_select_related = ["store"]
    # The (store, created_at DESC, id DESC) index's order.
    ordering = ["-created_at", "-id"]

    subtotal_text, total_text, subtotal_converted_text, total_converted_text = PRICE_COLUMNS

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj is not None else self.readonly_fields

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
        "last_activity_label",
        "last_activity_at",
        "event_sequence",
        "email_key",
        *PRICES,
        "items",
    ]
    exclude = ["line_items", "last_activity_type", *MONEY_FIELDS]
    list_defer = ("line_items", "applied_discounts", "vat_id")
    list_select_related = ["store"]
    inlines = [ActivityInline]
    # The (store, created_at DESC, id DESC) index's order: a page is an index range, never a sort.
    ordering = ["-created_at", "-id"]
    actions = ["mark_recovered", "anonymise", "delete_with_event"]

    subtotal_text, total_text, subtotal_converted_text, total_converted_text = PRICE_COLUMNS

    def has_add_permission(self, request) -> bool:
        # Abandoned checkouts come from the sweep, which writes their `created` event and schedule.
        return False

    @admin.display(description="line items")
    def items(self, obj):
        return line_items_table(obj)

    @admin.display(description="last activity")
    def last_activity_label(self, obj) -> str:
        return ACTIVITY_LABELS.get(obj.last_activity_type, obj.last_activity_type) or "–"

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        # Deleting must write the `deleted` webhook event: use the action below instead.
        actions.pop("delete_selected", None)
        return actions

    # store=None on purpose in the four calls below: the admin's queryset is already scoped
    # to the stores this user may change (StoreScopedAdmin), and a superuser acts across stores.
    def delete_model(self, request, obj):
        abandoned_checkout_delete(abandoned_checkout_id=obj.pk, store=None)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            abandoned_checkout_delete(abandoned_checkout_id=pk, store=None)

    @admin.action(
        description="Mark as recovered (sends the recovered webhook, stops the automations)",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def mark_recovered(self, request, queryset):
        pks = list(queryset.abandoned().values_list("pk", flat=True))
        done = sum(abandoned_checkout_recover(abandoned_checkout_id=pk) for pk in pks)
        self.message_user(request, f"Marked {done} abandoned checkout(s) as recovered.", messages.SUCCESS)

    @admin.action(
        description="Delete the selected abandoned checkouts (sends the deleted webhook)", permissions=["delete"]
    )
    def delete_with_event(self, request, queryset):
        deleted = sum(
            abandoned_checkout_delete(abandoned_checkout_id=pk, store=None)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Deleted {deleted} abandoned checkout(s).", messages.SUCCESS)

    @admin.action(description="Anonymise the selected buyers (GDPR erasure)", permissions=["change"])
    def anonymise(self, request, queryset):
        done = sum(
            abandoned_checkout_anonymise(abandoned_checkout_id=pk, store=None)
            for pk in queryset.values_list("pk", flat=True)
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
    list_select_related = ["store", "abandoned_checkout"]
    # The checkout column shows its buyer and date, not the JSON that makes its row wide.
    list_defer = tuple(f"abandoned_checkout__{name}" for name in ("line_items", "applied_discounts", "vat_id"))
    # The (store, created_at DESC, id DESC) index's order.
    ordering = ["-created_at", "-id"]

    # The timeline as the automations wrote it (one activity per step, the checkout's last
    # activity kept in step): read here, never written by hand.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestedEvent)
class IngestedEventAdmin(StoreScopedAdmin):
    list_display = ["event_id", "store", "outcome", local_time("created_at", "received")]
    list_filter = [
        StoreListFilter,
        fixed_filter("outcome", IngestOutcome.choices),
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
