"""Handing out an automation's discount codes, and crediting the orders that use them.

The dispatcher asks once per batch (`discount_codes_for_batch`), at a number of queries that
does not grow with the batch: one for the offers, one for codes already given, and for each
pool the batch draws from (one per automation in the batch, usually one) a locked read and a
conditional UPDATE. Each send then takes its code from memory, and `DiscountCodes.save` writes
the grants in one INSERT and hands unused pool codes back in one UPDATE. It all runs in the
batch's transaction: a batch that rolls back has given nothing. A hand-sent email goes
through the same path for its one message (`discount_codes_for_step`).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any
from uuid import UUID

from django.db.models import Count, Q
from django.urls import reverse

from checkouts.connectors.discounts import (
    DiscountCodeRequest,
    DiscountCodesFailed,
    DiscountCodesUnsupported,
    discount_code_maker,
)
from checkouts.models import AbandonedCheckout, Checkout, Membership

from ..models import AutomationStep, DiscountCode, DiscountGrant, DiscountOffer, Notification, ScheduledStep

logger = logging.getLogger(__name__)

Source = DiscountOffer.Source

# The pool runs low below either bound: a tenth of what was uploaded, or this many codes.
LOW_SHARE = Decimal("0.10")
LOW_COUNT = 20
PREVIEW_CODE = "PREVIEW-CODE"


def mentions_code(step: AutomationStep) -> bool:
    """Whether the step's own words (any language) use {{ discount_code }}; prefetch translations."""
    words = [step.subject, step.body, step.message]
    words += [w for t in step.translations.all() for w in (t.subject, t.body)]
    return any("discount_code" in w for w in words)


def step_carries_code(step: AutomationStep, offer: DiscountOffer | None) -> bool:
    """Emails from the offer's step on show the code; any buyer message that names it carries it."""
    if offer is None or not offer.offers_codes:
        return False
    if step.action == AutomationStep.Action.EMAIL_BUYER:
        return step.position >= offer.from_position or mentions_code(step)
    return step.action == AutomationStep.Action.NOTIFY_BUYER and mentions_code(step)


def low_stock(*, total: int, free: int) -> bool:
    return free < LOW_COUNT or free < total * LOW_SHARE


class NoCodeLeft(Exception):
    """The message offers a code and there is none to give: its detail goes on the activity."""

    def __init__(self, detail: dict[str, Any]):
        super().__init__(detail)
        self.detail = detail


@dataclass
class _Given:
    code: str
    source: str
    pool_code_id: int | None = None
    granted: bool = False  # already a DiscountGrant row (an earlier step's)
    scheduled_step_id: int | None = None
    idempotency_key: str = ""
    sent: bool = False
    store_id: int | None = None


@dataclass
class DiscountCodes:
    """The codes a batch may give, keyed by (automation id, checkout id)."""

    now: datetime
    offers: dict[int, DiscountOffer] = field(default_factory=dict)
    given: dict[tuple[int, UUID], _Given] = field(default_factory=dict)
    missing: dict[tuple[int, UUID], dict[str, Any]] = field(default_factory=dict)
    pools: set[int] = field(default_factory=set)  # pool automations this batch drew from

    def code_for(self, step: AutomationStep, ac: AbandonedCheckout) -> str:
        """The step's code for this checkout, "" if the step carries none; NoCodeLeft if none is left."""
        offer = self.offers.get(step.automation_id)
        if not step_carries_code(step, offer):
            return ""
        key = (step.automation_id, ac.pk)
        if key in self.given:
            return self.given[key].code
        raise NoCodeLeft(self.missing.get(key) or {"codeSource": offer.source})

    def mark_sent(self, step: AutomationStep, ac: AbandonedCheckout, *, scheduled_step_id=None, key: str = "") -> None:
        given = self.given.get((step.automation_id, ac.pk))
        if given is not None and not given.sent:
            given.sent, given.store_id = True, ac.store_id
            given.scheduled_step_id, given.idempotency_key = scheduled_step_id, key

    def save(self) -> None:
        """Write the grants of the codes sent, hand back pool codes claimed but not sent, and
        tell the staff about pools that now run low."""
        grants, unused = [], []
        for (automation_id, checkout_id), given in self.given.items():
            if given.granted:
                continue
            if not given.sent:
                if given.pool_code_id:
                    unused.append(given.pool_code_id)
                continue
            grants.append(
                DiscountGrant(
                    store_id=given.store_id,
                    automation_id=automation_id,
                    abandoned_checkout_id=checkout_id,
                    code=given.code,
                    source=given.source,
                    pool_code_id=given.pool_code_id,
                    scheduled_step_id=given.scheduled_step_id,
                    idempotency_key=given.idempotency_key,
                    granted_at=self.now,
                )
            )
        if grants:
            DiscountGrant.objects.bulk_create(grants)
        if unused:
            DiscountCode.objects.filter(pk__in=unused).update(claimed_at=None)
        if self.pools:
            pools_low_warn(offers=[self.offers[a] for a in self.pools], now=self.now)


