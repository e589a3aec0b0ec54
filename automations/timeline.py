"""What automations add to a checkout's timeline: the emails it was sent (readable) and its tasks."""

from django.urls import reverse

from checkouts.extensions import TimelineEntry

from .models import SentEmail, Task

# The timeline shows recent history; a checkout rarely has more of either.
LIMIT = 20


def checkout_timeline(abandoned_checkout) -> list[TimelineEntry]:
    """Two queries, whatever the checkout's history."""
    emails = (
        SentEmail.objects.filter(abandoned_checkout=abandoned_checkout)
        .exclude(kind=SentEmail.Kind.STAFF)
        .only("pk", "subject", "to_email", "kind", "sent_at", "message_id")
        .order_by("-sent_at")[:LIMIT]
    )
    tasks = (
        Task.objects.filter(abandoned_checkout=abandoned_checkout)
        .select_related("assignee")
        .order_by("-created_at")[:LIMIT]
    )
    entries = [
        TimelineEntry(
            at=email.sent_at,
            kind="email",
            title=f"Email: {email.subject}",
            detail=f"To {email.to_email} · {email.get_kind_display()}",
            status="ok",
            url=reverse("automations:email_detail", args=[email.pk]),
            key=f"message:{email.message_id}",
        )
        for email in emails
    ]
    entries += [
        TimelineEntry(
            at=task.created_at,
            kind="task",
            title=f"Task: {task.title}",
            detail=("Done" if task.is_done else "Open")
            + (f" · {task.assignee.get_username()}" if task.assignee else ""),
            status="ok" if task.is_done else "warning",
            url=reverse("automations:tasks") + ("?show=done" if task.is_done else ""),
        )
        for task in tasks
    ]
    return entries
