"""API keys as the API's authentication reads them: each key with its store, kept a few seconds per process.

Every API request needs its key and store; reading them was one of the two queries of a Query
page and a third of a Get's time. A process keeps what it read for COMEBACK_API_KEY_CACHE_SECONDS
(at most MAX_KEYS keys, least recently used out first), and hands out copies, so no request
sees what another did to its instances.

Revocation: in this process it takes effect at once (`api_key_revoke`, and any save or delete
of a key or a store, clear the cache); in another process (another gunicorn worker) within
COMEBACK_API_KEY_CACHE_SECONDS. The secret is checked against the hash on every request.
"""

import copy
import threading
import time

from cachetools import LRUCache
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import ApiKey, Store

# One entry per active key: far more than a process serves in a few seconds.
MAX_KEYS = 1024

_keys: LRUCache = LRUCache(maxsize=MAX_KEYS)  # prefix → (monotonic deadline, key with its store)
_lock = threading.Lock()


def api_key_for_prefix(prefix: str) -> ApiKey | None:
    """The key with this prefix and its store (revoked or not), or None; a copy of it."""
    ttl = settings.COMEBACK_API_KEY_CACHE_SECONDS
    with _lock:
        entry = _keys.get(prefix)
    if entry is None or entry[0] <= time.monotonic():
        key = ApiKey.objects.select_related("store").filter(prefix=prefix).first()
        if key is None or ttl <= 0:
            return key
        entry = (time.monotonic() + ttl, key)
        with _lock:
            _keys[prefix] = entry
    return _copy(entry[1])


def api_key_used(key: ApiKey, *, resolution_seconds: int) -> None:
    """Record that `key` was used now, at most once per `resolution_seconds` (a hint, not an audit log)."""
    now = timezone.now()
    if key.last_used_at is not None and (now - key.last_used_at).total_seconds() <= resolution_seconds:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    with _lock:
        entry = _keys.get(key.prefix)
    if entry is not None:
        entry[1].last_used_at = now


def api_keys_forget(**kwargs) -> None:
    """Drop every cached key: a key or a store changed in this process."""
    with _lock:
        _keys.clear()


def _copy(key: ApiKey) -> ApiKey:
    duplicate = _shallow(key)
    duplicate.store = _shallow(key.store)
    return duplicate


def _shallow(instance):
    """What `copy.copy` makes of a model instance (its own field values and state, no cached
    relations), without the pickling protocol it goes through: about half the time."""
    duplicate = instance.__class__.__new__(instance.__class__)
    duplicate.__dict__ = instance.__dict__.copy()
    duplicate._state = copy.copy(instance._state)
    duplicate._state.fields_cache = {}
    return duplicate


for _model in (ApiKey, Store):
    post_save.connect(api_keys_forget, sender=_model, dispatch_uid=f"keyring-forget-{_model.__name__}-saved")
    post_delete.connect(api_keys_forget, sender=_model, dispatch_uid=f"keyring-forget-{_model.__name__}-deleted")
