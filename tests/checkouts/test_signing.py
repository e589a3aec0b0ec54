"""checkouts.signing signs exactly as Django's signing does, and what it signs Django reads."""

from unittest import mock

import pytest
from django.core import signing
from django.test import override_settings
from django.utils.crypto import salted_hmac
from hypothesis import given, settings
from hypothesis import strategies as st

from checkouts import signing as fast_signing

SALTS = ("checkouts.recovery-link.email", "automations.unsubscribe", "automations.message-id", "é ünïcode salt")
text = st.text(max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(salt=st.sampled_from(SALTS) | text, value=text | st.binary(max_size=200))
def test_salted_hmac_is_djangos(salt, value):
    assert fast_signing.salted_hmac(salt, value).digest() == salted_hmac(salt, value, algorithm="sha256").digest()


@settings(max_examples=200, deadline=None)
@given(salt=st.sampled_from(SALTS) | text.filter(bool), value=text)
def test_sign_is_signers(salt, value):
    signed = fast_signing.sign(value, salt=salt)
    assert signed == signing.Signer(salt=salt).sign(value)
    assert signing.Signer(salt=salt).unsign(signed) == value


@settings(max_examples=200, deadline=None)
@given(
    salt=st.sampled_from(SALTS),
    obj=json_values,
    compress=st.booleans(),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_dumps_is_djangos(salt, obj, compress, now):
    # The timestamp is the clock's second: both read the same frozen clock.
    with mock.patch("time.time", return_value=now):
        ours = fast_signing.dumps(obj, salt=salt, compress=compress)
        theirs = signing.dumps(obj, salt=salt, compress=compress)
    assert ours == theirs
    assert signing.loads(ours, salt=salt) == obj


def test_dumps_compresses_as_django_does_when_it_pays():
    data = {"s": "0" * 36, "e": "buyer-123@example.com" * 5, "l": "fr"}
    with mock.patch("time.time", return_value=1_765_000_000.5):
        ours = fast_signing.dumps(data, salt="automations.unsubscribe", compress=True)
        assert ours == signing.dumps(data, salt="automations.unsubscribe", compress=True)
    assert ours.startswith(".")


@pytest.mark.parametrize("secret", ["another-secret", "s" * 80, b"bytes-secret-\xff"])
def test_follows_the_secret_key(secret):
    """A changed SECRET_KEY (override_settings, a rotation) signs with the new key at once."""
    with override_settings(SECRET_KEY=secret):
        assert fast_signing.sign("key-1", salt="x") == signing.Signer(salt="x").sign("key-1")
        assert (
            fast_signing.salted_hmac("y", "v").hexdigest()
            == salted_hmac("y", "v", secret=secret, algorithm="sha256").hexdigest()
        )
    assert fast_signing.sign("key-1", salt="x") == signing.Signer(salt="x").sign("key-1")
