"""What every connector's mapping shares: reading a platform's JSON strictly, and naming the bad field."""

from decimal import Decimal, InvalidOperation
from typing import Any


class Malformed(ValueError):
    """A delivery Comeback cannot read: answered 400 naming `field`, and nothing of it is written."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def required(payload: dict, key: str) -> Any:
    value = payload.get(key)
    if value is None or value == "":
        raise Malformed(key, "Required.")
    return value


def required_text(payload: dict, key: str) -> str:
    value = required(payload, key)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Malformed(key, "Expected a string.")
    return str(value)


def optional_text(payload: Any, key: str) -> str:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else ""


def country_code(*addresses: Any, key: str) -> str:
    """The first address's ISO 3166-1 alpha-2 country (`key` names it on the platform), upper-cased.

    The buyer's country only narrows targeting, so an absent or odd value is left out rather than
    refused: the checkout is still worth keeping without it."""
    for address in addresses:
        code = address.get(key) if isinstance(address, dict) else None
        if isinstance(code, dict):  # Saleor: country { code country }
            code = code.get("code")
        if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha():
            return code.upper()
    return ""


def decimal_text(value: Any, field: str) -> str:
    """A price as the decimal string the ingest API takes; JSON numbers (Saleor's floats) via their text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Malformed(field, "Expected an amount.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Malformed(field, "Expected an amount.") from None
    if not amount.is_finite() or amount < 0:
        raise Malformed(field, "Expected a non-negative amount.")
    return str(amount)
