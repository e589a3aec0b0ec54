"""The email message class automations send: Django's, with its headers parsed once.

Building a message with Python's modern email API parses every header value it sets
(`email.headerregistry`), and most of a recovery email's headers are the same from one
message to the next: its From, MIME-Version, List-Unsubscribe-Post, and the Content-Type
and Content-Transfer-Encoding of each part. The registry below

- hands out one class per header name, where CPython's creates a new class with `type()`
  for every header of every message, and
- keeps the last parsed headers by (name, value) and hands the same header object out
  again, and
- has each header object remember its folded form (what a backend writes on the wire), so
  a repeated header is folded once per policy rather than once per message;

and its text parts are quoted-printable encoded by `binascii.b2a_qp` (C) instead of
`email.quoprimime` (Python, a few times slower on an HTML body). Its bytes (what the SMTP
backend sends) come from a generator that writes a part's body in one call where the
stdlib's makes two per line, and that checks its boundary without compiling a regular
expression per message: a third less time in `as_bytes`.

Header objects are immutable strings (the stdlib itself reuses one when a header is copied
from message to message), so sharing them changes nothing but the cost. The headers are
byte for byte Django's, and every part decodes to the same content; a quoted-printable
body differs only in where its soft line breaks fall (RFC 2045's 76 characters rather than
the policy's 78). `tests/automations/test_mime.py` checks both. One header is
deliberately not Django's: a List-Unsubscribe longer than a line (see
`ListUnsubscribeHeader`), which Django's sends in a form no mail client reads.
"""

import binascii
import datetime
import email.charset
import email.message
import email.policy
import email.utils
import random
import re
import sys
from email import contentmanager
from email.generator import NLCRE, BytesGenerator
from email.headerregistry import (
    Address,
    AddressHeader,
    BaseHeader,
    DateHeader,
    Group,
    HeaderRegistry,
    MessageIDHeader,
    UnstructuredHeader,
)
from functools import cache, lru_cache
from io import BytesIO

from django.core.mail import EmailMultiAlternatives

# Enough for a batch's repeated headers many times over; the unique ones (To, Subject,
# Message-ID, the boundary) pass through and fall out.
PARSED_HEADERS_KEPT = 512
# The headers unique to each message: made by `_plain_header` when their value allows.
UNIQUE_HEADERS = frozenset({"to", "subject", "message-id", "date", "x-comeback-idempotency-key", "list-unsubscribe"})


