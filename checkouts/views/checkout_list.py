"""The checkouts list: the shared FilterSet, keyset pages, a capped count, htmx partial swaps."""

from typing import Any

from django.http import QueryDict
from django.views.generic import TemplateView

from ..extensions import checkout_actions
from ..filters import AbandonedCheckoutFilter, sort_keys
from ..forms import DEFAULT_PAGE_SIZE, PAGE_SIZES, CheckoutFilterForm
from ..pagination import (
    COUNT_CAP,
    BadCursor,
    KeysetPage,
    SortKey,
    capped_count,
    cursor_dumps,
    cursor_loads,
    keyset_page,
    position_dumps,
    position_loads,
)
from ..selectors import abandoned_checkouts_for_list, bulk_jobs_unfinished
from .base import DashboardMixin, filled, is_htmx, vary_on_htmx
from .present import decorate_rows

CURSOR_SALT = "checkouts.dashboard.list"
# Query parameters that move through pages rather than describe the list.
PAGE_PARAMS = ("after", "before")
# Bulk actions drawn as destructive buttons.
DANGER_ACTIONS = {"checkouts:bulk_delete", "checkouts:bulk_anonymise"}
# The list says "10,000+" past this many matches instead of counting them all.
LIST_COUNT_CAP = COUNT_CAP
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NZD", "BRL", "INR")


def page_size(params: QueryDict) -> int:
    try:
        size = int(params.get("per_page", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def page_token(sort: str, position: list[Any]) -> str:
    """A signed, opaque position: a tampered or foreign one is refused, never trusted."""
    return cursor_dumps({"s": sort, "p": position_dumps(position)}, salt=CURSOR_SALT)


def read_position(params: QueryDict, sort: str, keys: list[SortKey]) -> tuple[str | None, list[Any] | None]:
    """("after" | "before", position) from the URL, or (None, None) for the first page."""
    for direction in PAGE_PARAMS:
        token = params.get(direction)
        if token:
            data = cursor_loads(token, salt=CURSOR_SALT)
            if data.get("s") != sort:
                raise BadCursor("The page link belongs to another sort order.")
            return direction, position_loads(data.get("p"), len(keys))
    return None, None


class CheckoutListView(DashboardMixin, TemplateView):
    template_name = "checkouts/list.html"
    partial_template_name = "checkouts/_results.html"

    def get_template_names(self) -> list[str]:
        return [self.partial_template_name if is_htmx(self.request) else self.template_name]

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.filter_errors:
            response.status_code = 400
        return vary_on_htmx(response)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = filled(self.request.GET)
        queryset = abandoned_checkouts_for_list(store=self.store)
        filterset = AbandonedCheckoutFilter(params, queryset=queryset, request=self.request)
        self.filter_errors = {} if filterset.is_valid() else filterset.errors
        sort, keys = sort_keys(params.get("sort"))
        limit = page_size(params)
        notice = ""
        try:
            direction, position = read_position(params, sort, keys)
        except BadCursor:
            direction, position, notice = None, None, "That page link is no longer valid, so here is the first page."
        if self.filter_errors:
            page, count, capped = KeysetPage([], keys, False, False), 0, False
        else:
            page = keyset_page(
                filterset.qs,
                keys,
                limit=limit,
                after=position if direction == "after" else None,
                before=position if direction == "before" else None,
            )
            count, capped = capped_count(filterset.qs, cap=LIST_COUNT_CAP)
        filters_in_use = any(value for name, value in params.items() if name not in (*PAGE_PARAMS, "sort", "per_page"))
        context.update(
            form=CheckoutFilterForm(params, filter_errors=self.filter_errors),
            query=params,
            rows=decorate_rows(page.items),
            page=page,
            next_token=page_token(sort, page.next_position) if page.next_position else None,
            previous_token=page_token(sort, page.previous_position) if page.previous_position else None,
            on_first_page=direction is None,
            count=count,
            capped=capped,
            filters_in_use=filters_in_use,
            notice=notice,
            bulk_actions=[a for a in checkout_actions(bulk=True) if self.membership.allows(a.min_role)],
            danger_actions=DANGER_ACTIONS,
            currencies=sorted({self.store.currency, *COMMON_CURRENCIES}),
            export_query=_without(params, PAGE_PARAMS),
        )
        if not is_htmx(self.request):
            context["running_jobs"] = bulk_jobs_unfinished(store=self.store)
        return context


def _without(params: QueryDict, names: tuple[str, ...]) -> str:
    query = params.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
