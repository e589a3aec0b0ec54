"""The Django admin for automations, their schedule and what they left behind (read-mostly)."""

from django.contrib import admin

from checkouts.admin_display import ACTIVITY_LABELS, REASON_LABELS, code_label, local_time, money
from checkouts.admin_scope import StoreListFilter, StoreScopedAdmin, StoreScopedInline

from .models import (
    Automation,
    AutomationStep,
    Notification,
    Reason,
    ScheduledStep,
    SentEmail,
    StepTranslation,
    Task,
    Unsubscribe,
)

# The checkouts admin shows an activity's reason by name; the names are this app's.
REASON_LABELS.update(Reason.choices)


class StepInline(StoreScopedInline, admin.StackedInline):
    model = AutomationStep
    extra = 0
    fields = [
        ("position", "delay_value", "delay_unit", "action", "archived"),
        "subject",
        "body",
        "message",
        "notify_members",
        ("task_title", "task_assignee", "task_due_days"),
    ]
    filter_horizontal = ["notify_members"]
    show_change_link = True


@admin.register(Automation)
class AutomationAdmin(StoreScopedAdmin):
    list_display = [
        "name",
        "store",
        "active",
        money("min_total", "minimum total", currency_field=None),
        "require_email",
        "holdout_percent",
        local_time("created_at", "created"),
    ]
    list_filter = [StoreListFilter, "active"]
    search_fields = ["name", "store__name"]
    list_select_related = ["store"]
    inlines = [StepInline]


class TranslationInline(StoreScopedInline, admin.StackedInline):
    model = StepTranslation
    extra = 0


@admin.register(AutomationStep)
class AutomationStepAdmin(StoreScopedAdmin):
    store_path = "automation__store"
    list_display = ["__str__", "automation", "action", "archived"]
    list_filter = [StoreListFilter, "action", "archived"]
    list_select_related = ["automation"]
    filter_horizontal = ["notify_members"]
    inlines = [TranslationInline]


@admin.register(ScheduledStep)
class ScheduledStepAdmin(StoreScopedAdmin):
    list_display = [
        "id",
        local_time("due_at", "due"),
        "state",
        code_label("reason", dict(Reason.choices)),
        code_label("activity_type", ACTIVITY_LABELS, "activity"),
        "attempts",
        "holdout",
        "automation",
        "store",
    ]
    list_filter = [StoreListFilter, "state", "reason", "holdout"]
    search_fields = ["=abandoned_checkout__id"]
    list_select_related = ["automation", "store"]
    readonly_fields = [
        "store",
        "automation",
        "step",
        "abandoned_checkout",
        "holdout",
        "attempts",
        "reason",
        "activity_type",
        "last_error",
        "created_at",
        "finished_at",
    ]
    ordering = ["-due_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(StoreScopedAdmin):
    list_display = ["title", "assignee", local_time("due_at", "due"), local_time("done_at", "done"), "store"]
    list_filter = [StoreListFilter, ("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    list_select_related = ["assignee", "store"]
    raw_id_fields = ["abandoned_checkout", "scheduled_step"]


@admin.register(Notification)
class NotificationAdmin(StoreScopedAdmin):
    list_display = ["text", "recipient", local_time("created_at", "created"), local_time("read_at", "read"), "store"]
    list_filter = [StoreListFilter]
    list_select_related = ["recipient", "store"]
    raw_id_fields = ["abandoned_checkout", "scheduled_step"]


@admin.register(Unsubscribe)
class UnsubscribeAdmin(StoreScopedAdmin):
    list_display = ["email", "store", "source", local_time("created_at", "created")]
    list_filter = [StoreListFilter, "source"]
    search_fields = ["email"]
    list_select_related = ["store"]


@admin.register(SentEmail)
class SentEmailAdmin(StoreScopedAdmin):
    """Sent mail as it went out: readable, never editable."""

    list_display = [local_time("sent_at", "sent"), "to_email", "subject", "kind", "store"]
    list_filter = [StoreListFilter, "kind"]
    search_fields = ["to_email", "subject", "=idempotency_key"]
    list_select_related = ["store"]
    ordering = ["-sent_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
