"""Query and Search pages: cursor paging (keyset, signed cursors) and offset paging (capped total).

A cursor is opaque to the client and signed by us. It carries everything the next page
needs — the filter, the free-text search, the sort, the position of the boundary row and
the direction — so a follow-up request sends only `cursorPaging.cursor`. It is a
`KeysetPager` cursor bound to the store and the method that issued it: anyone else's
cursor, like an altered one, is a 400 naming `<method>.cursorPaging.cursor`.

The filter is translated to a `Q` once per request, when the request is read.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import serializers

from ..keyset_sql import keyset_rows, scoped_to
from ..models import Store
from ..pagination import COUNT_CAP, BadCursor, Cursor, KeysetPager, SortKey, capped_count
from ..wire import SPLICE_COLUMNS, wire_splice
from .errors import (
    WixValidationError,
    invalid_cursor,
)
from .legacy import StrictCharField, StrictIntegerField
from .wql import Spec, parse_sort, sort_keys, translate_filter

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 16_000
# The cursor carries the filter; bounding it keeps every cursor we issue under Wix's 16,000.
MAX_FILTER_CHARS = 8_000
# Offset paging re-reads every skipped row; past this, clients must use cursorPaging.
MAX_OFFSET = 10_000
# `total` is counted up to here; beyond, tooManyToCount.
TOTAL_CAP = COUNT_CAP
CURSOR_VERSION = 1


def _limit() -> serializers.IntegerField:
    return StrictIntegerField(
        min_value=0,
        max_value=MAX_LIMIT,
        required=False,
        allow_null=True,
        error_messages={
            "invalid": "limit is an integer.",
            "min_value": "limit cannot be negative.",
            "max_value": f"limit is at most {MAX_LIMIT}.",
        },
    )


class PagingSerializer(serializers.Serializer):
    limit = _limit()
    offset = StrictIntegerField(
        min_value=0,
        max_value=MAX_OFFSET,
        required=False,
        allow_null=True,
        error_messages={
            "invalid": "offset is a non-negative integer.",
            "min_value": "offset is a non-negative integer.",
            "max_value": f"offset is at most {MAX_OFFSET}; use cursorPaging to read further.",
        },
    )


class CursorPagingSerializer(serializers.Serializer):
    limit = _limit()
    cursor = StrictCharField(
        max_length=MAX_CURSOR_LENGTH,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        error_messages={"invalid": "cursor is a string.", "max_length": "cursor is too long."},
        help_text="metadata.cursors.next or .prev of the previous response; alone, it replays its query.",
    )


class ListBodySerializer(serializers.Serializer):
    """What Query's `query` and Search's `search` share: one kind of paging, a filter, a sort.

    The filter and the sort are Wix API Query Language, read by `Lister.parse` (`wql`)."""

    paging = PagingSerializer(required=False, allow_null=True, help_text="Offset paging (or cursorPaging).")
    cursorPaging = CursorPagingSerializer(required=False, allow_null=True, help_text="Cursor paging: default 50.")
    filter = serializers.JSONField(required=False, allow_null=True)
    sort = serializers.JSONField(required=False, allow_null=True)

    def validate_filter(self, value: Any) -> Any:
        if len(json.dumps(value, separators=(",", ":"))) > MAX_FILTER_CHARS:
            raise serializers.ValidationError(
                f"The filter is longer than {MAX_FILTER_CHARS} characters.", code="max_length"
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("paging") is not None and attrs.get("cursorPaging") is not None:
            raise serializers.ValidationError("Send either paging or cursorPaging, not both.", code="one_of")
        return attrs


def _names() -> serializers.ListField:
    """`fields` / `fieldsets`: accepted (and not applied) when they are what Wix takes."""
    return serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
        help_text="Not applied.",
    )


class QueryV2Serializer(ListBodySerializer):
    fields = _names()
    fieldsets = _names()


class QueryRequestSerializer(serializers.Serializer):
    query = QueryV2Serializer()


# What a cursor we issue is made of (Django's signed, compressed tokens): a cursor of other
# characters is left to the serializer, which says what is wrong with it.
_TOKEN = re.compile(r"[A-Za-z0-9_\-:.]*")
_PAGING_KEYS = {"cursorPaging": ("limit", "cursor"), "paging": ("limit", "offset")}


def query_body(data: Any) -> dict | None:
    """The `query` of a Query body whose every value is plainly valid, as `QueryRequestSerializer`
    would return it, or None: then the serializer reads the body and names what is wrong.

    A page's request is one of a few small shapes (a limit, a cursor, a filter and a sort); the
    serializer builds some 15 fields for them, about a tenth of the page's Python time.
    """
    if type(data) is not dict or data.keys() != {"query"} or type(query := data["query"]) is not dict:
        return None
    if not query.keys() <= {"cursorPaging", "paging", "filter", "sort"}:
        return None
    if query.get("cursorPaging") is not None and query.get("paging") is not None:
        return None
    for name, keys in _PAGING_KEYS.items():
        paging = query.get(name)
        if paging is None:
            continue
        if type(paging) is not dict or not paging.keys() <= set(keys):
            return None
        limit = paging.get("limit")
        if limit is not None and not (type(limit) is int and 0 <= limit <= MAX_LIMIT):
            return None
        offset = paging.get("offset")
        if offset is not None and not (type(offset) is int and 0 <= offset <= MAX_OFFSET):
            return None
        cursor = paging.get("cursor")
        if cursor is not None and not (
            type(cursor) is str and len(cursor) <= MAX_CURSOR_LENGTH and _TOKEN.fullmatch(cursor)
        ):
            return None
    if query.get("filter") is not None and len(json.dumps(query["filter"], separators=(",", ":"))) > MAX_FILTER_CHARS:
        return None
    return query


@dataclass
class ListRequest:
    """A validated Query/Search request: what to match, in which order, which page."""

    filter: Any  # as sent, for the cursors of the next pages
    condition: Q  # the filter, translated
    sort: list[tuple[str, bool]]
    search: dict | None
    limit: int
    offset: int | None = None  # offset paging when set
    cursor: Cursor | None = None


class Lister:
    """Reads one page for a method (`kind`: "query" or "search") of one store."""

    def __init__(self, *, kind: str, spec: Spec, store: Store, path: str):
        self.kind = kind
        self.spec = spec
        self.store = store
        self.path = path  # "query" or "search": prefixes every violation's field
        self.pager = KeysetPager(salt=f"checkouts.api.{kind}", store=store.pk, version=CURSOR_VERSION)

    # --- request → ListRequest -------------------------------------------------------------

    def parse(self, body: dict[str, Any], search: dict | None = None) -> ListRequest:
        """The page a body validated by `ListBodySerializer` asks for; its filter and sort are read
        here, by the query language, which names the path of every problem in them."""
        if body.get("paging") is not None:
            paging = body["paging"]
            return self._fresh(body, search, limit=paging.get("limit") or 0, offset=paging.get("offset") or 0)
        cursor_paging = body.get("cursorPaging") or {}
        limit = cursor_paging.get("limit") or 0
        if cursor_paging.get("cursor"):
            return self._from_cursor(cursor_paging["cursor"], limit)
        return self._fresh(body, search, limit=limit)

    def _fresh(self, body: dict, search: dict | None, *, limit: int, offset: int | None = None) -> ListRequest:
        filter_json = body.get("filter")
        return ListRequest(
            filter=filter_json,
            condition=translate_filter(filter_json, self.spec, f"{self.path}.filter"),
            sort=parse_sort(body.get("sort"), self.spec, f"{self.path}.sort"),
            search=search,
            limit=limit or DEFAULT_LIMIT,
            offset=offset,
        )

    def _from_cursor(self, token: str, limit: int) -> ListRequest:
        field = f"{self.path}.cursorPaging.cursor"
        try:
            cursor = self.pager.read(token)
            data = cursor.extra
            sort = [(name, bool(descending)) for name, descending in data["o"]]
            # Re-validated like a fresh request: the cursor is ours, but the code may have moved on.
            parse_sort([{"fieldName": n, "order": "DESC" if d else "ASC"} for n, d in sort], self.spec, field)
            condition = translate_filter(data.get("f"), self.spec, field)
            cursor.require(sort_keys(sort, self.spec))
        except (BadCursor, KeyError, TypeError, ValueError, WixValidationError) as exc:
            raise invalid_cursor(field) from exc
        return ListRequest(
            filter=data.get("f"),
            condition=condition,
            sort=sort,
            search=data.get("q"),
            limit=limit or data.get("l") or DEFAULT_LIMIT,
            cursor=cursor,
        )

    def issue_cursor(self, request: ListRequest, position: list[Any], backward: bool) -> str:
        return self.pager.issue(
            position,
            backward=backward,
            f=request.filter,
            q=request.search,
            o=[[name, descending] for name, descending in request.sort],
            l=request.limit,
        )

    # --- ListRequest → page --------------------------------------------------------------

    def page(self, queryset: QuerySet, request: ListRequest, extra: Q | None = None) -> tuple[list, dict]:
        """(items in Wix's shape, as JSON fragments, metadata) for one page of the store's `queryset`.

        The rows are read as plain values (`SPLICE_COLUMNS` and the sort keys), not models:
        a current row's entity is its stored JSON, so a model per row would only cost time."""
        keys = sort_keys(request.sort, self.spec)
        columns = [*SPLICE_COLUMNS, *(key.field for key in keys if key.field not in SPLICE_COLUMNS)]
        at = {column: index for index, column in enumerate(columns)}
        if request.offset is not None:
            queryset = queryset.filter(request.condition, extra or Q()).values_list(*columns)
            return self._offset_page(queryset, keys, request)
        page = None
        if not request.condition and not extra and scoped_to(queryset, "store", self.store.pk):
            # No filter: one statement built once per page shape (checkouts/keyset_sql.py).
            page = keyset_rows(
                queryset.model,
                scope="store",
                value=self.store.pk,
                columns=columns,
                keys=keys,
                limit=request.limit,
                cursor=request.cursor,
                using=queryset.db,
            )
        if page is None:
            queryset = queryset.filter(request.condition, extra or Q()).values_list(*columns)
            page = self.pager.page(queryset, keys, limit=request.limit, cursor=request.cursor)
        items = self.render(page.items)
        has_next = page.has_next and bool(page.items)
        previous = page.has_previous and bool(page.items)
        metadata = {
            "count": len(items),
            "cursors": {
                "next": self.issue_cursor(request, _position(page.items[-1], keys, at), False) if has_next else None,
                "prev": self.issue_cursor(request, _position(page.items[0], keys, at), True) if previous else None,
            },
            "hasNext": has_next,
        }
        return items, metadata

    def render(self, rows: list[tuple]) -> list:
        """The rows' Wix entities: their stored JSON spliced where current, built otherwise."""
        return wire_splice([row[: len(SPLICE_COLUMNS)] for row in rows], store=self.store)

    def _offset_page(self, queryset: QuerySet, keys, request: ListRequest) -> tuple[list[dict], dict]:
        start = request.offset or 0
        rows = list(queryset.order_by(*(key.order_by for key in keys))[start : start + request.limit + 1])
        items = self.render(rows[: request.limit])
        total, capped = capped_count(queryset, TOTAL_CAP)
        metadata: dict[str, Any] = {"count": len(items), "offset": start, "tooManyToCount": capped}
        if not capped:
            metadata["total"] = total
        metadata["hasNext"] = len(rows) > request.limit
        return items, metadata


def _position(row: tuple, keys: list[SortKey], at: dict[str, int]) -> list[Any]:
    """A row's values of the sort keys: where the next page starts."""
    return [row[at[key.field]] for key in keys]
