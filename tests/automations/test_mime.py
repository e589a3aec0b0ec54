import email.policy
import re

import pytest
from django.core.mail import EmailMultiAlternatives

from automations.messages.mime import Message


def _build(cls):
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
    message.attach_alternative("<p>Hallo Zoë,</p><p>Sie haben etwas vergessen.</p>", "text/html")
    return message


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP], ids=["default", "smtp"])
def test_message_bytes_match_djangos(policy):
    ours = _build(Message).message(policy=policy).as_bytes()
    theirs = _build(EmailMultiAlternatives).message(policy=policy).as_bytes()

    # The MIME boundary is random; everything else must be byte for byte the same.
    assert b"To: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.com>" in ours
    assert _without_boundary(ours) == _without_boundary(theirs)


def _without_boundary(raw: bytes) -> bytes:
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)
    return raw.replace(boundary, b"BOUNDARY")


def test_header_classes_are_made_once_per_name():
    first = _build(Message).message()
    second = _build(Message).message()

    assert type(first["To"]) is type(second["To"])
    assert type(first["Subject"]) is not type(first["To"])
