"""Telling the merchant that an endpoint was switched off (besides the notice on the webhooks page)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from ..models import Membership, WebhookEndpoint

logger = logging.getLogger(__name__)


def endpoint_disabled_notify(*, endpoint: WebhookEndpoint) -> int:
    """Email the store's owners and managers. Returns how many were written to."""
    recipients = sorted(
        {
            email
            for email in Membership.objects.filter(
                store_id=endpoint.store_id, role__in=[Membership.Role.OWNER, Membership.Role.MANAGER]
            ).values_list("user__email", flat=True)
            if email
        }
    )
    if not recipients:
        return 0
    page = settings.COMEBACK_PUBLIC_URL + reverse("webhooks:detail", args=[endpoint.pk])
    reason = WebhookEndpoint.DisabledReason(endpoint.disabled_reason).label
    try:
        send_mail(
            subject=f"Webhook endpoint disabled: {endpoint.url}",
            message=(
                f"Comeback stopped sending webhooks to {endpoint.url}.\n\nWhy: {reason}.\n\n"
                f"Pending deliveries were cancelled. Once the receiver works again, switch the endpoint back on "
                f"and use “Redeliver failed” on its page:\n{page}\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except OSError:
        # The page shows the notice regardless; a mail server outage must not fail the worker.
        logger.warning("Could not email the notice for endpoint %s", endpoint.pk, exc_info=True)
        return 0
    return len(recipients)
