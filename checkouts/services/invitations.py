"""Inviting people into a store: a signed, expiring, single-use link for one address and one role.

The owner never learns whether the address already has an account here: the same invitation is
written and sent either way, and whoever opens the link either signs in or creates an account.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import Invitation, Membership, Store

logger = logging.getLogger(__name__)

SALT = "comeback.invitation"


class InvitationUnavailable(Exception):
    """The link is forged, expired, revoked or was already used."""


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(str(invitation.pk), salt=SALT)


def invitation_url(invitation: Invitation) -> str:
    return settings.COMEBACK_PUBLIC_URL + reverse("checkouts:invitation", args=[invitation_token(invitation)])


def invitation_for_token(token: str) -> Invitation:
    """The open invitation a link names, or InvitationUnavailable."""
    max_age = timedelta(days=settings.COMEBACK_INVITATION_DAYS)
    try:
        pk = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise InvitationUnavailable from exc
    invitation = Invitation.objects.open().select_related("store", "invited_by").filter(pk=pk).first()
    if invitation is None:
        raise InvitationUnavailable
    return invitation


def invitation_create(
    *, store: Store, email: str, role: str, invited_by: AbstractBaseUser | None
) -> tuple[Invitation, str]:
    """Write an invitation and email its link (returned too); an earlier open one to the same address
    is revoked."""
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    email = email.strip()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.for_store(store).open().filter(email__iexact=email).update(revoked_at=now)
        invitation = Invitation.objects.create(
            store=store,
            email=email,
            role=role,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + timedelta(days=settings.COMEBACK_INVITATION_DAYS),
        )
        url = invitation_url(invitation)
        transaction.on_commit(lambda: invitation_send(invitation=invitation, url=url))
    return invitation, url


def invitation_send(*, invitation: Invitation, url: str) -> bool:
    inviter = ""
    if invitation.invited_by:
        inviter = invitation.invited_by.get_full_name() or invitation.invited_by.get_username()
    role = invitation.get_role_display().lower()
    try:
        send_mail(
            subject=f"Join {invitation.store.name} on Comeback",
            message=(
                f"{inviter or 'An owner'} invited you to {invitation.store.name} on Comeback, as {role}.\n\n"
                f"Open this link to sign in or create your account and join:\n{url}\n\n"
                f"The link works once, until {invitation.expires_at:%b %d, %Y %H:%M} UTC. "
                f"If you did not expect it, ignore this email.\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except OSError:
        # The owner can still copy the link from the members page.
        logger.warning("Could not email invitation %s", invitation.pk, exc_info=True)
        return False
    return True


def invitation_revoke(*, invitation: Invitation) -> bool:
    return bool(
        Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def invitation_accept(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """Use the invitation once: the user joins with its role (a member keeps a higher role they have)."""
    now = timezone.now()
    with transaction.atomic():
        # The conditional update is the single use: of two tabs accepting at once, one wins.
        taken = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if not taken:
            raise InvitationUnavailable
        membership = Membership.objects.select_for_update().filter(store_id=invitation.store_id, user=user).first()
        if membership is None:
            return Membership.objects.create(store_id=invitation.store_id, user=user, role=invitation.role)
        if Membership.RANK[invitation.role] > Membership.RANK[membership.role]:
            Membership.objects.filter(pk=membership.pk).update(role=invitation.role)
            membership.role = invitation.role
        return membership
