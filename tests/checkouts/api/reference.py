"""An independent evaluation of Wix's query language over the JSON the API returns.

It knows nothing of the database: it reads the Wix-shaped items (a missing key is an
unset field), applies the operators as the reference describes them, and sorts in
Python. The API's answers must equal these for the same rows.
"""

from datetime import UTC, datetime
from typing import Any

DATES = ("createdDate", "updatedDate")
ALIASES = {"$any": "$hasSome", "$begins": "$startsWith"}
SEARCHABLE = ("buyerInfo.email", "contactDetails.firstName", "contactDetails.lastName")


def instant(text: str) -> datetime:
    if "T" not in text:
        text += "T00:00:00"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def value_of(item: dict, field: str) -> Any:
    if field == "activities.type":
        return [activity["type"] for activity in item["activities"]]
    if field == "appliedDiscounts.coupon.code":
        return [discount["coupon"]["code"] for discount in item["appliedDiscounts"] if "coupon" in discount]
    current: Any = item
    for part in field.split("."):
        current = current.get(part) if isinstance(current, dict) else None
    if current is not None and field in DATES:
        return instant(current)  # what the API shows: millisecond precision
    return current


def _normal(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in DATES:
        return instant(value)
    if field == "id":
        return value.lower()
    return value


def _equal(field: str, actual: Any, expected: Any) -> bool:
    if expected is None:
        return actual is None
    return actual is not None and actual == _normal(field, expected)


def field_matches(item: dict, field: str, condition: Any) -> bool:
    actual = value_of(item, field)
    if not isinstance(condition, dict):
        condition = {"$eq": condition}
    for raw_op, argument in condition.items():
        op = ALIASES.get(raw_op, raw_op)
        if op == "$eq":
            ok = _equal(field, actual, argument)
        elif op == "$ne":
            ok = not _equal(field, actual, argument)
        elif op in ("$in", "$hasSome") and isinstance(actual, list):
            ok = any(value in actual for value in argument)
        elif op == "$hasAll":
            ok = all(value in actual for value in argument)
        elif op in ("$in", "$hasSome"):
            ok = any(_equal(field, actual, value) for value in argument)
        elif op == "$nin":
            ok = not any(_equal(field, actual, value) for value in argument)
        elif op == "$exists":
            ok = (actual is not None) == argument
        elif op == "$startsWith":
            ok = actual is not None and actual.lower().startswith(argument.lower())
        else:
            bound = _normal(field, argument)
            ok = (
                actual is not None
                and {
                    "$gt": actual > bound,
                    "$gte": actual >= bound,
                    "$lt": actual < bound,
                    "$lte": actual <= bound,
                }[op]
            )
        if not ok:
            return False
    return True


def matches(item: dict, filter_json: dict | None) -> bool:
    for key, value in (filter_json or {}).items():
        if key == "$and":
            ok = all(matches(item, part) for part in value)
        elif key == "$or":
            ok = any(matches(item, part) for part in value)
        elif key == "$not":
            ok = not matches(item, value)
        else:
            ok = field_matches(item, key, value)
        if not ok:
            return False
    return True


def text_matches(item: dict, expression: str, mode: str = "OR", fields: tuple = SEARCHABLE) -> bool:
    def term_matches(term: str) -> bool:
        values = [value_of(item, field) for field in fields]
        return any(value and value.lower().startswith(term.lower()) for value in values)

    results = [term_matches(term) for term in expression.split()]
    return all(results) if mode == "AND" else any(results)


def ordered(items: list[dict], sort: list[dict] | None) -> list[dict]:
    """Sorted like the API: the given keys (default createdDate DESC), then id in the last key's direction."""
    keys = [(entry["fieldName"], entry.get("order", "ASC") == "DESC") for entry in sort or []]
    keys = keys or [("createdDate", True)]
    if keys[-1][0] != "id":
        keys = [key for key in keys if key[0] != "id"] + [("id", keys[-1][1])]
    result = list(items)
    for field, descending in reversed(keys):
        # An unset string sorts as '' (first in ascending order), as the database stores it.
        result.sort(key=lambda item, f=field: v if (v := value_of(item, f)) is not None else "", reverse=descending)
    return result
