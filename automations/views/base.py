from dataclasses import dataclass

from django.db.models import QuerySet
from django.views.generic.base import ContextMixin

from checkouts.models import Membership
from checkouts.pagination import BadPageLinkMixin, KeysetPager, SortKey
from checkouts.tenancy import StoreRequiredMixin


class StoreView(StoreRequiredMixin, ContextMixin):
    """Viewers read; the methods listed in `write_methods` need `write_role` (a manager by default)."""

    write_role: str = Membership.Role.MANAGER
    write_methods = ("POST",)

    def get_min_role(self) -> str:
        return self.write_role if self.request.method in self.write_methods else self.min_role

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["store"] = self.store
        context["can_edit"] = self.membership.allows(self.write_role)
        return context


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
