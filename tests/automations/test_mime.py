import email.message
import email.policy
import re

import pytest
from django.core.mail import EmailMultiAlternatives

from automations.messages.mime import Message


def _build(cls, html="<p>Hallo Zoë,</p><p>Sie haben etwas vergessen.</p>"):
    message = cls(
        subject="Ihr Warenkorb wartet – 20 % Rabatt",
        body="Hallo Zoë,\n\nSie haben etwas vergessen.\n",
        from_email="Grüne Läden <shop@example.com>",
        to=["Zoë Müller <zoe@example.com>"],
        headers={
            "Date": "Sat, 28 Nov 2026 12:00:00 +0000",
            "Message-ID": "<step-42.abc@example.com>",
            "List-Unsubscribe": "<https://comeback.example.com/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


LONG_HTML = "<p>" + "Zoë, votre panier vous attend : 3 × Chemise en lin à 49,00 € " * 6 + "</p>"
CYRILLIC = "Здравствуйте, Зоя! Вы оставили товары в корзине. " * 4


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP], ids=["default", "smtp"])
@pytest.mark.parametrize(
    ("html", "encoding"),
    [
        ("<p>Hallo Zoë,</p><p>Sie haben etwas vergessen.</p>", "8bit"),
        (LONG_HTML, "quoted-printable"),
        (CYRILLIC, "base64"),
        ("<p>short ascii</p>", "7bit"),
    ],
    ids=["short-8bit", "long-lines-qp", "cyrillic-base64", "ascii-7bit"],
)
def test_message_matches_djangos(policy, html, encoding):
    ours = _build(Message, html).message(policy=policy)
    theirs = _build(EmailMultiAlternatives, html).message(policy=policy)

    raw = ours.as_bytes()
    theirs.as_bytes()  # Generating the bytes is what sets a multipart's boundary.
    assert ours.get_body(("html",))["Content-Transfer-Encoding"] == encoding
    assert b"To: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.com>" in raw
    assert max(len(line) for line in raw.splitlines()) <= 78
    # The same headers, part for part, and the same content once decoded. Only where a
    # quoted-printable soft line break falls may differ.
    for mine, django_s in zip(ours.walk(), theirs.walk(), strict=True):
        assert _without_boundary(_headers(mine)) == _without_boundary(_headers(django_s))
        if not mine.is_multipart():
            assert mine.get_content() == django_s.get_content()
            assert mine.get_payload(decode=True) == django_s.get_payload(decode=True)
    assert _without_boundary(ours.get_body(("plain",)).as_bytes()) == _without_boundary(
        theirs.get_body(("plain",)).as_bytes()
    )


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP], ids=["default", "smtp"])
@pytest.mark.parametrize("html", ["<p>Hallo Zoë</p>", LONG_HTML, CYRILLIC, "<p>short ascii</p>\r\n\r\n"])
def test_the_bytes_are_the_stdlib_generators(policy, html):
    ours = _build(Message, html + "\nFrom the shop\n").message(policy=policy)

    raw = ours.as_bytes()
    assert raw == email.message.EmailMessage.as_bytes(ours)
    assert bytes(ours) == raw
    assert ours.as_bytes(policy=email.policy.default) == email.message.EmailMessage.as_bytes(
        ours, policy=email.policy.default
    )


def _headers(part) -> bytes:
    return b"".join(f"{name}: {value}\n".encode() for name, value in part.items())


def _without_boundary(raw: bytes) -> bytes:
    found = re.search(rb'boundary="([^"]+)"', raw)
    return raw.replace(found.group(1), b"BOUNDARY") if found else raw


def test_header_classes_are_made_once_per_name():
    first = _build(Message).message()
    second = _build(Message).message()

    assert type(first["To"]) is type(second["To"])
    assert type(first["Subject"]) is not type(first["To"])


def test_a_repeated_header_is_parsed_once_and_folds_the_same():
    first = _build(Message).message()
    second = _build(Message).message()

    assert first["From"] is second["From"]
    assert first["List-Unsubscribe-Post"] is second["List-Unsubscribe-Post"]
    assert _without_boundary(first.as_bytes()) == _without_boundary(second.as_bytes())


