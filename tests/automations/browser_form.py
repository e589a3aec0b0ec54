"""The data a browser would submit for a rendered form, read with the standard HTML parser."""

from html import unescape
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """Collects the successful controls of one form, skipping <template> content (inert)."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.in_template = 0
        self.data: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.in_form = True
            return
        if tag == "template":
            self.in_template += 1
        if not self.in_form or self.in_template or "disabled" in a:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"} or "name" not in a:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data.append((a["name"], a.get("value", "on")))
                return
            self.data.append((a["name"], a.get("value", "")))
        elif tag == "select" and "name" in a:
            self._select = {"name": a["name"], "first": None, "chosen": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and "name" in a:
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def _close_option(self):
        if self._option is None or self._select is None:
            return
        option = self._option
        value = option["value"] if option["value"] is not None else option["text"].strip()
        if self._select["first"] is None:
            self._select["first"] = value
        if option["selected"]:
            self._select["chosen"].append(value)
        self._option = None

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template -= 1
        elif tag == "form" and self.in_form and not self.in_template:
            self.in_form = False
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            chosen = self._select["chosen"] or ([self._select["first"]] if self._select["first"] is not None else [])
            self.data.extend((self._select["name"], value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea> and submits line breaks as CRLF.
            text = self._textarea["text"]
            text = text[1:] if text.startswith("\n") else text
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            self.data.append((self._textarea["name"], text))
            self._textarea = None


def form_submission(html: str | bytes, form_id: str) -> dict[str, list[str]]:
    """The name -> values a browser posts when the form is submitted untouched."""
    reader = _FormReader(form_id)
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    out: dict[str, list[str]] = {}
    for name, value in reader.data:
        out.setdefault(name, []).append(unescape(value) if "&" in value else value)
    return out
