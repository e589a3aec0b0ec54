"""What every dashboard view shares: the store-scoped mixin, per-method roles, htmx detection."""

from urllib.parse import urlsplit

from django.http import HttpRequest, QueryDict
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from ..models import Membership
from ..tenancy import StoreRequiredMixin

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class DashboardMixin(StoreRequiredMixin):
    """`min_role` guards every request; `write_role`, when set, guards the unsafe methods.

    A page a viewer may look at but only a manager may change (the store settings) sets
    `min_role = VIEWER, write_role = MANAGER`.
    """

    min_role = Membership.Role.VIEWER
    write_role: str | None = None

    def get_min_role(self) -> str:
        if self.write_role and self.request.method not in SAFE_METHODS:
            return self.write_role
        return self.min_role


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