def _offers(automation_ids: set[int]) -> dict[int, DiscountOffer]:
    rows = DiscountOffer.objects.filter(automation_id__in=automation_ids).exclude(source=Source.NONE)
    return {o.automation_id: o for o in rows.select_related("automation", "connection")}


def _claim(automation_id: int, count: int, now: datetime) -> list[tuple[int, str]]:
    """Up to `count` free codes of a pool, claimed for this transaction.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` takes codes no concurrent batch holds (a row another
    batch claimed and committed meanwhile is re-checked and dropped), then the conditional
    UPDATE marks them. SQLite runs one writer at a time (IMMEDIATE transactions), so the
    conditional UPDATE alone decides. Either way a code is claimed by one transaction only.
    """
    rows = list(
        DiscountCode.objects.free()
        .filter(automation_id=automation_id)
        .order_by("id")
        .select_for_update(skip_locked=True)
        .values_list("id", "code")[:count]
    )
    if not rows:
        return []
    ids = [pk for pk, _ in rows]
    claimed = DiscountCode.objects.free().filter(pk__in=ids).update(claimed_at=now)
    if claimed != len(rows):
        # Not expected with the locks above; if a database ever lets it happen, keep only ours.
        mine = set(DiscountCode.objects.filter(pk__in=ids, claimed_at=now).values_list("id", flat=True))
        rows = [row for row in rows if row[0] in mine]
    return rows


def _platform_codes(offer: DiscountOffer, keys: list[tuple[int, UUID]]) -> list[str]:
    connection = offer.connection
    if connection is None:
        raise DiscountCodesUnsupported("The offer names no store connection to make codes with.")
    maker = discount_code_maker(connection.platform, label=connection.get_platform_display())
    request = DiscountCodeRequest(
        connection=connection,
        count=len(keys),
        percent_off=Decimal(offer.percent_off),
        abandoned_checkout_ids=tuple(str(checkout_id) for _, checkout_id in keys),
    )
    return [str(code)[:64] for code in maker(request)][: len(keys)]


def discount_codes_allot(
    *,
    wanted: set[tuple[int, UUID]],
    now: datetime,
    offers: dict[int, DiscountOffer] | None = None,
) -> DiscountCodes:
    """Reserve a code for each (automation id, checkout id) in `wanted` whose automation offers
    codes: the one an earlier step gave, else a new one. Pool codes are claimed here and handed
    back by `save` if their send does not happen."""
    if not wanted:
        return DiscountCodes(now=now, offers=offers or {})
    codes = DiscountCodes(now=now, offers=offers if offers is not None else _offers({a for a, _ in wanted}))
    wanted = {key for key in wanted if key[0] in codes.offers}
    if not wanted:
        return codes
    existing = DiscountGrant.objects.filter(
        automation_id__in={a for a, _ in wanted}, abandoned_checkout_id__in={c for _, c in wanted}
    ).values_list("automation_id", "abandoned_checkout_id", "code", "source", "pool_code_id")
    for automation_id, checkout_id, code, source, pool_code_id in existing:
        if (automation_id, checkout_id) in wanted:
            codes.given[automation_id, checkout_id] = _Given(code, source, pool_code_id, granted=True, sent=True)
    needed: dict[int, list[tuple[int, UUID]]] = {}
    for key in sorted(wanted - codes.given.keys(), key=lambda k: (k[0], str(k[1]))):
        needed.setdefault(key[0], []).append(key)
    for automation_id, keys in needed.items():
        offer = codes.offers[automation_id]
        if offer.source == Source.STATIC:
            for key in keys:
                codes.given[key] = _Given(offer.static_code, Source.STATIC)
            continue
        if offer.source == Source.POOL:
            codes.pools.add(automation_id)
            rows = _claim(automation_id, len(keys), now)
            for key, (pk, code) in zip(keys, rows, strict=False):
                codes.given[key] = _Given(code, Source.POOL, pool_code_id=pk)
            for key in keys[len(rows) :]:
                codes.missing[key] = {"codeSource": Source.POOL, "codesLeft": 0}
            continue
        try:
            made = _platform_codes(offer, keys)
        except (DiscountCodesUnsupported, DiscountCodesFailed) as exc:
            logger.warning("Automation %s could not make discount codes: %s", automation_id, exc)
            made = []
            error = str(exc)[:200]
        else:
            error = "The platform made fewer codes than asked."
        for key, code in zip(keys, made, strict=False):
            codes.given[key] = _Given(code, Source.PLATFORM)
        for key in keys[len(made) :]:
            codes.missing[key] = {"codeSource": Source.PLATFORM, "codeError": error}
    return codes


