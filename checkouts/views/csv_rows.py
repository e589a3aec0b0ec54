"""The rows of the CSV export, a keyset chunk at a time, in one of two ways with one output.

On PostgreSQL each chunk is a `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: the database
formats every cell (dates in the store's zone, amounts to the currency's digits, the
formula guard) and Python only passes the bytes on. Elsewhere the same chunk is fetched as
plain tuples and formatted by the csv module. Either way memory stays flat, and no model
instance, serializer or Babel call runs per cell.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision, list_currencies
from django.conf import settings
from django.db import connection
from django.db.models import CharField, F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce, Concat, NullIf

from ..models import Store
from ..pagination import SortKey, keyset_after

# Rows per chunk: big enough that round trips are noise, small enough that a chunk's rows and
# its CSV text stay a few megabytes.
EXPORT_CHUNK = 5000
# Cells a spreadsheet would run as a formula (OWASP "CSV injection") get a leading quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A phone number the way buyers type it: a leading + (the part the formula guard catches), then only
# digits, spaces, dots, dashes and parentheses. Such a cell is written as ="+1 555 0100": Excel,
# Google Sheets and LibreOffice (with formulas evaluated on import) read it as the text itself, not
# as arithmetic (plain "+1-555-0100" would come out as -654) and without a literal apostrophe.
# It is a formula, but one that can only be a string constant: OWASP's CSV-injection risks need a
# function name, a cell or DDE reference (letters, "!" or "|") or a quote to break out, and none of
# those characters can pass this pattern. Anything else starting with + still gets the quote.
PHONE_TEXT = r"\+[0-9][0-9 ().\-]*"
_PHONE = re.compile(PHONE_TEXT)
_DATES = ("created_at", "updated_at", "checkout_recovered_at", "last_activity_at")
_TEXT = ("recovered_order_id", "buyer_email", "first_name", "last_name", "company", "products")

# (header, cell) in file order; date headers get the store's time zone.
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
    ("Products", "products"),
    ("Last activity", "last_activity_type"),
    ("Last activity at", "last_activity_at"),
    ("Recovery link clicks", "link_clicks"),
    ("Storefront checkout id", "checkout_external_id"),
    ("Recovery link", "recovery_link"),
]


def header_row(store: Store) -> list[str]:
    return [f"{header} ({store.time_zone})" if name in _DATES else header for header, name in COLUMNS]


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def phone_cell(value: str) -> str:
    """A plausible phone number as ="+1 555 0100" (text to a spreadsheet), anything else neutralised."""
    return f'="{value}"' if _PHONE.fullmatch(value) else neutralise(value)


@lru_cache(maxsize=64)
def currency_digits(currency: str) -> int:
    try:
        return get_currency_precision(currency or "USD")
    except (KeyError, ValueError):
        return 2


# --- Database expressions -------------------------------------------------------------------


class LineItemNames(Func):
    """'Trail Backpack × 2; Wool Beanie × 1'."""

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


class LocalTime(Func):
    """'2026-11-28 10:04:00', the moment in `zone` (PostgreSQL only)."""

    output_field = CharField()

    def __init__(self, expression, zone: str):
        super().__init__(expression)
        self.zone = zone

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char(timezone(%s, {sql}), 'YYYY-MM-DD HH24:MI:SS')", [self.zone, *params]


class PhoneCell(Func):
    """phone_cell() in SQL (PostgreSQL only)."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        guarded, guarded_params = compiler.compile(Neutralised(self.source_expressions[0]))
        return (
            f"CASE WHEN {sql} ~ %s THEN '=\"' || {sql} || '\"' ELSE {guarded} END",
            [*params, f"^{PHONE_TEXT}$", *params, *guarded_params],
        )


class Neutralised(Func):
    """The text with a leading quote when a spreadsheet would read it as a formula. A regular
    expression rather than a CASE, so the text (the product-name subquery) is computed once."""

    output_field = TextField()
    template = r"regexp_replace(%(expressions)s, '^([-=+@\t\r])', '''\1')"


@lru_cache(maxsize=1)
def _odd_digits() -> dict[int, list[str]]:
    """Babel's currencies that do not have two decimals, by their number of decimals."""
    odd: dict[int, list[str]] = {}
    for code in sorted(list_currencies()):
        if (digits := currency_digits(code)) != 2:
            odd.setdefault(digits, []).append(code)
    return odd