def test_a_repeated_header_folds_once_and_the_smtp_bytes_stay_djangos():
    theirs = _build(EmailMultiAlternatives).message(policy=email.policy.SMTP).as_bytes()
    first = _build(Message).message(policy=email.policy.SMTP)
    second = _build(Message).message(policy=email.policy.SMTP)

    assert first["From"] is second["From"]
    assert _without_boundary(first.as_bytes()) == _without_boundary(theirs)
    # The second message's From is folded from the memo the first one left.
    assert first["From"]._folded
    assert _without_boundary(second.as_bytes()) == _without_boundary(theirs)
    unix = second.as_bytes(policy=email.policy.default)
    assert _without_boundary(unix) == _without_boundary(theirs).replace(b"\r\n", b"\n")


UNSUBSCRIBE = "<https://comeback.example.com/unsubscribe/eyJzIjoiYTgxNWQzNmMtZjBhMi00ZDljLTk4YjktNmVlY2Q3NWZlZjhmIiwiZSI6ImVtbWFAZXhhbXBsZS5uZXQifQ:1xXPRk:4VENcUdjcqeN-9qSB4HMugZO47xEId7u_LcvptXwcBE/>"


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP], ids=["default", "smtp"])
def test_a_long_unsubscribe_link_goes_out_as_a_link(policy):
    message = _build(Message)
    message.extra_headers["List-Unsubscribe"] = UNSUBSCRIBE

    raw = message.message(policy=policy).as_bytes()

    # Django's own message folds it into encoded words, which no mail client reads as a link.
    assert b"=?utf-8?q?=3Chttps" in _build_with(EmailMultiAlternatives, UNSUBSCRIBE).message(policy=policy).as_bytes()
    line = next(line for line in raw.splitlines() if line.startswith(b"List-Unsubscribe:"))
    assert line == b"List-Unsubscribe: " + UNSUBSCRIBE.encode()
    assert email.message_from_bytes(raw, policy=email.policy.default)["List-Unsubscribe"] == UNSUBSCRIBE


def test_unsubscribe_entries_fold_between_entries():
    mailto = "<mailto:unsubscribe@comeback.example.com?subject=unsubscribe>"
    message = _build_with(Message, f"{mailto}, {UNSUBSCRIBE}")

    raw = message.message(policy=email.policy.SMTP).as_bytes()

    assert f"List-Unsubscribe: {mailto},\r\n {UNSUBSCRIBE}\r\n".encode() in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"{mailto}, {UNSUBSCRIBE}"


def _build_with(cls, unsubscribe: str):
    message = _build(cls)
    message.extra_headers["List-Unsubscribe"] = unsubscribe
    return message


# Values for the headers unique to a message: plain ones (made without parsing) and every kind
# of value that must not be (encoded words, non-ASCII, controls, quoted or named addresses,
# groups, obsolete forms, a line's length and past it, spaces where a folder looks for them).
_UNIQUE_VALUES = {
    "Subject": [
        "Your cart at Acme",
        "Hi Ada, come back",
        "",
        " ",
        "  two  spaces  ",
        "x" * 69,
        "x" * 70,
        "x" * 71,
        "word " * 30,
        "a" * 200,
        "=?utf-8?q?encoded?=",
        "=? not quite",
        "Zoë",
        "tab\there",
        'quotes "and" (comments) <angles> @ , ; : \\ [ ]',
        "%s {0} {{ x }}",
    ],
    "X-Comeback-Idempotency-Key": ["step-123-1", "a" * 90, "x=?y", "k"],
    "To": [
        "buyer-1@example.com",
        "first.last+tag@mail.example.co.uk",
        "a_b=c@x-y.example",
        "Ada <ada@example.com>",
        '"quoted"@example.com',
        "ada@[127.0.0.1]",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "ada@example..com",
        "ada@-example.com",
        "zoë@example.com",
        "ada@exämple.com",
        "a@b@c",
        "a@b, c@d",
        "group: a@b;",
        "x" * 70 + "@example.com",
        "",
    ],
    "Message-ID": [
        "<step-1.0123456789abcdef@example.com>",
        "<a@b>",
        "<a..b@c>",
        "<a@b..c>",
        "a@b",
        "<a b@c>",
        "<" + "k" * 80 + "@example.com>",
        "<a@[127.0.0.1]>",
    ],
    "List-Unsubscribe": ["<https://example.com/u/token/>", "<https://example.com/" + "t" * 120 + "/>", " <a:b> "],
}
_POLICIES = [
    email.policy.default,
    email.policy.SMTP,
    email.policy.SMTPUTF8,
    email.policy.default.clone(max_line_length=0),
    email.policy.default.clone(max_line_length=40),
]