def discount_codes_for_batch(
    *, steps: list[ScheduledStep], checkouts: dict, configs: dict[int, AutomationStep], now: datetime
) -> DiscountCodes:
    """The dispatcher's one call per batch: codes for the due buyer messages that carry one.
    Steps sure to send nothing (recovered, held out, removed, turned off) claim none."""
    buyer = (AutomationStep.Action.EMAIL_BUYER, AutomationStep.Action.NOTIFY_BUYER)
    candidates = []
    for scheduled in steps:
        step, ac = configs.get(scheduled.step_id), checkouts.get(scheduled.abandoned_checkout_id)
        if step is None or ac is None or ac.is_recovered or scheduled.holdout or step.archived:
            continue
        if step.action in buyer and step.automation.active:
            candidates.append((step, ac))
    if not candidates:
        return DiscountCodes(now=now)
    offers = _offers({step.automation_id for step, _ in candidates})
    wanted = {
        (step.automation_id, ac.pk)
        for step, ac in candidates
        if step_carries_code(step, offers.get(step.automation_id))
    }
    return discount_codes_allot(wanted=wanted, offers=offers, now=now)


def discount_codes_for_step(
    *, step: AutomationStep | None, abandoned_checkout: AbandonedCheckout, now
) -> DiscountCodes:
    """A hand-sent email's code: the same rule and records as the dispatcher's, for one message."""
    if step is None:
        return DiscountCodes(now=now)
    offers = _offers({step.automation_id})
    key = (step.automation_id, abandoned_checkout.pk)
    wanted = {key} if step_carries_code(step, offers.get(step.automation_id)) else set()
    return discount_codes_allot(wanted=wanted, offers=offers, now=now)


def pools_low_warn(*, offers: list[DiscountOffer], now: datetime) -> list[int]:
    """Tell the store's managers once that a pool runs low (the conditional UPDATE makes it once
    among concurrent batches). Returns the automation ids warned about."""
    pending = {o.automation_id: o for o in offers if o.low_warned_at is None}
    if not pending:
        return []
    rows = (
        DiscountCode.objects.filter(automation_id__in=pending)
        .values("automation_id")
        .annotate(total=Count("id"), free=Count("id", filter=Q(claimed_at__isnull=True)))
    )
    # A pool that was never filled has no row here: it is as empty as one used up.
    counts = {automation_id: {"total": 0, "free": 0} for automation_id in pending}
    counts.update({row["automation_id"]: row for row in rows})
    warned = []
    for automation_id, row in counts.items():
        if not low_stock(total=row["total"], free=row["free"]):
            continue
        offer = pending[automation_id]
        if not DiscountOffer.objects.filter(pk=offer.pk, low_warned_at__isnull=True).update(low_warned_at=now):
            continue
        offer.low_warned_at = now
        _staff_notify(offer, free=row["free"], total=row["total"], now=now)
        warned.append(offer.automation_id)
    return warned


def _staff_notify(offer: DiscountOffer, *, free: int, total: int, now: datetime) -> None:
    automation = offer.automation
    managers = Membership.objects.filter(
        store_id=automation.store_id,
        role__in=[Membership.Role.MANAGER, Membership.Role.OWNER],
        user__is_active=True,
    ).values_list("user_id", flat=True)
    text = (
        f"“{automation.name}” has {free} of {total} discount codes left: upload more, "
        "or messages that offer a code will be skipped."
        if free
        else f"“{automation.name}” has no discount codes left: messages that offer a code are skipped."
    )
    link = reverse("automations:discount", args=[automation.pk])
    Notification.objects.bulk_create(
        [
            Notification(store_id=automation.store_id, recipient_id=user_id, text=text[:500], link=link, created_at=now)
            for user_id in managers
        ]
    )


def coupon_codes(applied_discounts: Any) -> set[str]:
    """The coupon codes an order used (the ingest's appliedDiscounts), upper-cased: platforms
    match codes without regard to case."""
    codes = set()
    for discount in applied_discounts if isinstance(applied_discounts, list) else []:
        coupon = discount.get("coupon") if isinstance(discount, dict) else None
        if isinstance(coupon, dict) and coupon.get("code"):
            codes.add(str(coupon["code"]).strip().upper())
    return codes


def discount_grants_redeem(*, abandoned_checkout: AbandonedCheckout, order_checkout: Checkout | None) -> int:
    """Attribute a recovery to the code its order used, if it is one this checkout was given.
    Runs in the recovery's transaction (the `abandoned_checkout_recovered` hook)."""
    if order_checkout is None:
        return 0
    codes = coupon_codes(order_checkout.applied_discounts)
    if not codes:
        return 0
    matches = reduce(or_, (Q(code__iexact=code) for code in codes))
    return (
        DiscountGrant.objects.filter(abandoned_checkout_id=abandoned_checkout.pk, redeemed_at__isnull=True)
        .filter(matches)
        .update(
            redeemed_at=order_checkout.completed_at or abandoned_checkout.checkout_recovered_at,
            redeemed_order_id=order_checkout.order_id,
            redeemed_total=order_checkout.total,
            redeemed_currency=order_checkout.currency,
        )
    )
