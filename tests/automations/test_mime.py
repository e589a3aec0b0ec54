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