class _FoldedOnce:
    """Mixed into every header class: `fold` remembers its result per folding policy.

    Folding depends only on the header's parse tree (fixed once parsed) and on the
    policy's line length, line separator and utf8 flag; generating bytes clones the
    policy per message, so those three are the key, not the policy object.

    A header made by `_plain_header` has no parse tree until something reads it: it is
    parsed from its value then, as `BaseHeader.parse` would have parsed it. And a plain
    header that fits on one line folds to `Name: value`, which is what the stdlib's
    folding gives for a single ASCII line with nothing to encode.
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        key = (policy.max_line_length, policy.linesep, policy.utf8)
        folded = self.__dict__.setdefault("_folded", {})
        text = folded.get(key)
        if text is None:
            limit = policy.max_line_length or sys.maxsize
            # (List-Unsubscribe folds by its own rule, whatever its length.)
            one_line = self and not isinstance(self, ListUnsubscribeHeader) and len(self._name) + 2 + len(self) <= limit
            if one_line and self.__dict__.get("_plain"):
                text = folded[key] = f"{self._name}: {self}{policy.linesep}"
            else:
                text = folded[key] = super().fold(policy=policy)
        return text

    def __getattr__(self, attribute: str):
        if attribute == "_parse_tree" and self.__dict__.get("_plain"):
            tree = self.__dict__["_parse_tree"] = self.value_parser(str(self))
            return tree
        raise AttributeError(attribute)


# Values whose parse is known without parsing (`_plain_header`): printable ASCII, so nothing
# is decoded, sanitized or encoded, and for the structured headers, the simplest form of the
# grammar (a dot-atom address, a dot-atom message id).
_ATOM = r"[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_ADDRESS = re.compile(rf"({_ATOM})@({_DOMAIN})")
_PLAIN_MESSAGE_ID = re.compile(rf"<{_ATOM}@{_DOMAIN}>")


def _plain_header(cls: type, name: str, value) -> BaseHeader | None:
    """The header `cls(name, value)` would make, without its parse tree (made when read), for
    the headers unique to each message, when the value is plain (see above); else None.

    What `BaseHeader.__new__` and each class's `parse` and `init` set, for these values:
    an unstructured value decodes to itself with no defects; a dot-atom address is one
    group without a display name holding one address; a dot-atom message id decodes to
    itself with no defects; a datetime decodes to `format_datetime` of it.
    `tests/automations/test_mime.py` compares each with the stdlib's on hostile values.
    """
    if isinstance(value, datetime.datetime):
        if not issubclass(cls, DateHeader):
            return None
        header = str.__new__(cls, email.utils.format_datetime(value))
        header._datetime = value
    elif type(value) is not str or not (value.isascii() and value.isprintable()) or "=?" in value:
        return None
    elif issubclass(cls, UnstructuredHeader):
        header = str.__new__(cls, value)
    elif issubclass(cls, MessageIDHeader):
        if not _PLAIN_MESSAGE_ID.fullmatch(value):
            return None
        header = str.__new__(cls, value)
    elif issubclass(cls, AddressHeader):
        if not (match := _PLAIN_ADDRESS.fullmatch(value)):
            return None
        header = str.__new__(cls, value)
        header._groups = (Group(None, [Address("", match[1], match[2])]),)
        header._addresses = None
    else:
        return None
    header._name = name
    header._defects = []
    header._plain = True
    return header


_LIST_ENTRY = r"<[^<>\s]+>"
_LIST_HEADER = re.compile(rf"\s*{_LIST_ENTRY}(?:\s*,\s*{_LIST_ENTRY})*\s*")


class ListUnsubscribeHeader(UnstructuredHeader):
    """RFC 2369's `<URI>, <URI>` list, folded between entries only.

    The stdlib folds a header it cannot break at a space into RFC 2047 encoded words, and an
    unsubscribe link with its signed token is longer than a line: on the wire it became
    `=?utf-8?q?=3Chttps=3A//...?=`, which no receiver (Gmail's and Yahoo's one-click
    unsubscribe included) reads as a link. Encoded words are not allowed in this header at
    all. A long entry stays whole: RFC 5322 allows lines up to 998 characters.
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        value = str(self)
        if not (value.isascii() and _LIST_HEADER.fullmatch(value)):
            return super().fold(policy=policy)
        limit = policy.max_line_length or len(value) + len(self.name) + 2
        entries = re.findall(_LIST_ENTRY, value)
        lines = [f"{self.name}: {entries[0]}"]
        for entry in entries[1:]:
            if len(lines[-1]) + len(entry) + 2 > limit:
                lines[-1] += ","
                lines.append(f" {entry}")
            else:
                lines[-1] += f", {entry}"
        return policy.linesep.join(lines) + policy.linesep


class _ReusingHeaderRegistry(HeaderRegistry):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.map_to_type("list-unsubscribe", ListUnsubscribeHeader)
        self._classes: dict[str, type] = {}
        self._parsed = lru_cache(maxsize=PARSED_HEADERS_KEPT)(self._parse)

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            # What `HeaderRegistry.__getitem__` builds, with `_FoldedOnce` in front.
            specific = self.registry.get(key, self.default_class)
            cls = self._classes[key] = type("_" + specific.__name__, (_FoldedOnce, specific, self.base_class), {})
        return cls

    def _parse(self, name: str, value: str) -> BaseHeader:
        return self[name](name, value)

    def __call__(self, name: str, value) -> BaseHeader:
        if name.lower() in UNIQUE_HEADERS and (header := _plain_header(self[name], name, value)) is not None:
            return header
        if type(value) is str:
            return self._parsed(name, value)
        return self._parse(name, value)


def _encode_text(string: str, charset: str, policy: email.policy.EmailPolicy) -> tuple[str, str]:
    """`email.contentmanager._encode_text` with its choice of encoding, quoted-printable in C."""
    lines = string.encode(charset).splitlines()
    body = b"\n".join(lines) + b"\n"
    if max(map(len, lines), default=0) <= policy.max_line_length:
        try:
            return "7bit", body.decode("ascii")
        except UnicodeDecodeError:
            pass
        if policy.cte_type == "8bit":
            return "8bit", body.decode("ascii", "surrogateescape")
    # The stdlib's heuristic: base64 when the first lines come out shorter that way.
    sniff = policy.linesep.encode("ascii").join(lines[:10]) + policy.linesep.encode("ascii")
    if len(binascii.b2a_qp(sniff, istext=True)) > len(binascii.b2a_base64(sniff)):
        return "base64", contentmanager._encode_base64(
            body.replace(b"\n", policy.linesep.encode("ascii")), policy.max_line_length
        )
    return "quoted-printable", binascii.b2a_qp(body, istext=True).decode("ascii")


