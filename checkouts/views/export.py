"""CSV export of the current filter (GET) or of the selected rows (POST), streamed in keyset
chunks (see csv_rows for how a chunk becomes CSV)."""

from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

from ..filters import AbandonedCheckoutFilter, sort_keys
from ..models import Membership
from ..pagination import SortKey
from ..selectors import abandoned_checkouts_for_store
from .base import DashboardMixin, filled
from .csv_rows import csv_chunks

# A selection posted from the list is at most a few pages of rows.
MAX_SELECTED = 1000


class CheckoutExportView(DashboardMixin, View):
    """GET exports the list's current filter and sort; POST exports the rows selected on it."""

    min_role = Membership.Role.MANAGER

    def get(self, request, *args, **kwargs):
        queryset = abandoned_checkouts_for_store(store=self.store)
        filterset = AbandonedCheckoutFilter(filled(request.GET), queryset=queryset, zone=self.store.zone)
        if not filterset.is_valid():
            errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())
            return HttpResponse(f"Invalid filter. {errors}", status=400, content_type="text/plain; charset=utf-8")
        _, keys = sort_keys(request.GET.get("sort"))
        return self.stream(filterset.qs, keys)

    def post(self, request, *args, **kwargs):
        if request.POST.get("scope") == "all":
            # "All matching" ticked: the export of the whole filter, as the list's Export button gives.
            query = request.POST.get("filter", "")
            return redirect(f"{reverse('checkouts:export')}{'?' if query else ''}{query}")
        try:
            ids = [UUID(value) for value in request.POST.getlist("ids")]
        except ValueError:
            return HttpResponse("Invalid selection.", status=400, content_type="text/plain; charset=utf-8")
        if not ids or len(ids) > MAX_SELECTED:
            message = f"Select between 1 and {MAX_SELECTED:,} checkouts to export."
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        selected = abandoned_checkouts_for_store(store=self.store).filter(pk__in=ids)
        if selected.count() != len(set(ids)):
            # The list only offers this store's rows: another store's id is not found here.
            raise Http404("Some of the selected checkouts do not exist in this store.")
        _, keys = sort_keys(request.POST.get("sort"))
        return self.stream(selected, keys)

    def stream(self, queryset: QuerySet, keys: list[SortKey]) -> StreamingHttpResponse:
        response = StreamingHttpResponse(csv_chunks(queryset, keys, self.store), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime(timezone.now(), self.store.zone).strftime("%Y-%m-%d-%H%M")
        filename = f"abandoned-checkouts-{slugify(self.store.name) or 'store'}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        # Let a proxy pass chunks on as they come instead of buffering the whole file.
        response["X-Accel-Buffering"] = "no"
        return response
