"""Django's signing, the same bytes, without deriving the key again for every value.

`salted_hmac` hashes the salt and SECRET_KEY into a key and builds a new HMAC from it on every
call, and `signing.Signer` does that through two more layers per signature: a dispatcher batch
signs three values per email (the recovery link's token, the unsubscribe token, the Message-ID's
keyed hash) under three fixed salts. Here the HMAC keyed for a (salt, secret, algorithm) is made
once and copied per value: `hmac.copy()` of a keyed HMAC, updated with the value, is the digest
`hmac.new(key, value)` gives. Only signing lives here; checking a signature (a click, an
unsubscribe) goes through Django, which also tries SECRET_KEY_FALLBACKS.

`tests/checkouts/test_signing.py` holds each function equal to Django's.
"""

import hashlib
import hmac
import json
import time
import zlib
from base64 import urlsafe_b64encode
from functools import lru_cache

from django.conf import settings
from django.core.signing import b62_encode
from django.utils.encoding import force_bytes


@lru_cache(maxsize=64)
def _keyed(key_salt: str, secret: str | bytes, algorithm: str) -> "hmac.HMAC":
    # As salted_hmac: the key is the digest of salt + secret, the HMAC keyed with it.
    hasher = getattr(hashlib, algorithm)
    key = hasher(force_bytes(key_salt) + force_bytes(secret)).digest()
    return hmac.new(key, digestmod=hasher)


def salted_hmac(key_salt: str, value: str | bytes, *, algorithm: str = "sha256") -> "hmac.HMAC":
    """`django.utils.crypto.salted_hmac(key_salt, value, algorithm=...)` under SECRET_KEY."""
    mac = _keyed(key_salt, settings.SECRET_KEY, algorithm).copy()
    mac.update(force_bytes(value))
    return mac


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).strip(b"=").decode()


def sign(value: str, *, salt: str) -> str:
    """`signing.Signer(salt=salt).sign(value)`: `value:signature`, sha256, under SECRET_KEY."""
    return f"{value}:{_b64(salted_hmac(salt + 'signer', value).digest())}"


def dumps(obj, *, salt: str, compress: bool = False) -> str:
    """`signing.dumps(obj, salt=salt, compress=compress)` (JSON, timestamped, under SECRET_KEY)."""
    data = json.dumps(obj, separators=(",", ":")).encode("latin-1")
    prefix = ""
    if compress:
        compressed = zlib.compress(data)
        if len(compressed) < (len(data) - 1):
            data, prefix = compressed, "."
    # TimestampSigner.sign: the value, its timestamp, then Signer.sign of both.
    return sign(f"{prefix}{_b64(data)}:{b62_encode(int(time.time()))}", salt=salt)
