"""What every dashboard page's layout needs: navigation, header widgets, the store switcher."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from .extensions import NavItem, header_templates, nav_items
from .models import Membership
from .tenancy import memberships_for_user


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool
    badge: int = 0


def nav_links(section: str, membership: Membership, path: str, request=None) -> list[NavLink]:
    """The section's registered items this role may see; the longest URL prefixing `path` is active."""
    items: list[tuple[NavItem, str]] = [
        (item, reverse(item.url_name)) for item in nav_items(section) if membership.allows(item.min_role)
    ]
    matches = [url for _, url in items if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len, default=None)
    return [
        NavLink(item.label, url, url == current, item.badge(request) if item.badge and request else 0)
        for item, url in items
    ]


def dashboard(request) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    user = request.user
    return {
        "nav_main": nav_links("main", membership, request.path, request),
        "nav_settings": nav_links("settings", membership, request.path),
        "header_templates": header_templates(),
        # Only read if the layout renders the switcher (one query, whatever the page).
        "store_memberships": SimpleLazyObject(lambda: list(memberships_for_user(user))),
        "can_manage": membership.allows(Membership.Role.MANAGER),
        "is_owner": membership.allows(Membership.Role.OWNER),
    }
