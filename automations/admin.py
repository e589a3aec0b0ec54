"""The Django admin for automations, their schedule and what they left behind (read-mostly)."""

from django.contrib import admin

from checkouts.admin import StoreScopedAdmin

from .models import (
    Automation,
    AutomationStep,
    Notification,
    ScheduledStep,
    SentEmail,
    StepTranslation,
    Task,
    Unsubscribe,
)


class StepInline(admin.StackedInline):
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
    list_display = ["name", "store", "active", "min_total", "require_email", "holdout_percent", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "store__name"]
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    inlines = [StepInline]


class TranslationInline(admin.StackedInline):
    model = StepTranslation
    extra = 0


@admin.register(AutomationStep)
class AutomationStepAdmin(StoreScopedAdmin):
    store_path = "automation__store"
    list_display = ["__str__", "automation", "action", "archived"]
    list_filter = ["action", "archived"]
    list_select_related = ["automation"]
    inlines = [TranslationInline]


@admin.register(ScheduledStep)
class ScheduledStepAdmin(StoreScopedAdmin):
    list_display = ["id", "due_at", "state", "reason", "activity_type", "attempts", "holdout", "automation", "store"]
    list_filter = ["state", "reason", "holdout"]
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
    list_display = ["title", "assignee", "due_at", "done_at", "store"]
    list_filter = [("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    list_select_related = ["assignee", "store"]
    raw_id_fields = ["abandoned_checkout", "scheduled_step"]


@admin.register(Notification)
class NotificationAdmin(StoreScopedAdmin):
    list_display = ["text", "recipient", "created_at", "read_at", "store"]
    list_select_related = ["recipient", "store"]
    raw_id_fields = ["abandoned_checkout", "scheduled_step"]


@admin.register(Unsubscribe)
class UnsubscribeAdmin(StoreScopedAdmin):
    list_display = ["email", "store", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["email"]
    list_select_related = ["store"]


@admin.register(SentEmail)
class SentEmailAdmin(StoreScopedAdmin):
    """Sent mail as it went out: readable, never editable."""

    list_display = ["sent_at", "to_email", "subject", "kind", "store"]
    list_filter = ["kind"]
    search_fields = ["to_email", "subject", "=idempotency_key"]
    list_select_related = ["store"]
    ordering = ["-sent_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
