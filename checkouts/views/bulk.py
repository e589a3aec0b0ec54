"""Bulk actions from the list: the generic confirmation step (count, buyers, an optional preview)
for every registered bulk action, then, for delete / anonymise, a worker job with live progress."""

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from ..extensions import CheckoutAction, bulk_action
from ..filters import AbandonedCheckoutFilter, sort_keys
from ..models import BulkJob, Membership, Store
from ..pagination import capped_count
from ..selectors import abandoned_checkouts_for_store
from ..services import bulk_job_create
from ..services.bulk import BULK_MAX_IDS
from .base import DashboardMixin, filled, is_htmx, safe_next, vary_on_htmx

# The confirmation page names this many of the selected buyers.
PREVIEW_ROWS = 8
# Ids one form may carry: the documented maximum of a selection (DATA_UPLOAD_MAX_NUMBER_FIELDS
# leaves room for it). Bigger selections go by filter ("all matching").
FORM_MAX_IDS = 1000


class SelectionError(Exception):
    """The POST names no usable selection; the message says why."""


@dataclass
class Selection:
    """What a bulk POST selected: explicit ids, or every row matching the list's filter."""

    queryset: QuerySet
    count: int
    capped: bool
    ids: list[str]
    filter_query: str = ""

    @property
    def all_matching(self) -> bool:
        return bool(self.filter_query) or not self.ids


def read_selection(request: HttpRequest, *, store: Store, cap: int) -> Selection:
    """`ids` (repeated) or `scope=all` with `filter` (the list's query string), store-scoped."""
    base = abandoned_checkouts_for_store(store=store)
    if request.POST.get("scope") == "all":
        query = request.POST.get("filter", "")
        params = filled(QueryDict(query))
        filterset = AbandonedCheckoutFilter(params, queryset=base, zone=store.zone)
        if not filterset.is_valid():
            raise SelectionError("The list's filters are not valid any more; apply them again.")
        _, keys = sort_keys(params.get("sort"))
        queryset = filterset.qs.order_by(*(key.order_by for key in keys))
        count, capped = capped_count(queryset, cap=cap)
        if not count:
            raise SelectionError("No checkouts match these filters any more.")
        return Selection(queryset, count, capped, [], filter_query=query)
    try:
        ids = list(dict.fromkeys(str(UUID(value)) for value in request.POST.getlist("ids")))
    except ValueError:
        ids = []
    if not ids:
        raise SelectionError("Select at least one checkout first.")
    if len(ids) > min(cap, FORM_MAX_IDS):
        raise SelectionError(f"Select at most {min(cap, FORM_MAX_IDS):,} checkouts at a time.")
    # In the list's default order, so the preview shows the buyers as the list did.
    queryset = base.filter(pk__in=ids).order_by("-created_at", "-id")
    count = queryset.count()
    if count != len(ids):
        # The list only offers this store's rows: another store's id is not found here.
        raise Http404("Some of the selected checkouts do not exist in this store.")
    return Selection(queryset, count, False, ids)


def selected_ids(selection: Selection, *, cap: int) -> list[str]:
    """The ids an action works on: the explicit ones, or the first `cap` matching in list order."""
    if selection.ids:
        return selection.ids
    return [str(pk) for pk in selection.queryset.values_list("pk", flat=True)[:cap]]


def confirmation_page(request, *, action: CheckoutAction, selection: Selection):
    count = selection.count
    words = {
        key: getattr(action.confirm, key).format(n=f"{count:,}", s="" if count == 1 else "s")
        for key in ("title", "question", "button")
    }
    preview = list(selection.queryset.only("id", "buyer_email", "first_name", "last_name")[:PREVIEW_ROWS])
    back = back_to_list(request)
    send_filter = selection.all_matching and action.takes_filter
    return render(
        request,
        "checkouts/bulk_confirm.html",
        {
            **words,
            "action": action,
            "action_url": reverse(action.url_name),
            "count": count,
            "capped": selection.capped,
            "all_matching": selection.all_matching,
            "filter_query": selection.filter_query if send_filter else "",
            "ids": [] if send_filter else selected_ids(selection, cap=action_cap(action)),
            "preview": preview,
            "preview_url": reverse(action.confirm.preview_url_name, kwargs={"pk": preview[0].pk})
            if action.confirm.preview_url_name and preview
            else "",
            "back": back,
        },
    )


def action_cap(action: CheckoutAction) -> int:
    """The most rows one run of `action` works on."""
    return BULK_MAX_IDS if action.takes_filter else min(action.max_rows, FORM_MAX_IDS)


class BulkConfirmView(DashboardMixin, View):
    """POST from the list's bulk bar (`action` names the registered action): its confirmation page."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        action = bulk_action(request.POST.get("action", ""))
        if action is None or action.confirm is None:
            raise Http404("No such bulk action.")
        if not self.membership.allows(action.min_role):
            raise PermissionDenied(f"This needs the {Membership.Role(action.min_role).label} role or higher.")
        try:
            selection = read_selection(request, store=self.store, cap=action_cap(action))
        except SelectionError as error:
            messages.error(request, str(error))
            return redirect(back_to_list(request))
        return confirmation_page(request, action=action, selection=selection)


class BulkStartView(DashboardMixin, View):
    """POST the selection: without `confirm=yes` the confirmation page, with it the job starts."""

    min_role = Membership.Role.MANAGER
    http_method_names = ["post"]
    action = BulkJob.Action.DELETE
    url_names = {BulkJob.Action.DELETE: "checkouts:bulk_delete", BulkJob.Action.ANONYMISE: "checkouts:bulk_anonymise"}

    def post(self, request, *args, **kwargs):
        try:
            selection = read_selection(request, store=self.store, cap=BULK_MAX_IDS)
        except SelectionError as error:
            messages.error(request, str(error))
            return redirect(back_to_list(request))
        if request.POST.get("confirm") == "yes":
            ids = selected_ids(selection, cap=BULK_MAX_IDS)
            job = bulk_job_create(store=self.store, action=self.action, ids=ids, created_by=request.user)
            return redirect("checkouts:bulk_job", pk=job.pk)
        return confirmation_page(request, action=bulk_action(self.url_names[self.action]), selection=selection)


def back_to_list(request) -> str:
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
        context["job"] = get_object_or_404(BulkJob.objects.for_store(self.store), pk=self.kwargs["pk"])
        return context
