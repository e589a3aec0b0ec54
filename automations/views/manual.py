"""“Send recovery email now” on a checkout, and for a selection of checkouts."""

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import TemplateSyntaxError
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView

from checkouts.models import Membership
from checkouts.selectors import abandoned_checkouts_for_store
from checkouts.views.base import DashboardMixin, safe_next
from config.wakeups import wake_up_publish

from ..models import Reason
from ..selectors import checkout_path
from ..services.manual import (
    ManualResult,
    bulk_summary,
    last_recovery_email_at,
    recovery_email_preview,
    recovery_email_send,
    recovery_email_unavailable,
    recovery_emails_send_bulk,
)
from ..tasks import recovery_emails_send_bulk_task
from .automations import email_frame

# Up to this many are sent while the merchant waits; a bigger selection goes to the worker.
BULK_INLINE_LIMIT = 20
# One bulk request may not name more checkouts than a list page can select.
BULK_MAX = 1000


class RecoveryEmailView(DashboardMixin, TemplateView):
    template_name = "automations/recovery_email_confirm.html"
    min_role = Membership.Role.MANAGER

    def get_checkout(self):
        queryset = abandoned_checkouts_for_store(store=self.store).select_related("store")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        checkout = self.get_checkout()
        last = last_recovery_email_at(abandoned_checkout_id=checkout.pk)
        guard = settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES
        try:
            email, error = recovery_email_preview(abandoned_checkout=checkout), ""
        except TemplateSyntaxError as exc:
            email, error = None, str(exc)
        context.update(
            checkout=checkout,
            email=email,
            error=error,
            last_sent_at=last,
            guard_minutes=guard,
            guarded=bool(last and (timezone.now() - last).total_seconds() < guard * 60),
            unavailable=recovery_email_unavailable(checkout),
            checkout_url=checkout_path(checkout.pk),
        )
        return context

    def post(self, request, *args, **kwargs):
        checkout = self.get_checkout()
        outcome = recovery_email_send(store=self.store, abandoned_checkout_id=checkout.pk, user=request.user)
        if outcome.result == ManualResult.SENT:
            messages.success(request, f"Recovery email sent to {outcome.sent_email.to_email}.")
        elif outcome.result == ManualResult.GUARDED:
            when = timezone.localtime(outcome.last_sent_at, self.store.zone)
            if outcome.reason == Reason.RECENTLY_CONTACTED:
                # The store's frequency cap: any of the buyer's checkouts, email or text.
                messages.warning(
                    request,
                    f"Not sent: this buyer got a recovery message at {when:%Y-%m-%d %H:%M}, "
                    "within the store's contact window.",
                )
            else:
                messages.warning(
                    request,
                    f"Not sent: a recovery email already went to this buyer at {when:%Y-%m-%d %H:%M} "
                    f"(less than {settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES} minutes ago).",
                )
        elif outcome.blocked:
            messages.error(request, f"Not sent. {outcome.blocked.message(self.store.zone)}")
        else:
            messages.error(request, f"Not sent: {Reason(outcome.reason).label}.")
        return redirect(checkout_path(checkout.pk))


@method_decorator(email_frame, name="dispatch")
class RecoveryEmailHtmlView(RecoveryEmailView):
    def get(self, request, *args, **kwargs):
        return HttpResponse(recovery_email_preview(abandoned_checkout=self.get_checkout()).html)


class RecoveryEmailBulkView(DashboardMixin, View):
    min_role = Membership.Role.MANAGER

    def post(self, request, *args, **kwargs):
        selected = request.POST.getlist("ids")
        back = safe_next(request, request.POST.get("next"), default="/checkouts/", under="/checkouts/")
        if len(selected) > BULK_MAX:
            # Refused with the reason rather than cut to the first 1,000 without a word.
            messages.error(request, f"Select at most {BULK_MAX:,} checkouts at a time.")
            return redirect(back)
        ids = []
        for raw in selected:
            try:
                ids.append(UUID(raw))
            except ValueError:
                continue
        if not ids:
            messages.error(request, "Select at least one checkout.")
            return redirect(back)
        if len(ids) > BULK_INLINE_LIMIT:
            args = (str(self.store.pk), [str(pk) for pk in ids], request.user.pk)
            transaction.on_commit(lambda: wake_up_publish(recovery_emails_send_bulk_task, *args))
            messages.info(
                request,
                f"Sending recovery emails to {len(ids)} checkouts in the background; "
                "you will get a notification with the results.",
            )
            return redirect(back)
        counts = recovery_emails_send_bulk(store=self.store, ids=ids, user=request.user)
        messages.success(request, bulk_summary(counts))
        return redirect(back)
