"""Creating and configuring stores, their members and their API keys."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import hooks
from ..keyring import api_keys_forget
from ..models import ApiKey, Checkout, Membership, Store


def store_create(*, name: str, owner: AbstractBaseUser | None = None, **fields) -> Store:
    """A new store (with its webhook key pair); its owner, if given, becomes OWNER."""
    with transaction.atomic():
        store = Store(name=name, **fields)
        store.full_clean()
        store.save()
        if owner is not None:
            Membership.objects.create(user=owner, store=store, role=Membership.Role.OWNER)
        hooks.store_created.send(sender=Store, store=store)
    return store


def store_update(*, store: Store, **fields) -> Store:
    """Change a store's settings; a new `abandon_after` re-times every open checkout."""
    abandon_after_changed = "abandon_after" in fields and fields["abandon_after"] != store.abandon_after
    for name, value in fields.items():
        setattr(store, name, value)
    store.full_clean()
    with transaction.atomic():
        store.save()
        if abandon_after_changed:
            Checkout.objects.filter(store=store, abandon_due_at__isnull=False).update(
                abandon_due_at=F("last_activity_at") + store.abandon_after
            )
    return store


def membership_set(*, store: Store, user: AbstractBaseUser, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(store=store, user=user, defaults={"role": role})
    return membership


def api_key_create(
    *, store: Store, name: str, scopes: Iterable[str], created_by: AbstractBaseUser | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is never stored and shown only now."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise ValueError(f"Scopes must be some of {', '.join(ApiKey.Scope.values)}; got {', '.join(scopes) or 'none'}.")
    raw, prefix, secret_hash = ApiKey.generate()
    key = ApiKey.objects.create(
        store=store, name=name, prefix=prefix, secret_hash=secret_hash, scopes=scopes, created_by=created_by
    )
    return key, raw


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    api_keys_forget()  # this process refuses it at once; the others within COMEBACK_API_KEY_CACHE_SECONDS
