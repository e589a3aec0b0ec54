"""Who belongs to a store: adding members, changing roles, removing them; a store keeps an owner."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import Membership, Store


class LastOwnerError(ValueError):
    """The change would leave the store without an owner."""


def _lock_owners(store: Store) -> list[int]:
    # Locking every owner row serialises two owners demoting or removing each other at once,
    # so the "is there another owner" check cannot pass for both.
    return list(
        Membership.objects.select_for_update()
        .filter(store=store, role=Membership.Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def membership_add(*, store: Store, user: AbstractBaseUser, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    membership = Membership(store=store, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Give a member another role; the last owner cannot step down."""
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    with transaction.atomic():
        owners = _lock_owners(membership.store)
        if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER and owners == [membership.pk]:
            raise LastOwnerError("A store needs at least one owner: make someone else owner first.")
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Take a member out of the store; the last owner cannot be removed."""
    with transaction.atomic():
        owners = _lock_owners(membership.store)
        if owners == [membership.pk]:
            raise LastOwnerError("A store needs at least one owner: make someone else owner first.")
        Membership.objects.filter(pk=membership.pk).delete()
