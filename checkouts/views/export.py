"""CSV export of the current filter (GET) or of the selected rows (POST), streamed in keyset chunks.

Each chunk is one indexed query of plain tuples (`values_list`, item counts and product
names computed by the database), written with the csv module and sent on: memory stays flat
whatever the number of rows, and no model instance, serializer or Babel call runs per cell.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from uuid import UUID

from babel.numbers import get_currency_precision
from django.conf import settings
from django.db.models import CharField, Func, IntegerField, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views import View

from ..filters import AbandonedCheckoutFilter, sort_keys
from ..models import Membership, Store
from ..pagination import SortKey, keyset_after
from ..selectors import abandoned_checkouts_for_store
from .base import DashboardMixin, filled

# Rows per query: big enough that round trips are noise, small enough that a chunk of
# tuples and its CSV text stay a few megabytes.
EXPORT_CHUNK = 2000
# A selection posted from the list is at most a few pages of rows.
MAX_SELECTED = 1000
# Cells a spreadsheet would run as a formula (OWASP "CSV injection") get a leading quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class LineItemCount(Func):
    """How many line items a checkout's JSON array holds, computed in the database."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "jsonb_array_length(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
            "THEN %(expressions)s ELSE '[]'::jsonb END)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="COALESCE(json_array_length(%(expressions)s), 0)", **extra)


class LineItemNames(Func):
    """'Trail Backpack × 2; Wool Beanie × 1', computed in the database."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "(SELECT string_agg(concat_ws(' × ', item->'productName'->>'original', item->>'quantity'), '; ') "
            "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
            "THEN %(expressions)s ELSE '[]'::jsonb END) AS item)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = (
            "(SELECT group_concat(json_extract(item.value, '$.productName.original') || ' × ' || "
            "COALESCE(json_extract(item.value, '$.quantity'), 1), '; ') FROM json_each(%(expressions)s) AS item)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


# (header, column) in file order; the time-zone name is added to the date headers.
COLUMNS = [
    ("Abandoned checkout id", "id"),
    ("Status", "status"),
    ("Abandoned at", "created_at"),
    ("Updated at", "updated_at"),
    ("Recovered at", "checkout_recovered_at"),
    ("Recovered order id", "recovered_order_id"),
    ("Email", "buyer_email"),
    ("First name", "first_name"),
    ("Last name", "last_name"),
    ("Phone", "phone"),
    ("Company", "company"),
    ("Buyer language", "buyer_language"),
    ("Currency", "currency"),
    ("Subtotal", "subtotal"),
    ("Total", "total"),
    ("Buyer currency", "conversion_currency"),
    ("Total in buyer currency", "total_converted"),
    ("Line items", "export_item_count"),
    ("Products", "export_products"),
    ("Last activity", "last_activity_type"),
    ("Last activity at", "last_activity_at"),
    ("Recovery link clicks", "link_clicks"),
    ("Storefront checkout id", "checkout_external_id"),
    ("Recovery link", None),
]
_NAMES = [name for _, name in COLUMNS if name]
_DATES = {"created_at", "updated_at", "checkout_recovered_at", "last_activity_at"}
_TEXT = {"recovered_order_id", "buyer_email", "first_name", "last_name", "phone", "company", "export_products"}
_INDEX = {name: index for index, name in enumerate(_NAMES)}


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@lru_cache(maxsize=64)
def _digits(currency: str) -> int:
    try:
        return get_currency_precision(currency)
    except (KeyError, ValueError):
        return 2


def _amount(value: Decimal | None, currency: str) -> str:
    return "" if value is None else format(value, f".{_digits(currency or 'USD')}f")


def header_row(store: Store) -> list[str]:
    return [f"{header} ({store.time_zone})" if name in _DATES else header for header, name in COLUMNS]


def csv_chunks(queryset: QuerySet, keys: list[SortKey], store: Store) -> Iterator[str]:
    """The file, a chunk of rows at a time: the header first, then every row in `keys` order."""
    zone = store.zone
    link_base = f"{settings.COMEBACK_PUBLIC_URL}/ecom/v1/abandoned-checkout/"
    link_tail = f"/redirect-to-checkout?metasiteId={store.pk}"
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).replace(tzinfo=None).isoformat(" ", "seconds") if value else ""

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header_row(store))
    # A byte-order mark so spreadsheet apps read the names as UTF-8.
    yield "\ufeff" + flush()
    rows = queryset.annotate(
        export_item_count=LineItemCount("line_items"),
        export_products=LineItemNames("line_items"),
    ).order_by(*(key.order_by for key in keys))
    key_columns = [_INDEX[key.field] for key in keys]
    dates = [_INDEX[name] for name in _DATES]
    texts = [_INDEX[name] for name in _TEXT]
    subtotal, total, converted = _INDEX["subtotal"], _INDEX["total"], _INDEX["total_converted"]
    currency, buyer_currency = _INDEX["currency"], _INDEX["conversion_currency"]
    position = None
    while True:
        chunk = list(
            (rows.filter(keyset_after(keys, position)) if position else rows).values_list(*_NAMES)[:EXPORT_CHUNK]
        )
        if not chunk:
            return
        for row in chunk:
            cells = list(row)
            for index in dates:
                cells[index] = when(cells[index])
            for index in texts:
                cells[index] = neutralise(cells[index] or "")
            cells[subtotal] = _amount(cells[subtotal], cells[currency])
            cells[total] = _amount(cells[total], cells[currency])
            cells[converted] = _amount(cells[converted], cells[buyer_currency] or cells[currency])
            cells.append(f"{link_base}{row[0]}{link_tail}")
            writer.writerow(cells)
        yield flush()
        if len(chunk) < EXPORT_CHUNK:
            return
        last = chunk[-1]
        position = [last[index] for index in key_columns]


class CheckoutExportView(DashboardMixin, View):
    """GET exports the list's current filter and sort; POST exports the rows selected on it."""

    min_role = Membership.Role.MANAGER

    def get(self, request, *args, **kwargs):
        queryset = abandoned_checkouts_for_store(store=self.store)
        filterset = AbandonedCheckoutFilter(filled(request.GET), queryset=queryset, request=request)
        if not filterset.is_valid():
            errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())
            return HttpResponse(f"Invalid filter. {errors}", status=400, content_type="text/plain; charset=utf-8")
        _, keys = sort_keys(request.GET.get("sort"))
        return self.stream(filterset.qs, keys)

    def post(self, request, *args, **kwargs):
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
