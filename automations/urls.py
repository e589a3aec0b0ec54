"""Automation, task and notification pages, the unsubscribe page and the recovery-email actions."""

from django.urls import path

from .views import (
    automations,
    contact,
    discounts,
    emails,
    engagement,
    manual,
    notifications,
    tasks,
    text_opt_out,
    unsubscribe,
)

app_name = "automations"

urlpatterns = [
    path("automations/", automations.AutomationListView.as_view(), name="list"),
    path("automations/contact-rules/", contact.ContactPolicyView.as_view(), name="contact_policy"),
    path("automations/new/", automations.AutomationCreateView.as_view(), name="create"),
    path("automations/<int:pk>/", automations.AutomationDetailView.as_view(), name="detail"),
    path("automations/<int:pk>/edit/", automations.AutomationUpdateView.as_view(), name="edit"),
    path("automations/<int:pk>/discount/", discounts.AutomationDiscountView.as_view(), name="discount"),
    path("automations/<int:pk>/active/", automations.AutomationActiveView.as_view(), name="active"),
    path("automations/<int:pk>/preview/", automations.AutomationPreviewView.as_view(), name="preview"),
    path("automations/<int:pk>/preview/html/", automations.AutomationPreviewHtmlView.as_view(), name="preview_html"),
    path("automations/<int:pk>/test-email/", automations.AutomationTestEmailView.as_view(), name="test_email"),
    path(
        "automations/<int:pk>/steps/<int:step_pk>/translations/",
        automations.StepTranslationsView.as_view(),
        name="translations",
    ),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("tasks/<int:pk>/done/", tasks.TaskDoneView.as_view(), name="task_done"),
    path("tasks/<int:pk>/assign/", tasks.TaskAssignView.as_view(), name="task_assign"),
    path("notifications/", notifications.NotificationListView.as_view(), name="notifications"),
    path("notifications/read/", notifications.NotificationsReadView.as_view(), name="notifications_read"),
    path("notifications/<int:pk>/", notifications.NotificationOpenView.as_view(), name="notification_open"),
    path("emails/", emails.SentEmailListView.as_view(), name="emails"),
    path("emails/<int:pk>/", emails.SentEmailDetailView.as_view(), name="email_detail"),
    path("emails/<int:pk>/html/", emails.SentEmailHtmlView.as_view(), name="email_html"),
    path("sms/opt-outs/", text_opt_out.TextOptOutView.as_view(), name="text_opt_out"),
    path("open/<str:token>.gif", engagement.OpenPixelView.as_view(), name="open_pixel"),
    path("unsubscribe/<str:token>/", unsubscribe.UnsubscribeView.as_view(), name="unsubscribe"),
    path("checkouts/<uuid:pk>/recovery-email/", manual.RecoveryEmailView.as_view(), name="recovery_email"),
    path(
        "checkouts/<uuid:pk>/recovery-email/html/", manual.RecoveryEmailHtmlView.as_view(), name="recovery_email_html"
    ),
    path("checkouts/bulk/recovery-email/", manual.RecoveryEmailBulkView.as_view(), name="recovery_email_bulk"),
]