def _set_text_content(
    msg,
    string,
    subtype="plain",
    charset="utf-8",
    cte=None,
    disposition=None,
    filename=None,
    cid=None,
    params=None,
    headers=None,
):
    if cte is not None:
        # An encoding asked for by name: the stdlib's own path.
        return contentmanager.set_text_content(
            msg, string, subtype, charset, cte, disposition, filename, cid, params, headers
        )
    # The stdlib's `set_text_content`, step for step (its helpers are module-private but stable).
    contentmanager._prepare_set(msg, "text", subtype, headers)
    cte, payload = _encode_text(string, charset, msg.policy)
    msg.set_payload(payload)
    charset = email.charset.ALIASES.get(charset, charset)
    ctype = msg.get("Content-Type")
    if ctype is not None and str(ctype) in _FRESH_TEXT_TYPES:
        # What `set_param` makes of a fresh part's bare type, worked out once: it parses the
        # header's parameters each time to find none and add the charset.
        msg.replace_header("Content-Type", _with_charset(str(ctype), charset))
    else:
        msg.set_param("charset", charset, replace=True)
    msg["Content-Transfer-Encoding"] = cte
    contentmanager._finalize_set(msg, disposition, filename, cid, params)
    return None


# The bare types `contentmanager._prepare_set` gives a text part.
_FRESH_TEXT_TYPES = frozenset({"text/plain", "text/html"})


@lru_cache(maxsize=64)
def _with_charset(ctype: str, charset: str) -> str:
    """The Content-Type `set_param("charset", charset, replace=True)` writes over `ctype`."""
    scratch = email.message.EmailMessage(policy=email.policy.default)
    scratch["Content-Type"] = ctype
    scratch.set_param("charset", charset, replace=True)
    return str(scratch["Content-Type"])


def _content_manager() -> contentmanager.ContentManager:
    manager = contentmanager.ContentManager()
    manager.get_handlers.update(contentmanager.raw_data_manager.get_handlers)
    manager.set_handlers.update(contentmanager.raw_data_manager.set_handlers)
    manager.add_set_handler(str, _set_text_content)
    return manager


@cache
def _reusing(policy: email.policy.Policy) -> email.policy.Policy:
    if (
        not isinstance(policy, email.policy.EmailPolicy)
        or policy.content_manager is not contentmanager.raw_data_manager
    ):
        return policy
    return policy.clone(header_factory=_ReusingHeaderRegistry(), content_manager=_content_manager())


class _BytesGenerator(BytesGenerator):
    @classmethod
    def _make_boundary(cls, text: bytes | str | None = None) -> str:
        # The stdlib's boundary (15 "=", 19 random digits, "=="), checked against the parts
        # by a substring test: it compiles a new regular expression for every message to look
        # for the boundary as a line, about a quarter of `as_bytes`. Absent from the text
        # altogether, it cannot be a line of it.
        while True:
            boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="  # nosec B311 - as the stdlib's
            if text is None or (boundary if isinstance(text, str) else boundary.encode("ascii")) not in text:
                return boundary

    def _write_lines(self, lines: str) -> None:
        # The stdlib writes each line, then each line ending, with a call apiece (an encode
        # and a buffer write each); joined first, the output is the same.
        if lines:
            self.write(self._NL.join(NLCRE.split(lines)))


class _MIMEMessage(email.message.EmailMessage):
    def as_bytes(self, unixfrom: bool = False, policy: email.policy.Policy | None = None) -> bytes:
        # `email.message.Message.as_bytes` with the generator above (its parts are written by
        # clones of it).
        out = BytesIO()
        _BytesGenerator(out, mangle_from_=False, policy=self.policy if policy is None else policy).flatten(
            self, unixfrom=unixfrom
        )
        return out.getvalue()


class Message(EmailMultiAlternatives):
    """`EmailMultiAlternatives` whose MIME tree is built with `_reusing(policy)`; every backend
    (SMTP's `email.policy.SMTP` included) gets the same bytes as before."""

    def message(self, *, policy: email.policy.Policy = email.policy.default):
        msg = super().message(policy=_reusing(policy))
        if type(msg) is email.message.EmailMessage:
            # Django creates the root itself; the subclass only changes how its bytes are written.
            msg.__class__ = _MIMEMessage
        return msg
