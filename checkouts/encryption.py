"""Secrets at rest: Fernet encryption under keys from the environment, as a model field.

`COMEBACK_ENCRYPTION_KEYS` is a list of Fernet keys. The first encrypts; every one decrypts,
so a key is rotated by putting a new one first, running `manage.py rotate_encryption_key`
(which re-encrypts every value under it), and then dropping the old one. A value that no
configured key opens is an error that says so, never a silent empty secret.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

SETTING = "COMEBACK_ENCRYPTION_KEYS"


class DecryptionError(RuntimeError):
    """A stored value that none of the configured keys opens: a wrong or missing key."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            f"{SETTING} is empty: set at least one key (`manage.py rotate_encryption_key --new-key`)."
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"Key {position} of {SETTING} is not a Fernet key (32 url-safe base64-encoded bytes): "
                "make one with `manage.py rotate_encryption_key --new-key`."
            ) from exc
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    return _fernet(tuple(getattr(settings, SETTING, ())))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str, *, what: str = "a value") -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            f"Cannot decrypt {what}: none of the {len(getattr(settings, SETTING, ()))} keys in {SETTING} opens it. "
            "The key it was written with is missing (restore it to the list) or the value is damaged."
        ) from exc


def rotate(token: str, *, what: str = "a value") -> str:
    """The same plaintext, encrypted under the first key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(f"Cannot re-encrypt {what}: none of the keys in {SETTING} opens it.") from exc


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees the plaintext. '' stays '' (no secret set).

    The ciphertext differs on every save, so the column cannot be filtered on or indexed:
    look rows up by something else.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value, what=f"{self.model._meta.label}.{self.name}")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
