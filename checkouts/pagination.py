"""Keyset pagination shared by the dashboard, the DRF API and the Wix-compatible API.

A page is found by the sort values of the row before it, never by an offset, so page
1,000 costs what page 1 costs. Every ordering ends in the primary key, which makes the
position unique. The filter is written as

    first_sort_field <= x  AND  (row before-or-after the position, expanded field by field)

The leading range condition is what lets the database walk the matching index from the
position instead of from the top; the expanded OR only trims rows that tie on it.

Every list (the dashboard's checkouts, webhook delivery logs and automations lists, the
REST API and the Wix Query / Search) pages through a `KeysetPager`; see it for the cursor
and for what a bad cursor gets.
"""

import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

# Counts stop here: a list says "10,000+" instead of counting a million rows.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool

    @property
    def order_by(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def with_tiebreaker(keys: list[SortKey], pk: str = "id") -> list[SortKey]:
    """Append the primary key (in the direction of the last key) so positions are unique."""
    if keys and keys[-1].field == pk:
        return list(keys)
    keys = [key for key in keys if key.field != pk]
    keys.append(SortKey(pk, keys[-1].descending if keys else True))
    return keys


def _after(keys: list[SortKey], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order `keys`."""
    condition = Q()
    for index in range(len(keys) - 1, -1, -1):
        key, value = keys[index], values[index]
        beyond = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
        condition = beyond if index == len(keys) - 1 else beyond | (Q(**{key.field: value}) & condition)
    first, first_value = keys[0], values[0]
    return Q(**{f"{first.field}__{'lte' if first.descending else 'gte'}": first_value}) & condition


def keyset_after(keys: list[SortKey], position: list[Any]) -> Q:
    """The filter for rows strictly after `position`, for callers that page over `.values_list()`
    rows themselves (the CSV export) instead of through `keyset_page`."""
    return _after(keys, position)


def position_of(obj: Model, keys: list[SortKey]) -> list[Any]:
    return [getattr(obj, key.field) for key in keys]


@dataclass
class KeysetPage:
    items: list[Any]
    keys: list[SortKey]
    has_next: bool
    has_previous: bool

    @property
    def next_position(self) -> list[Any] | None:
        return position_of(self.items[-1], self.keys) if self.has_next and self.items else None

    @property
    def previous_position(self) -> list[Any] | None:
        return position_of(self.items[0], self.keys) if self.has_previous and self.items else None


def keyset_page(
    queryset: QuerySet,
    keys: list[SortKey],
    *,
    limit: int,
    after: list[Any] | None = None,
    before: list[Any] | None = None,
) -> KeysetPage:
    """One page of `queryset` in the order `keys` (which must end in the primary key).

    `after` pages forward from a position, `before` backward. One query: limit + 1 rows
    tell whether there is more beyond the page.
    """
    if before is not None:
        reverse = [SortKey(key.field, not key.descending) for key in keys]
        rows = list(queryset.filter(_after(reverse, before)).order_by(*(k.order_by for k in reverse))[: limit + 1])
        has_more = len(rows) > limit
        items = rows[:limit]
        items.reverse()
        return KeysetPage(items, keys, has_next=True, has_previous=has_more)
    if after is not None:
        queryset = queryset.filter(_after(keys, after))
    rows = list(queryset.order_by(*(k.order_by for k in keys))[: limit + 1])
    return KeysetPage(rows[:limit], keys, has_next=len(rows) > limit, has_previous=after is not None)


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most cap + 1 rows, so a huge store costs what a small one does."""
    count = queryset.order_by()[: cap + 1].count()
    return (cap, True) if count > cap else (count, False)


# --- Positions in URLs and cursors --------------------------------------------------------


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "t":
            return datetime.fromisoformat(raw)
        if tag == "d":
            return Decimal(raw)
        if tag == "u":
            return UUID(raw)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise ValueError("Unexpected value in a cursor.")


class BadCursor(ValueError):
    """The cursor was not issued by this server, was tampered with, or is malformed."""


def cursor_dumps(data: dict[str, Any], *, salt: str) -> str:
    """An opaque, signed, URL-safe token carrying `data` (positions encoded)."""
    return signing.dumps(data, salt=salt, compress=True)


def cursor_loads(token: str, *, salt: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=salt)
    except (signing.BadSignature, binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise BadCursor("The cursor is invalid or has been altered.") from exc
    if not isinstance(data, dict):
        raise BadCursor("The cursor is invalid or has been altered.")
    return data


def position_dumps(position: list[Any]) -> list[Any]:
    return [encode_value(value) for value in position]


def position_loads(raw: Any, length: int | None = None) -> list[Any]:
    """The position in a cursor, decoded; `length` (when given) is the number of sort keys it must have."""
    if not isinstance(raw, list) or (length is not None and len(raw) != length):
        raise BadCursor("The cursor does not match this sort order.")
    try:
        return [decode_value(value) for value in raw]
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise BadCursor("The cursor is invalid or has been altered.") from exc


# --- The pager ---------------------------------------------------------------------------

# An HTML list's answer to a page link it cannot follow (with its first page, status 400).
BAD_CURSOR_NOTICE = "This page link is no longer valid, so here is the first page."
# A JSON API's answer to such a cursor: a 400 whose field violation names the cursor field.
BAD_CURSOR_MESSAGE = "The cursor is malformed, altered, or was issued for another request."
# The query parameters of an HTML page link: `after` pages forward, `before` back.
LINK_PARAMS = ("after", "before")


@dataclass(frozen=True)
class Cursor:
    """A cursor read back: the boundary row's position, the direction, what the issuer kept with it."""

    position: list[Any]
    backward: bool
    extra: dict[str, Any]

    def require(self, keys: list[SortKey]) -> "Cursor":
        if len(self.position) != len(keys):
            raise BadCursor("The cursor does not match this sort order.")
        return self


class KeysetPager:
    """Keyset pages behind signed, opaque cursors: one token, one salt per list, one bad-cursor policy.

    A cursor is signed with the list's `salt` and carries the boundary row's position, the
    direction, whatever the issuer keeps with it (`extra`: the filter of a Query, the rows
    before a dashboard page), and the values it is `bound` to (the store, the sort order,
    the endpoint whose log it pages). Read back under other bound values, with another
    salt, altered, or malformed, it is refused with `BadCursor`; nothing is read from it.

    The policy, the same on every list: a bad cursor is the client's error, never a silent
    restart, a 404 or a guess.
    - JSON APIs (REST, Wix Query / Search) answer 400 in Wix's envelope, whose one field
      violation names the cursor field (`cursor`, `query.cursorPaging.cursor`) with
      `BAD_CURSOR_MESSAGE` and the rule name INVALID_CURSOR.
    - HTML lists answer 400 with their first page and `BAD_CURSOR_NOTICE`, so a person
      sees why and can carry on from the top.
    """

    def __init__(self, *, salt: str, **bound: Any):
        self.salt = salt
        self.bound = {name: str(value) for name, value in bound.items()}

    def issue(self, position: list[Any], *, backward: bool = False, **extra: Any) -> str:
        data = {"b": self.bound, "p": position_dumps(position), "d": "p" if backward else "n"}
        if extra:
            data["x"] = extra
        return cursor_dumps(data, salt=self.salt)

    def read(self, token: str, *, keys: list[SortKey] | None = None) -> Cursor:
        """The cursor in `token`, checked against the bound values (and `keys`, when given)."""
        data = cursor_loads(token, salt=self.salt)
        if data.get("b") != self.bound:
            raise BadCursor("The cursor was issued for another store or list, or another order.")
        extra = data.get("x", {})
        if data.get("d") not in ("n", "p") or not isinstance(extra, dict):
            raise BadCursor("The cursor is invalid or has been altered.")
        cursor = Cursor(position_loads(data.get("p")), backward=data["d"] == "p", extra=extra)
        return cursor if keys is None else cursor.require(keys)

    def read_link(self, params: QueryDict, *, keys: list[SortKey]) -> Cursor | None:
        """The cursor of an HTML page link (`?after=` or `?before=`), or None for the first page."""
        for name in LINK_PARAMS:
            token = params.get(name)
            if token:
                cursor = self.read(token, keys=keys)
                if cursor.backward != (name == "before"):
                    raise BadCursor("The page link's direction does not match its cursor.")
                return cursor
        return None

    def link_query(
        self, params: QueryDict | Mapping[str, str], position: list[Any] | None, *, backward: bool, **extra: Any
    ) -> str:
        """`?…` for the page beyond `position` (params kept, other page links dropped), or "" when none."""
        if position is None:
            return ""
        query = QueryDict(mutable=True)
        query.update(params)
        for name in LINK_PARAMS:
            query.pop(name, None)
        query["before" if backward else "after"] = self.issue(position, backward=backward, **extra)
        return f"?{query.urlencode()}"

    def page(self, queryset: QuerySet, keys: list[SortKey], *, limit: int, cursor: Cursor | None) -> KeysetPage:
        if cursor is None:
            return keyset_page(queryset, keys, limit=limit)
        cursor.require(keys)
        side = "before" if cursor.backward else "after"
        return keyset_page(queryset, keys, limit=limit, **{side: cursor.position})


class BadPageLinkMixin:
    """For HTML list views: the page link's cursor, or the HTML side of `KeysetPager`'s policy
    for a bad one (the first page, `BAD_CURSOR_NOTICE`, status 400)."""

    bad_page_link = False

    def page_link_cursor(self, pager: KeysetPager, keys: list[SortKey]) -> Cursor | None:
        try:
            return pager.read_link(self.request.GET, keys=keys)
        except BadCursor:
            self.bad_page_link = True
            self.announce_bad_page_link()
            return None

    def announce_bad_page_link(self) -> None:
        messages.warning(self.request, BAD_CURSOR_NOTICE)

    def render_to_response(self, context, **response_kwargs):
        if self.bad_page_link:
            response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)


__all__ = [
    "BAD_CURSOR_MESSAGE",
    "BAD_CURSOR_NOTICE",
    "COUNT_CAP",
    "LINK_PARAMS",
    "BadCursor",
    "BadPageLinkMixin",
    "Cursor",
    "KeysetPage",
    "KeysetPager",
    "SortKey",
    "capped_count",
    "cursor_dumps",
    "cursor_loads",
    "keyset_after",
    "keyset_page",
    "position_dumps",
    "position_loads",
    "with_tiebreaker",
]
