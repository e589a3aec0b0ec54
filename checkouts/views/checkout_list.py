"""The checkouts list: the shared FilterSet, keyset pages, a capped count, htmx partial swaps."""

from typing import Any

from django.http import QueryDict
from django.views.generic import TemplateView

from ..extensions import checkout_actions
from ..filters import SORT_CHOICES, AbandonedCheckoutFilter, sort_keys
from ..forms import DEFAULT_PAGE_SIZE, PAGE_SIZES, CheckoutFilterForm
from ..models import Store
from ..pagination import (
    BAD_CURSOR_NOTICE,
    COUNT_CAP,
    LINK_PARAMS,
    BadPageLinkMixin,
    KeysetPage,
    KeysetPager,
    capped_count,
)
from ..selectors import abandoned_checkouts_for_list, bulk_jobs_unfinished, store_currencies
from .base import DashboardMixin, filled, is_htmx, vary_on_htmx
from .present import decorate_rows

CURSOR_SALT = "checkouts.dashboard.list"
# Query parameters that move through pages rather than describe the list.
PAGE_PARAMS = LINK_PARAMS
# The list says "10,000+" past this many matches instead of counting them all.
LIST_COUNT_CAP = COUNT_CAP


def page_size(params: QueryDict) -> int:
    """The rows per page the URL asks for, or the default when it asks for none or another size."""
    raw = params.get("per_page", "")
    try:
        size = int(raw)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def page_size_notice(params: QueryDict, size: int) -> str:
    raw = params.get("per_page", "")
    if raw and raw != str(size):
        return f"Showing {size} per page: {raw} is not a page size (choose {', '.join(map(str, PAGE_SIZES))})."
    return ""


def list_pager(*, store: Store, sort: str) -> KeysetPager:
    """Page links bound to the store and the sort order; each also keeps the number of rows
    before its page (`start`, for "51–100 of 1,277")."""
    return KeysetPager(salt=CURSOR_SALT, store=store.pk, sort=sort)


class CheckoutListView(BadPageLinkMixin, DashboardMixin, TemplateView):
    template_name = "checkouts/list.html"
    partial_template_name = "checkouts/_results.html"

    def get_template_names(self) -> list[str]:
        if not is_htmx(self.request):
            return [self.template_name]
        # The filter bar asks for itself and the results (its fields show their errors); the
        # pager only for the results.
        return [
            self.body_template_name
            if self.request.headers.get("HX-Target") == "list-body"
            else self.partial_template_name
        ]

    def announce_bad_page_link(self) -> None:
        """Said among the list's notices (below) rather than as a message: an htmx fragment has no message area."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.filter_errors:
            response.status_code = 400
        return vary_on_htmx(response)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = filled(self.request.GET)
        queryset = abandoned_checkouts_for_list(store=self.store)
        filterset = AbandonedCheckoutFilter(params, queryset=queryset, zone=self.store.zone)
        self.filter_errors = {} if filterset.is_valid() else filterset.errors
        sort, keys = sort_keys(params.get("sort"))
        limit = page_size(params)
        notices = [page_size_notice(params, limit)]
        if params.get("sort", sort) != sort:
            notices.append(f"Sorted {dict(SORT_CHOICES)[sort].lower()}: {params['sort']} is not a sort order.")
            params["sort"] = sort
        if "per_page" in params:
            # Links and the control carry the size actually shown, never the unsupported one asked for.
            params["per_page"] = str(limit)
        pager = list_pager(store=self.store, sort=sort)
        cursor = self.page_link_cursor(pager, keys)
        if self.bad_page_link:
            notices.append(BAD_CURSOR_NOTICE)
        start = cursor.extra.get("start", 0) if cursor else 0
        start = start if isinstance(start, int) and start >= 0 else 0
        if self.filter_errors:
            page, count, capped = KeysetPage([], keys, False, False), 0, False
        else:
            page = pager.page(filterset.qs, keys, limit=limit, cursor=cursor)
            count, capped = capped_count(filterset.qs, cap=LIST_COUNT_CAP)
        if cursor and cursor.backward and not page.has_previous:
            start = 0  # back at the top, whatever the link remembered
        filters_in_use = any(value for name, value in params.items() if name not in (*PAGE_PARAMS, "sort", "per_page"))
        form_data = params.copy()
        form_data["per_page"] = str(limit)  # the control says what the page shows
        form_data["sort"] = sort
        context.update(
            form=CheckoutFilterForm(
                form_data,
                filter_errors=self.filter_errors,
                filter_labels={name: f.label for name, f in filterset.filters.items()},
                currencies=currency_choices(store=self.store, selected=params.get("currency", "")),
            ),
            query=params,
            sort=sort,
            sort_links=sort_links(params, sort),
            rows=decorate_rows(page.items),
            page=page,
            next_token=pager.issue(page.next_position, start=start + len(page.items)) if page.next_position else None,
            previous_token=pager.issue(page.previous_position, backward=True, start=max(start - limit, 0))
            if page.previous_position
            else None,
            on_first_page=cursor is None,
            first_row=start + 1,
            last_row=start + len(page.items),
            count=count,
            capped=capped,
            filters_in_use=filters_in_use,
            notices=[notice for notice in notices if notice],
            bulk_actions=[a for a in checkout_actions(bulk=True) if self.membership.allows(a.min_role)],
            export_query=_without(params, PAGE_PARAMS),
        )
        # A fragment also refills the filter bar's error slots, which it does not replace.
        context["oob_errors"] = is_htmx(self.request)
        if not is_htmx(self.request):
            context["running_jobs"] = bulk_jobs_unfinished(store=self.store)
        return context


def currency_choices(*, store, selected: str = "") -> list[str]:
    """The currencies a merchant may filter on: the store's (cached), and the one in the URL."""
    codes = set(store_currencies(store=store))
    if selected:
        codes.add(selected.upper())
    return sorted(codes)


# The list's sortable columns: column → (sort when first clicked, the other direction).
SORTABLE_COLUMNS = {"created": "-created", "updated": "-updated", "total": "-total"}


def sort_links(params: QueryDict, sort: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link (filters kept, back to the first page) and its aria-sort."""
    links = {}
    for column, first in SORTABLE_COLUMNS.items():
        current = sort.lstrip("-") == column
        target = (sort[1:] if sort.startswith("-") else f"-{sort}") if current else first
        query = params.copy()
        for name in PAGE_PARAMS:
            query.pop(name, None)
        query["sort"] = target
        state = ("descending" if sort.startswith("-") else "ascending") if current else "none"
        links[column] = {"url": f"?{query.urlencode()}", "aria_sort": state}
    return links


def _without(params: QueryDict, names: tuple[str, ...]) -> str:
    query = params.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
