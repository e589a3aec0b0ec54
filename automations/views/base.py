from dataclasses import dataclass

from django.db.models import QuerySet

from checkouts.pagination import (
    BadCursor,
    SortKey,
    cursor_dumps,
    cursor_loads,
    keyset_page,
    position_dumps,
    position_loads,
)


@dataclass
class Pager:
    items: list
    next_url: str
    previous_url: str


def keyset_pager(request, queryset: QuerySet, keys: list[SortKey], *, limit: int, salt: str) -> Pager:
    """One keyset page of `queryset`, with signed `after` / `before` cursors in the links.
    A tampered or stale cursor starts over at the first page."""
    after = before = None
    for name in ("after", "before"):
        token = request.GET.get(name)
        if token:
            try:
                position = position_loads(cursor_loads(token, salt=salt).get("p"), len(keys))
            except BadCursor:
                continue
            if name == "after":
                after = position
            else:
                before = position
    page = keyset_page(queryset, keys, limit=limit, after=after, before=before)

    def link(name: str, position) -> str:
        if position is None:
            return ""
        query = request.GET.copy()
        query.pop("after", None)
        query.pop("before", None)
        query[name] = cursor_dumps({"p": position_dumps(position)}, salt=salt)
        return f"?{query.urlencode()}"

    return Pager(page.items, link("after", page.next_position), link("before", page.previous_position))