def _state(header) -> tuple:
    defects = tuple((type(defect), str(defect)) for defect in header.defects)
    state = (type(header).__mro__[-3:], str(header), header.name, defects, str(header._parse_tree))
    if hasattr(header, "addresses"):
        state += (header.groups, header.addresses)
    if hasattr(header, "datetime"):
        state += (header.datetime,)
    return state + tuple(header.fold(policy=policy) for policy in _POLICIES)


def test_headers_unique_to_a_message_are_the_stdlibs_whether_made_plain_or_parsed():
    """`_plain_header` makes a header without parsing its value: the same header, and the same
    folded lines, as the stdlib's parse, for every value it takes; the others it refuses."""
    import datetime as dt
    from email.headerregistry import HeaderRegistry

    from automations.messages.mime import _plain_header, _ReusingHeaderRegistry

    stdlib, ours = HeaderRegistry(), _ReusingHeaderRegistry()
    made_plain = 0
    for name, values in _UNIQUE_VALUES.items():
        for value in values:
            plain = _plain_header(ours[name], name, value)
            made_plain += plain is not None
            # Parsed: the stdlib's class (ours, List-Unsubscribe, folds by its own rule).
            expected = ours._parse(name, value) if name == "List-Unsubscribe" else stdlib(name, value)
            got = ours(name, value)
            assert _state(got)[1:] == _state(expected)[1:], (name, value)
    assert made_plain >= 15  # the plain path is taken, not refused every time
    for moment in (
        dt.datetime(2026, 12, 6, 9, 5, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
        dt.datetime(2026, 1, 1),
    ):
        assert _plain_header(ours["Date"], "Date", moment) is not None
        assert _state(ours("Date", moment))[1:] == _state(stdlib("Date", moment))[1:]


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP])
def test_a_message_with_plain_headers_is_byte_for_byte_the_stdlibs(policy):
    """The whole message, built through the plain headers and through the stdlib's parse."""
    from automations.messages import mime

    def build():
        message = Message(
            subject="Your cart at Acme",
            body="Hi",
            to=["buyer-1@example.com"],
            headers={
                "Message-ID": "<step-1.0123456789abcdef@example.com>",
                "Date": "Sun, 06 Dec 2026 09:05:07 +0000",
                "X-Comeback-Idempotency-Key": "step-1",
                "List-Unsubscribe": "<https://example.com/u/" + "t" * 100 + "/>",
            },
        )
        message.attach_alternative("<p>Hi</p>", "text/html")
        return _without_boundary(message.message(policy=policy).as_bytes())

    plain = build()
    original = mime.UNIQUE_HEADERS
    try:
        mime.UNIQUE_HEADERS = frozenset()
        mime._reusing.cache_clear()
        assert build() == plain
    finally:
        mime.UNIQUE_HEADERS = original
        mime._reusing.cache_clear()


@pytest.mark.parametrize("subtype", ["plain", "html", "xml"])
@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "us-ascii", "iso-8859-15"])
@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP], ids=["default", "smtp"])
def test_a_text_parts_charset_is_set_param_s(subtype, charset, policy, monkeypatch):
    """The charset added to a fresh part's bare type without parsing it is what `set_param` writes."""
    from automations.messages import mime

    def part(content_manager):
        msg = email.message.EmailMessage(policy=mime._reusing(policy))
        content_manager.set_content(
            msg, "Grüße <b>&</b>\n" if charset != "us-ascii" else "plain\n", subtype=subtype, charset=charset
        )
        return msg

    fast = part(mime._content_manager())
    monkeypatch.setattr(mime, "_FRESH_TEXT_TYPES", frozenset())
    slow = part(mime._content_manager())
    assert list(fast.items()) == list(slow.items())
    assert [type(v) for _, v in fast.items()] == [type(v) for _, v in slow.items()]
    assert fast.as_bytes() == slow.as_bytes()