class Amount(Func):
    """A plain number with its currency's digits: 120.00, 19500, 1.250 (PostgreSQL only)."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        (amount_sql, amount_params), (currency_sql, currency_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        # IN lists rather than one WHEN per currency: PostgreSQL hashes a long IN list.
        whens, params = [], []
        for digits, codes in _odd_digits().items():
            whens.append(f"WHEN {currency_sql} IN ({', '.join(['%s'] * len(codes))}) THEN {digits}")
            params.extend([*currency_params, *codes])
        sql = f"round({amount_sql}, CASE {' '.join(whens)} ELSE 2 END)::text"
        return sql, [*amount_params, *params]


def _postgresql_cells(store: Store) -> dict[str, Any]:
    zone = store.time_zone
    currency = F("currency")
    buyer_currency = Coalesce(NullIf(F("conversion_currency"), Value("")), F("currency"))
    cells: dict[str, Any] = {
        "id": Func(F("id"), template="%(expressions)s::text", output_field=TextField()),
        "subtotal": Amount(F("subtotal"), currency),
        "total": Amount(F("total"), currency),
        "total_converted": Amount(F("total_converted"), buyer_currency),
        "products": Neutralised(LineItemNames(F("line_items"))),
        "recovery_link": Concat(
            Value(_link_base()),
            Func(F("id"), template="%(expressions)s::text", output_field=TextField()),
            Value(_link_tail(store)),
            output_field=TextField(),
        ),
    }
    cells.update({name: LocalTime(F(name), zone) for name in _DATES})
    cells.update({name: Neutralised(F(name)) for name in _TEXT if name != "products"})
    cells["phone"] = PhoneCell(F("phone"))
    return cells


def _link_base() -> str:
    return f"{settings.COMEBACK_PUBLIC_URL}/ecom/v1/abandoned-checkout/"


def _link_tail(store: Store) -> str:
    return f"/redirect-to-checkout?metasiteId={store.pk}"


# --- The two writers -----------------------------------------------------------------------


def csv_chunks(queryset: QuerySet, keys: list[SortKey], store: Store) -> Iterator[str | bytes]:
    """The file: a byte-order mark and the header, then every row of `queryset` in `keys` order."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header_row(store))
    # The byte-order mark makes spreadsheet apps read the names as UTF-8.
    yield "\ufeff" + buffer.getvalue()
    ordered = queryset.order_by(*(key.order_by for key in keys))
    if connection.vendor == "postgresql":
        yield from _copy_chunks(ordered, keys, store)
    else:
        yield from _python_chunks(ordered, keys, store)


def _copy_chunks(queryset: QuerySet, keys: list[SortKey], store: Store) -> Iterator[bytes]:
    """Each chunk: find the row it ends on (an index-only read of the sort keys), then COPY it."""
    cells = _postgresql_cells(store)
    rows = queryset.annotate(**{f"csv_{name}": expression for name, expression in cells.items()})
    select = [f"csv_{name}" if name in cells else name for _, name in COLUMNS]
    key_fields = [key.field for key in keys]
    position = None
    while True:
        after = keyset_after(keys, position) if position else Q()
        ends = list(queryset.filter(after).values_list(*key_fields)[EXPORT_CHUNK - 1 : EXPORT_CHUNK])
        chunk = rows.filter(after)
        if ends:
            chunk = chunk.filter(~keyset_after(keys, list(ends[0])))
        sql, params = chunk.values_list(*select).query.sql_with_params()
        # One write per chunk, not one per row: libpq hands COPY data over a row at a time.
        data = bytearray()
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for block in copy:
                data += block
        yield bytes(data)
        if not ends:
            return
        position = list(ends[0])


def _python_chunks(queryset: QuerySet, keys: list[SortKey], store: Store) -> Iterator[str]:
    zone = store.zone
    link_base, link_tail = _link_base(), _link_tail(store)
    fields = [name for _, name in COLUMNS if name != "recovery_link"]
    rows = queryset.annotate(products=LineItemNames(F("line_items")))
    index = {name: position for position, name in enumerate(fields)}
    dates, texts = [index[name] for name in _DATES], [index[name] for name in _TEXT]
    width = len(keys)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    position = None
    while True:
        page = rows.filter(keyset_after(keys, position)) if position else rows
        chunk = list(page.values_list(*(key.field for key in keys), *fields)[:EXPORT_CHUNK])
        for row in chunk:
            cells = list(row[width:])
            for at in dates:
                moment: datetime | None = cells[at]
                cells[at] = moment.astimezone(zone).replace(tzinfo=None).isoformat(" ", "seconds") if moment else ""
            for at in texts:
                cells[at] = neutralise(cells[at] or "")
            cells[index["phone"]] = phone_cell(cells[index["phone"]] or "")
            currency = cells[index["currency"]]
            buyer_currency = cells[index["conversion_currency"]] or currency
            for name, unit in (("subtotal", currency), ("total", currency), ("total_converted", buyer_currency)):
                amount: Decimal | None = cells[index[name]]
                cells[index[name]] = "" if amount is None else format(amount, f".{currency_digits(unit)}f")
            cells.append(f"{link_base}{cells[0]}{link_tail}")
            writer.writerow(cells)
        if chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if len(chunk) < EXPORT_CHUNK:
            return
        position = list(chunk[-1][:width])


__all__ = ["COLUMNS", "EXPORT_CHUNK", "csv_chunks", "header_row", "neutralise", "phone_cell"]
