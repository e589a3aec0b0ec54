"""Discount codes made through a storefront platform's own API (Wix coupons, Shopify discount
codes), for automations whose offer says "a new code per buyer".

A platform module registers a `DiscountCodeMaker` with `discount_codes_register(platform, maker)`;
none does yet. Asking for a platform without one raises `DiscountCodesUnsupported`, whose message
the automation's form shows, so a merchant learns it when choosing, not when a send is skipped.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..models import Connection


class DiscountCodesUnsupported(LookupError):
    """The platform cannot make discount codes through Comeback (yet)."""


class DiscountCodesFailed(Exception):
    """The platform's API refused or failed: no codes were made."""


@dataclass(frozen=True)
class DiscountCodeRequest:
    """What to make: `count` new single-use codes worth `percent_off`, one per abandoned checkout
    (their ids, so a platform can name or limit a code per buyer)."""

    connection: "Connection"
    count: int
    percent_off: Decimal
    abandoned_checkout_ids: tuple[str, ...] = ()


class DiscountCodeMaker(Protocol):
    def __call__(self, request: DiscountCodeRequest) -> list[str]:
        """Make the codes on the platform and return them, `request.count` of them, in order.
        Called once per dispatcher batch (never per code); raise DiscountCodesFailed on failure."""


_makers: dict[str, DiscountCodeMaker] = {}


def discount_codes_register(platform: str, maker: DiscountCodeMaker) -> DiscountCodeMaker:
    _makers[platform] = maker
    return maker


def discount_codes_unregister(platform: str) -> None:
    _makers.pop(platform, None)


def discount_code_maker(platform: str, *, label: str = "") -> DiscountCodeMaker:
    try:
        return _makers[platform]
    except KeyError:
        raise DiscountCodesUnsupported(
            f"{label or platform} cannot make discount codes through Comeback yet: "
            "offer one code for everyone or upload a list of single-use codes instead."
        ) from None


def platforms_with_discount_codes() -> frozenset[str]:
    return frozenset(_makers)
