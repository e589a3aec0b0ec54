"""Reading an admin page's form as a browser would submit it, and helpers for staff sign-ins."""

from html.parser import HTMLParser

from django.test import Client

from checkouts.models import Membership, Store
from tests.factories import MembershipFactory, UserFactory


class _FormReader(HTMLParser):
    """Collects what submitting the form with id `form_id` sends, unchanged."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_multiple = False
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._option: str | None = None  # "open" between <option> and </option>

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.append((name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name and "disabled" not in attrs:
            self._select, self._select_multiple, self._options = name, "multiple" in attrs, []
        elif tag == "option" and self._select is not None:
            self._option = "open"
            self._text = []
            self._options.append((attrs.get("value"), "selected" in attrs))
        elif tag == "textarea" and name and "disabled" not in attrs:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option" and self._option is not None:
            value, selected = self._options[-1]
            if value is None:
                self._options[-1] = ("".join(self._text), selected)
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not self._select_multiple and self._options:
                chosen = [self._options[0][0]]
            self.data.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            text = "".join(self._text)
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_data(html: str, form_id: str) -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    return data


def staff(store: Store | None, role: str | None, username: str, *, superuser: bool = False) -> Client:
    """A signed-in client for a staff user with `role` in `store` (or a superuser)."""
    user = UserFactory(username=username, is_staff=True, is_superuser=superuser)
    if store is not None and role is not None:
        MembershipFactory(store=store, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


ROLES = [Membership.Role.OWNER, Membership.Role.MANAGER, Membership.Role.VIEWER]
