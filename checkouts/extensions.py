"""What other apps add to the dashboard, without the dashboard importing them.

`checkouts` renders the navigation, the actions on a checkout, the bulk actions of the
list, the header widgets and the timeline of a checkout from these registries. An app
that builds on checkouts (automations, the webhook pages) registers its pieces in its
AppConfig.ready, so dependencies keep pointing one way.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .models import Membership


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation (`section="main"`) or among the settings tabs (`"settings"`)."""

    label: str
    url_name: str
    min_role: str = Membership.Role.VIEWER
    order: int = 100
    section: str = "main"
    # badge(request) -> a count shown next to the label (0: none). Runs on every page: one
    # cheap, bounded query at most.
    badge: Callable[[Any], int] | None = None


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page of a bulk action says. `{n}` is the count, `{s}` an "s" when
    it is not one. `preview_url_name`, when set, is a page taking a checkout's id as `pk` shown
    in a frame for the first selected checkout (the email that would go out, say)."""

    title: str
    question: str
    button: str
    danger: bool = False
    preview_url_name: str = ""


@dataclass(frozen=True)
class CheckoutAction:
    """A button on the checkout detail page, or (bulk=True) an action on selected list rows.

    The URL takes the abandoned checkout's id as `pk` (detail) or no argument (bulk: the
    selected ids arrive as repeated `ids` POST fields, with `back` and `next`: the list the
    merchant came from, to redirect to). A bulk action with a `confirm` is first shown on the
    dashboard's confirmation page (count, buyers, preview); its view then receives the POST
    with `confirm=yes`. "All matching" sends the first `max_rows` ids of the filter in list
    order, or (`takes_filter=True`, for views that read it) `scope=all` and the `filter` query.
    `unavailable(abandoned_checkout)`, if given, says why the action cannot work on that checkout
    ("" when it can): the detail page then shows that sentence instead of the button. It may run
    one query.
    """

    label: str
    url_name: str
    min_role: str = Membership.Role.MANAGER
    order: int = 100
    bulk: bool = False
    method: str = "get"
    unavailable: Callable[[Any], str] | None = None
    confirm: Confirmation | None = None
    # The most ids one form sends (the documented maximum of a selection).
    max_rows: int = 1000
    takes_filter: bool = False
    # The action's own view answers a POST without `confirm=yes` with the confirmation page
    # (checkouts.views.bulk.confirmation_page), so the list posts to it directly.
    confirms_itself: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a checkout's timeline."""

    at: datetime
    kind: str  # a short machine word: "abandoned", "activity", "click", "delivery", "recovered", ...
    title: str
    detail: str = ""
    status: str = ""  # "ok", "warning", "error" or "" — drives the dot's colour
    url: str = ""
    # One event told twice (an activity and a source's row for the same email) shares a key:
    # the timeline shows it once. Activities about a message are keyed "message:<Message-ID>".
    key: str = ""


TimelineSource = Callable[[Any], list[TimelineEntry]]

_nav: list[NavItem] = []
_actions: list[CheckoutAction] = []
_header_templates: list[str] = []
_timeline_sources: list[TimelineSource] = []


def register_nav(item: NavItem) -> None:
    if item not in _nav:
        _nav.append(item)


def register_checkout_action(action: CheckoutAction) -> None:
    if action not in _actions:
        _actions.append(action)


def register_header_template(template_name: str) -> None:
    """A template included in the page header (e.g. a notification bell); it gets the page context."""
    if template_name not in _header_templates:
        _header_templates.append(template_name)


def register_timeline_source(source: TimelineSource) -> None:
    """`source(abandoned_checkout)` returns extra timeline entries; it must run a bounded number of queries."""
    if source not in _timeline_sources:
        _timeline_sources.append(source)


def nav_items(section: str = "main") -> list[NavItem]:
    return sorted((item for item in _nav if item.section == section), key=lambda item: item.order)


def checkout_actions(*, bulk: bool) -> list[CheckoutAction]:
    return sorted((a for a in _actions if a.bulk == bulk), key=lambda action: action.order)


def bulk_action(url_name: str) -> CheckoutAction | None:
    return next((a for a in _actions if a.bulk and a.url_name == url_name), None)


def header_templates() -> list[str]:
    return list(_header_templates)


def timeline_sources() -> list[TimelineSource]:
    return list(_timeline_sources)
