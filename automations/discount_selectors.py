"""Reads about an automation's discount codes: its offer, the pool's stock, what codes earned."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from checkouts.models import AbandonedCheckout

from .models import Automation, AutomationStep, DiscountCode, DiscountGrant, DiscountOffer
from .services.discounts import PREVIEW_CODE, low_stock, step_carries_code


@dataclass(frozen=True)
class DiscountSummary:
    offer: DiscountOffer
    pool_total: int = 0
    pool_free: int = 0
    handed_out: int = 0
    used: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def is_pool(self) -> bool:
        return self.offer.source == DiscountOffer.Source.POOL

    @property
    def low(self) -> bool:
        """The automation page warns: few codes left, or none (sends that offer one are skipped)."""
        return self.is_pool and low_stock(total=self.pool_total, free=self.pool_free)

    @property
    def empty(self) -> bool:
        return self.is_pool and self.pool_free == 0


def discount_offer_for(*, automation: Automation) -> DiscountOffer:
    """The automation's offer, or an unsaved "no code" one."""
    try:
        return automation.discount_offer
    except DiscountOffer.DoesNotExist:
        return DiscountOffer(automation=automation)


def discount_summary(*, automation: Automation) -> DiscountSummary:
    """Two queries: the pool's stock, and the codes handed out, used and what their orders made."""
    offer = discount_offer_for(automation=automation)
    pool = DiscountCode.objects.filter(automation=automation).aggregate(
        total=Count("id"), free=Count("id", filter=Q(claimed_at__isnull=True))
    )
    grants = DiscountGrant.objects.filter(automation=automation).aggregate(
        handed_out=Count("id"),
        used=Count("id", filter=Q(redeemed_at__isnull=False)),
        revenue=Sum("redeemed_total", filter=Q(redeemed_at__isnull=False)),
    )
    return DiscountSummary(
        offer=offer,
        pool_total=pool["total"],
        pool_free=pool["free"],
        handed_out=grants["handed_out"],
        used=grants["used"],
        revenue=grants["revenue"] or Decimal(0),
    )


def recent_grants(*, automation: Automation, limit: int = 20):
    return (
        DiscountGrant.objects.filter(automation=automation)
        .select_related("abandoned_checkout")
        .order_by("-granted_at", "-id")[:limit]
    )


def discount_code_preview(*, step: AutomationStep, abandoned_checkout: AbandonedCheckout) -> str:
    """The code a preview of `step` shows for this checkout, without handing one out: the one it
    was given, the static code, the pool's next free code, or a placeholder for platform codes.
    "" when the step carries no code."""
    offer = discount_offer_for(automation=step.automation)
    if not step_carries_code(step, offer):
        return ""
    if not abandoned_checkout._state.adding:
        given = (
            DiscountGrant.objects.filter(automation_id=step.automation_id, abandoned_checkout=abandoned_checkout)
            .values_list("code", flat=True)
            .first()
        )
        if given:
            return given
    if offer.source == DiscountOffer.Source.STATIC:
        return offer.static_code
    if offer.source == DiscountOffer.Source.POOL:
        return (
            DiscountCode.objects.free().filter(automation_id=step.automation_id).values_list("code", flat=True).first()
            or ""
        )
    return PREVIEW_CODE
