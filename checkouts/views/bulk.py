"""Bulk delete / anonymise from the list: a confirmation step, then a worker job with live progress."""

from uuid import UUID

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import TemplateView

from ..models import BulkJob, Membership
from ..selectors import abandoned_checkouts_for_store
from ..services import bulk_job_create
from ..services.bulk import BULK_MAX_IDS
from .base import DashboardMixin, is_htmx, safe_next, vary_on_htmx

# The confirmation page names this many of the selected buyers.
PREVIEW_ROWS = 8

_WORDING = {
    BulkJob.Action.DELETE: {
        "title": "Delete {n} abandoned checkout{s}?",
        "question": "They disappear from the list, the API and every figure, and webhook subscribers receive a "
        "'deleted' event for each. This cannot be undone.",
        "button": "Delete {n} checkout{s}",
    },
    BulkJob.Action.ANONYMISE: {
        "title": "Anonymise {n} buyer{s}?",
        "question": "Their email, name, phone and company are erased from these checkouts, their activities and "
        "stored webhook payloads. The checkouts stay in your figures. This cannot be undone.",
        "button": "Anonymise {n} buyer{s}",
    },
}


class BulkStartView(DashboardMixin, View):
    """POST the selected `ids`: first answer is the confirmation page, `confirm=yes` starts the job."""

    min_role = Membership.Role.MANAGER
    http_method_names = ["post"]
    action = BulkJob.Action.DELETE

    def post(self, request, *args, **kwargs):
        try:
            ids = list(dict.fromkeys(str(UUID(value)) for value in request.POST.getlist("ids")))
        except ValueError:
            ids = []
        if not ids:
            messages.error(request, "Select at least one checkout first.")
            return redirect(_back_to_list(request))
        if len(ids) > BULK_MAX_IDS:
            messages.error(request, f"Select at most {BULK_MAX_IDS:,} checkouts at a time.")
            return redirect(_back_to_list(request))
        selected = abandoned_checkouts_for_store(store=self.store).filter(pk__in=ids)
        count = selected.count()
        if count != len(ids):
            # The list only offers this store's rows: another store's id is not found here.
            raise Http404("Some of the selected checkouts do not exist in this store.")
        if request.POST.get("confirm") == "yes":
            job = bulk_job_create(store=self.store, action=self.action, ids=ids, created_by=request.user)
            return redirect("checkouts:bulk_job", pk=job.pk)
        words = {
            key: text.format(n=f"{count:,}", s="" if count == 1 else "s") for key, text in _WORDING[self.action].items()
        }
        return render(
            request,
            "checkouts/bulk_confirm.html",
            {
                **words,
                "count": count,
                "ids": ids,
                "preview": list(selected.only("id", "buyer_email", "first_name", "last_name")[:PREVIEW_ROWS]),
                "back": _back_to_list(request),
            },
        )


def _back_to_list(request) -> str:
    # Only a path on this site: the list with its filters, never an outside address.
    return safe_next(request, request.POST.get("back"), default="/checkouts/", under="/checkouts/")


class BulkJobView(DashboardMixin, TemplateView):
    """A job's progress; htmx polls the fragment until the job is done."""

    min_role = Membership.Role.MANAGER
    template_name = "checkouts/bulk_job.html"

    def get_template_names(self) -> list[str]:
        return ["checkouts/_bulk_progress.html" if is_htmx(self.request) else self.template_name]

    def get(self, request, *args, **kwargs):
        return vary_on_htmx(super().get(request, *args, **kwargs))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job"] = get_object_or_404(BulkJob.objects.filter(store=self.store), pk=self.kwargs["pk"])
        return context
