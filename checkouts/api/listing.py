"""Query and Search pages: cursor paging (keyset, signed cursors) and offset paging (capped total).

A cursor is opaque to the client and signed by us. It carries everything the next page
needs — the filter, the free-text search, the sort, the position of the boundary row and
the direction — so a follow-up request sends only `cursorPaging.cursor`. It is bound to
the store and the method that issued it: anyone else's cursor is a 400.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from ..models import Store
from ..pagination import (
    COUNT_CAP,
    BadCursor,
    capped_count,
    cursor_dumps,
    cursor_loads,
    keyset_page,
    position_dumps,
    position_loads,
)
from ..wire import WIRE_COLUMNS, wire_fragments
from .errors import RULE_FORMAT, RULE_MAX, RULE_MAX_LENGTH, RULE_MIN, RULE_ONE_OF, WixValidationError, violation
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


@dataclass
class ListRequest:
    """A validated Query/Search request: what to match, in which order, which page."""

    filter: Any
    sort: list[tuple[str, bool]]
    search: dict | None
    limit: int
    offset: int | None = None  # offset paging when set
    position: list[Any] | None = None
    backward: bool = False


class Lister:
    """Reads one page for a method (`kind`: "query" or "search") of one store."""

    def __init__(self, *, kind: str, spec: Spec, store: Store, path: str):
        self.kind = kind
        self.spec = spec
        self.store = store
        self.path = path  # "query" or "search": prefixes every violation's field
        self.salt = f"checkouts.api.{kind}"

    # --- request → ListRequest -------------------------------------------------------------

    def parse(self, body: dict[str, Any], search: dict | None = None) -> ListRequest:
        if body.get("paging") is not None and body.get("cursorPaging") is not None:
            raise WixValidationError(
                [violation(self.path, "Send either paging or cursorPaging, not both.", RULE_ONE_OF)]
            )
        if body.get("paging") is not None:
            limit, offset = self._paging(body["paging"], f"{self.path}.paging", with_offset=True)
            return self._fresh(body, search, limit=limit, offset=offset)
        cursor_paging = body.get("cursorPaging")
        limit, cursor = self._paging(cursor_paging, f"{self.path}.cursorPaging", with_offset=False)
        if cursor:
            return self._from_cursor(cursor, limit)
        return self._fresh(body, search, limit=limit or DEFAULT_LIMIT)

    def _fresh(self, body: dict, search: dict | None, *, limit: int, offset: int | None = None) -> ListRequest:
        filter_json = body.get("filter")
        if len(json.dumps(filter_json, separators=(",", ":"))) > MAX_FILTER_CHARS:
            raise WixValidationError(
                [
                    violation(
                        f"{self.path}.filter",
                        f"The filter is longer than {MAX_FILTER_CHARS} characters.",
                        RULE_MAX_LENGTH,
                        max=MAX_FILTER_CHARS,
                    )
                ]
            )
        translate_filter(filter_json, self.spec, f"{self.path}.filter")  # validate now: fail fast
        sort = parse_sort(body.get("sort"), self.spec, f"{self.path}.sort")
        return ListRequest(filter=filter_json, sort=sort, search=search, limit=limit or DEFAULT_LIMIT, offset=offset)

    def _paging(self, paging: Any, path: str, *, with_offset: bool) -> tuple[int, Any]:
        if paging is None:
            return 0, None
        if not isinstance(paging, dict):
            raise WixValidationError([violation(path, "Expected an object.", RULE_FORMAT)])
        violations = []
        limit = paging.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            violations.append(violation(f"{path}.limit", "limit is an integer.", RULE_FORMAT))
        elif limit is not None and limit < 0:
            violations.append(violation(f"{path}.limit", "limit cannot be negative.", RULE_MIN))
        elif limit is not None and limit > MAX_LIMIT:
            violations.append(violation(f"{path}.limit", f"limit is at most {MAX_LIMIT}.", RULE_MAX, max=MAX_LIMIT))
        second = paging.get("offset" if with_offset else "cursor")
        if with_offset:
            if second is not None and (isinstance(second, bool) or not isinstance(second, int) or second < 0):
                violations.append(violation(f"{path}.offset", "offset is a non-negative integer.", RULE_MIN))
            elif second is not None and second > MAX_OFFSET:
                violations.append(
                    violation(
                        f"{path}.offset",
                        f"offset is at most {MAX_OFFSET}; use cursorPaging to read further.",
                        RULE_MAX,
                        max=MAX_OFFSET,
                    )
                )
            second = second or 0
        elif second is not None and not isinstance(second, str):
            violations.append(violation(f"{path}.cursor", "cursor is a string.", RULE_FORMAT))
        elif second is not None and len(second) > MAX_CURSOR_LENGTH:
            violations.append(violation(f"{path}.cursor", "cursor is too long.", RULE_MAX_LENGTH))
        if violations:
            raise WixValidationError(violations)
        return limit or 0, second

    def _from_cursor(self, token: str, limit: int) -> ListRequest:
        field = f"{self.path}.cursorPaging.cursor"
        try:
            data = cursor_loads(token, salt=self.salt)
            if data.get("v") != CURSOR_VERSION or data.get("s") != str(self.store.pk):
                raise BadCursor("The cursor was issued for another store or another version.")
            sort = [(name, bool(descending)) for name, descending in data["o"]]
            # Re-validated like a fresh request: the cursor is ours, but the code may have moved on.
            parse_sort([{"fieldName": n, "order": "DESC" if d else "ASC"} for n, d in sort], self.spec, field)
            translate_filter(data.get("f"), self.spec, field)
            position = position_loads(data["p"], len(sort_keys(sort, self.spec)))
        except (BadCursor, KeyError, TypeError, ValueError, WixValidationError) as exc:
            message = "The cursor is malformed, altered, or was issued for another request."
            raise WixValidationError([violation(field, message, RULE_FORMAT, "INVALID_CURSOR")]) from exc
        return ListRequest(
            filter=data.get("f"),
            sort=sort,
            search=data.get("q"),
            limit=limit or data.get("l") or DEFAULT_LIMIT,
            position=position,
            backward=data.get("d") == "p",
        )

    def issue_cursor(self, request: ListRequest, position: list[Any], backward: bool) -> str:
        data = {
            "v": CURSOR_VERSION,
            "s": str(self.store.pk),
            "f": request.filter,
            "q": request.search,
            "o": [[name, descending] for name, descending in request.sort],
            "p": position_dumps(position),
            "d": "p" if backward else "n",
            "l": request.limit,
        }
        return cursor_dumps(data, salt=self.salt)

    # --- ListRequest → page --------------------------------------------------------------

    def page(self, queryset: QuerySet, request: ListRequest, extra: Q | None = None) -> tuple[list, dict]:
        """(items in Wix's shape, as JSON fragments, metadata) for one page of the store's `queryset`."""
        condition = translate_filter(request.filter, self.spec, f"{self.path}.filter")
        keys = sort_keys(request.sort, self.spec)
        queryset = queryset.filter(condition, extra or Q()).only(*WIRE_COLUMNS, *(key.field for key in keys))
        if request.offset is not None:
            return self._offset_page(queryset, keys, request)
        page = keyset_page(
            queryset,
            keys,
            limit=request.limit,
            after=None if request.backward else request.position,
            before=request.position if request.backward else None,
        )
        items = self.render(page.items)
        has_next = page.has_next and bool(page.items)
        metadata = {
            "count": len(items),
            "cursors": {
                "next": self.issue_cursor(request, page.next_position, False) if has_next else None,
                "prev": self.issue_cursor(request, page.previous_position, True) if page.previous_position else None,
            },
            "hasNext": has_next,
        }
        return items, metadata

    def render(self, rows: list) -> list:
        """The rows' Wix entities: their stored JSON spliced where current, built otherwise."""
        return wire_fragments(rows, store=self.store)

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
