"""What every dashboard view shares: the store-scoped mixin, per-method roles, htmx detection."""

from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic.base import ContextMixin

from ..models import Membership

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class DashboardMixin(ContextMixin):
    """Every dashboard page: signed in, a member of the current store, with the role the method needs.

    One rule for roles: reading (GET, HEAD, OPTIONS) needs `min_role`; any other method needs
    `write_role`, which is `min_role` unless set. A page a viewer may look at but only a
    manager may change (the store settings, the automations) sets `write_role = MANAGER`.

    Sets `self.store` and `self.membership`. Every queryset the view uses starts from
    `self.store` (a selector or `Model.objects.for_store`), so another store's object is a
    404, never a leak.
    """

    min_role: str = Membership.Role.VIEWER
    write_role: str | None = None

    def get_write_role(self) -> str:
        return self.write_role or self.min_role

    def get_min_role(self) -> str:
        return self.min_role if self.request.method in SAFE_METHODS else self.get_write_role()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = getattr(request, "membership", None)
        if membership is None:
            raise PermissionDenied("You are not a member of any store yet. Ask a store owner to invite you.")
        if not membership.allows(self.get_min_role()):
            raise PermissionDenied(f"This needs the {Membership.Role(self.get_min_role()).label} role or higher.")
        self.membership = membership
        self.store = membership.store
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["store"] = self.store
        context["can_edit"] = self.membership.allows(self.get_write_role())
        return context


def safe_next(request: HttpRequest, target: str | None, *, default: str, under: str = "/") -> str:
    """Where a form's `next` / `back` field may send the user: a path of this site under `under`.

    Anything else (another site, `//host`, `javascript:`, a path outside `under`) is ignored,
    not followed: the user lands on `default`.
    """
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and not urlsplit(target.replace("\\", "/")).netloc
        and target.startswith(under)
    ):
        return target
    return default


def filled(params: QueryDict) -> QueryDict:
    """The query without the empty fields an HTML form submits (`activity=`), which mean "any"."""
    kept = QueryDict(mutable=True)
    for name, values in params.lists():
        values = [value for value in values if value != ""]
        if values:
            kept.setlist(name, values)
    return kept


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request asking for a fragment: not a boosted page, and not a history restore
    (on a cache miss, htmx asks for the whole page to put back after the Back button)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def vary_on_htmx(response):
    # The same URL answers with a fragment or a full page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
