"""Every email Comeback sent, readable by the merchant."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView

from checkouts.pagination import SortKey
from checkouts.views.base import DashboardMixin

from .. import selectors
from ..messages.render import without_open_pixel
from .automations import email_frame
from .base import KeysetListMixin

PAGE_SIZE = 50


class SentEmailListView(KeysetListMixin, DashboardMixin, TemplateView):
    template_name = "automations/email_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        emails = selectors.sent_emails_with_engagement(store=self.store).defer("text_body", "html_body")
        keys = [SortKey("sent_at", True), SortKey("id", True)]
        pager = self.keyset_pager(emails, keys, limit=PAGE_SIZE, salt="automations.emails")
        context.update(pager=pager, emails=pager.items)
        return context


class SentEmailDetailView(DashboardMixin, TemplateView):
    template_name = "automations/email_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        emails = selectors.sent_emails_with_engagement(store=self.store).select_related(
            "scheduled_step__automation", "scheduled_step__step"
        )
        email = get_object_or_404(emails, pk=self.kwargs["pk"])
        context.update(email=email, clicks=selectors.sent_email_clicks(email=email) if email.clicked else None)
        return context


@method_decorator(email_frame, name="dispatch")
class SentEmailHtmlView(DashboardMixin, View):
    def get(self, request, *args, **kwargs):
        email = get_object_or_404(selectors.sent_emails_for_store(store=self.store), pk=self.kwargs["pk"])
        # Without its open pixel: the merchant reading the email is not the buyer opening it.
        return HttpResponse(without_open_pixel(email.html_body) or "<p>This email had no HTML part.</p>")
