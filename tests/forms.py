"""Reading a rendered form back the way a browser submits it, for "open, change nothing, save" tests."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_value: str | None = None
        self.select_first: str | None = None
        self.option_value: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = True
            self.data = []
            self.forms.append((attrs.get("action") or "", self.data))
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in {"submit", "button", "file", "image", "reset"}:
                self.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_value, self.select_first = name, None, None
        elif tag == "option" and self.select:
            value = attrs.get("value")
            self.option_value = value
            if self.select_first is None:
                self.select_first = value
            if "selected" in attrs and self.select_value is None:
                self.select_value = value
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self.select:
            value = self.select_value if self.select_value is not None else self.select_first
            self.data.append((self.select, value or ""))
            self.select = None
        elif tag == "textarea" and self.textarea:
            # A browser drops the one newline that follows <textarea>.
            self.data.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None


def form_data(html: str, action: str = "") -> dict[str, str | list[str]]:
    """The fields of the first form posting to `action` ("": a form with no action, which posts
    to the page itself), as a browser would send them."""
    reader = _FormReader()
    reader.feed(html)
    fields = next(fields for form_action, fields in reader.forms if form_action == action)
    data: dict[str, str | list[str]] = {}
    for name, value in fields:
        if name in data:
            existing = data[name]
            data[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[name] = value
    return data
