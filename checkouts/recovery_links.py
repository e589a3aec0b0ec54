"""The recovery link of one email: the checkout's link plus a signed token naming the email.

Every recovery email carries its own link, `…/redirect-to-checkout?metasiteId=…&e=<token>`,
so a click is credited to the email it came from. The token signs the email's idempotency key
(known before the email is sent, unlike its row id) under SECRET_KEY: nobody can credit a click
to an email they were not sent. A link without a token, as in every email sent before tokens
existed and in the Wix API's `checkoutUrl`, still works and still counts for the checkout.
"""

from urllib.parse import quote

from django.core import signing

from . import signing as fast_signing
from .wix import checkout_url

SALT = "checkouts.recovery-link.email"


def email_link_token(email_key: str) -> str:
    return fast_signing.sign(email_key, salt=SALT)  # Signer(salt=SALT).sign, its key derived once


def email_link_key(token: str | None) -> str:
    """The email key a token names, or "" for no token, a tampered one or one made elsewhere."""
    if not token:
        return ""
    try:
        return signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return ""


def recovery_link_for_email(abandoned_checkout_id, store_id, *, email_key: str) -> str:
    token = quote(email_link_token(email_key), safe=":")
    return f"{checkout_url(abandoned_checkout_id, store_id)}&e={token}"
