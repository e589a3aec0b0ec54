from dataclasses import dataclass

from django.db.models import QuerySet

from checkouts.pagination import BadPageLinkMixin, KeysetPager, SortKey


@dataclass
class Pager:
    items: list
    next_url: str
    previous_url: str


class KeysetListMixin(BadPageLinkMixin):
    """A list in keyset pages, its page links bound to the store and the order (see `KeysetPager`)."""

    def keyset_pager(self, queryset: QuerySet, keys: list[SortKey], *, limit: int, salt: str) -> Pager:
        pager = KeysetPager(salt=salt, store=self.store.pk, order=",".join(key.order_by for key in keys))
        page = pager.page(queryset, keys, limit=limit, cursor=self.page_link_cursor(pager, keys))
        return Pager(
            page.items,
            pager.link_query(self.request.GET, page.next_position, backward=False),
            pager.link_query(self.request.GET, page.previous_position, backward=True),
        )
