"""The email message class automations send: Django's, built with header classes made once.

Python's `email.headerregistry.HeaderRegistry` creates a new class with `type()` for every
header of every message it builds (CPython gh-99575 style overhead): about a tenth of the
dispatcher's time went there. The registry below hands out the same class for a header name
each time; the classes are stateless, so sharing them changes nothing but the cost.
"""

import email.policy
from email.headerregistry import HeaderRegistry
from functools import cache

from django.core.mail import EmailMultiAlternatives


class _ReusedHeaderRegistry(HeaderRegistry):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


@cache
def _reusing(policy: email.policy.Policy) -> email.policy.Policy:
    if not isinstance(policy, email.policy.EmailPolicy):
        return policy
    return policy.clone(header_factory=_ReusedHeaderRegistry())


class Message(EmailMultiAlternatives):
    """`EmailMultiAlternatives` whose MIME tree is built with `_reusing(policy)`; every backend
    (SMTP's `email.policy.SMTP` included) gets the same bytes as before."""

    def message(self, *, policy: email.policy.Policy = email.policy.default):
        return super().message(policy=_reusing(policy))
