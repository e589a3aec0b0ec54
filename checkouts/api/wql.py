"""Wix API Query Language (reference §3.3) → Django `Q`, for Query and Search.

A `Spec` lists the fields a method may filter and sort on, with their operators. The
translator walks the filter JSON (equality shorthand, `{"$op": value}`, `$and`, `$or`,
`$not`, implicit AND), collects every problem as a Wix field violation naming the path in
the request, and otherwise returns one `Q` that the store-scoped queryset applies.

Semantics, chosen to match what the API shows:
- An unset optional string (buyer ids, email, names) is `''` in the database: `$eq: null`
  and `$exists: false` match it, and comparisons and `$startsWith` never do.
- Dates compare at the millisecond precision the API prints, so a `createdDate` copied
  from a response finds that very row with `$eq` or `$lte`.
- `$startsWith` is case-insensitive; on email it uses the lower-cased `email_key`, which
  the `(store, email_key varchar_pattern_ops)` index serves.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_date, parse_datetime

from ..models import AbandonedCheckout, Activity
from ..pagination import SortKey, with_tiebreaker
from .errors import RULE_FORMAT, RULE_MAX_SIZE, RULE_MIN_SIZE, RULE_NOT_ALLOWED, WixValidationError, violation
from .expressions import CouponCodeIn, ValueIn

# Kinds of field, which decide how values parse and what "unset" means.
ID, DATETIME, ENUM, TEXT, ACTIVITY_TYPES, COUPON_CODES = "id", "datetime", "enum", "text", "activities", "coupons"

ALIASES = {"$any": "$hasSome", "$begins": "$startsWith"}
COMPARISONS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
ALL_SCALAR = frozenset({"$eq", "$ne", "$in", "$nin", "$hasSome", "$exists", "$startsWith", *COMPARISONS})
MILLISECOND = timedelta(milliseconds=1)
NOTHING = Q(pk__in=[])
# Values in one $in / $hasSome list, and nesting of $and / $or / $not: bounded so a filter
# stays a reasonable SQL statement.
MAX_VALUES = 1000
MAX_DEPTH = 16
# Stored dates are nowhere near these; clamping keeps far-off (valid) dates valid and harmless.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Field:
    name: str  # as the API spells it
    column: str  # the model field
    kind: str
    operators: frozenset[str]
    sortable: bool = False


@dataclass(frozen=True)
class Spec:
    fields: dict[str, Field]
    max_sort: int = 9

    @classmethod
    def of(cls, *fields: Field, max_sort: int = 9) -> "Spec":
        return cls({f.name: f for f in fields}, max_sort)

    @property
    def sortable(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.sortable]


_BUYER = {
    "buyerInfo.contactId": "contact_id",
    "buyerInfo.email": "buyer_email",
    "buyerInfo.visitorId": "visitor_id",
    "buyerInfo.memberId": "member_id",
    "buyerInfo.userId": "user_id",
}
_NO_PREFIX = ALL_SCALAR - {"$startsWith"}
_DATES = (("createdDate", "created_at"), ("updatedDate", "updated_at"))

# Query (reference §3.2): nine fields, every one sortable.
QUERY_SPEC = Spec.of(
    Field("id", "id", ID, ALL_SCALAR, sortable=True),
    *(Field(name, column, DATETIME, _NO_PREFIX, sortable=True) for name, column in _DATES),
    Field("status", "status", ENUM, frozenset({"$eq", "$ne", "$in", "$nin", "$hasSome", "$exists"}), sortable=True),
    *(Field(name, column, TEXT, ALL_SCALAR, sortable=True) for name, column in _BUYER.items()),
)

# Search (reference §3.4, the SDK's SearchSpec): sort only by the dates, at most 4 entries.
_EQUALITY = frozenset({"$eq", "$in", "$ne", "$nin"})
SEARCH_SPEC = Spec.of(
    Field("activities.type", "activities", ACTIVITY_TYPES, frozenset({"$hasSome", "$hasAll"})),
    Field("appliedDiscounts.coupon.code", "applied_discounts", COUPON_CODES, frozenset({"$hasSome", "$hasAll"})),
    Field("contactDetails.firstName", "first_name", TEXT, ALL_SCALAR),
    Field("contactDetails.lastName", "last_name", TEXT, ALL_SCALAR),
    *(Field(name, column, DATETIME, _NO_PREFIX, sortable=True) for name, column in _DATES),
    Field("id", "id", ID, _EQUALITY),
    *(Field(name, column, TEXT, _EQUALITY) for name, column in _BUYER.items()),
    Field("status", "status", ENUM, _EQUALITY),
    max_sort=4,
)

DEFAULT_SORT = [("createdDate", True)]
# Wix's GUID format: the canonical hyphenated form only (UUID() would also take braces, urn:…).
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_guid(value: Any) -> UUID | None:
    return UUID(value) if isinstance(value, str) and GUID.fullmatch(value) else None


class _Invalid(Exception):
    """One bad value; the translator records it and carries on."""


def _is_date_literal(value: Any) -> bool:
    """`{"$date": "2024-01-01T00:00:00.000Z"}`: how Wix's SDK and docs write a date inside a filter."""
    return isinstance(value, dict) and list(value) == ["$date"]


def parse_instant(value: Any) -> datetime:
    """An ISO-8601 date-time (a bare date means midnight UTC), bare or as `{"$date": …}`; naive values are UTC."""
    if _is_date_literal(value):
        value = value["$date"]
    if not isinstance(value, str):
        raise _Invalid("Expected an ISO-8601 date-time string.")
    text = value.strip().upper().replace("Z", "+00:00")
    try:
        parsed = parse_datetime(text) or (
            datetime.combine(day, time.min) if (day := parse_date(text)) is not None else None
        )
    except ValueError:
        parsed = None
    if parsed is None:
        raise _Invalid(f"{value!r} is not an ISO-8601 date-time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return min(max(parsed.astimezone(UTC), EARLIEST), LATEST)
    except OverflowError:  # year 1 or 9999 shifted past the calendar by its offset
        return EARLIEST if parsed.year < 5000 else LATEST


def _floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def _ceil_ms(moment: datetime) -> datetime:
    floor = _floor_ms(moment)
    return floor if floor == moment else floor + MILLISECOND


@dataclass
class Translator:
    spec: Spec
    violations: list[dict] = field(default_factory=list)

    def translate(self, node: Any, path: str, depth: int = 0) -> Q:
        if node is None:
            return Q()
        if depth > MAX_DEPTH:
            self.violations.append(violation(path, f"Filters nest at most {MAX_DEPTH} levels.", RULE_MAX_SIZE))
            return Q()
        if not isinstance(node, dict):
            self.violations.append(violation(path, "A filter must be a JSON object.", RULE_FORMAT, "INVALID_FILTER"))
            return Q()
        condition = Q()
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in ("$and", "$or"):
                condition &= self._combine(key, value, here, depth)
            elif key == "$not":
                condition &= self._negate(value, here, depth)
            elif key.startswith("$"):
                self.violations.append(
                    violation(here, f"Unsupported operator {key}.", RULE_NOT_ALLOWED, "UNSUPPORTED_OPERATOR")
                )
            elif key not in self.spec.fields:
                self.violations.append(
                    violation(
                        here,
                        f"Filtering on '{key}' is not supported; supported fields: {', '.join(self.spec.fields)}.",
                        RULE_NOT_ALLOWED,
                        "UNSUPPORTED_FIELD",
                        fieldName=key,
                    )
                )
            else:
                condition &= self._field(self.spec.fields[key], value, here)
        return condition

    def _combine(self, key: str, value: Any, path: str, depth: int) -> Q:
        if not isinstance(value, list) or not value:
            self.violations.append(violation(path, f"{key} takes a non-empty array of filters.", RULE_MIN_SIZE))
            return Q()
        parts = [self.translate(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if key == "$and" else combined | part
        return combined

    def _negate(self, value: Any, path: str, depth: int) -> Q:
        if not isinstance(value, dict) or not value:
            self.violations.append(violation(path, "$not takes a non-empty filter object.", RULE_FORMAT))
            return Q()
        return ~self.translate(value, path, depth + 1)

    def _field(self, spec: Field, value: Any, path: str) -> Q:
        if not isinstance(value, dict) or _is_date_literal(value):
            if "$eq" in spec.operators:
                return self._operator(spec, "$eq", value, path)
            self.violations.append(
                violation(
                    path,
                    f"'{spec.name}' takes an operator: {', '.join(sorted(spec.operators))}.",
                    RULE_NOT_ALLOWED,
                    "UNSUPPORTED_OPERATOR",
                    fieldName=spec.name,
                )
            )
            return Q()
        if not value:
            self.violations.append(violation(path, "An operator object needs at least one operator.", RULE_MIN_SIZE))
            return Q()
        condition = Q()
        for raw_op, argument in value.items():
            op = ALIASES.get(raw_op, raw_op)
            here = f"{path}.{raw_op}"
            if op not in spec.operators:
                self.violations.append(
                    violation(
                        here,
                        f"Operator {raw_op} is not supported on '{spec.name}'; "
                        f"supported: {', '.join(sorted(spec.operators))}.",
                        RULE_NOT_ALLOWED,
                        "UNSUPPORTED_OPERATOR",
                        fieldName=spec.name,
                    )
                )
                continue
            condition &= self._operator(spec, op, argument, here)
        return condition

    def _operator(self, spec: Field, op: str, argument: Any, path: str) -> Q:
        try:
            if spec.kind in (ACTIVITY_TYPES, COUPON_CODES):
                return self._array(spec, op, argument)
            return self._scalar(spec, op, argument)
        except _Invalid as exc:
            self.violations.append(violation(path, str(exc), RULE_FORMAT, "INVALID_VALUE", fieldName=spec.name))
            return Q()

    def _scalar(self, spec: Field, op: str, argument: Any) -> Q:
        if op == "$eq":
            return self._unset(spec) if argument is None else self._equals(spec, argument)
        if op == "$ne":
            return ~self._unset(spec) if argument is None else ~self._equals(spec, argument)
        if op in ("$in", "$hasSome", "$nin"):
            if not isinstance(argument, list) or len(argument) > MAX_VALUES:
                raise _Invalid(f"{op} takes an array of at most {MAX_VALUES} values.")
            matches = self._equals_any(spec, [item for item in argument if item is not None])
            if None in argument:
                matches |= self._unset(spec)
            return ~matches if op == "$nin" else matches
        if op == "$exists":
            if not isinstance(argument, bool):
                raise _Invalid("$exists takes true or false.")
            return ~self._unset(spec) if argument else self._unset(spec)
        if op == "$startsWith":
            return self._prefix(spec, argument)
        return self._compare(spec, COMPARISONS[op], argument)

    def _unset(self, spec: Field) -> Q:
        # Only optional strings can be unset; id, dates and status always are.
        return Q(**{spec.column: ""}) if spec.kind == TEXT else NOTHING

    def _value(self, spec: Field, value: Any) -> Any:
        if spec.kind == DATETIME:
            return parse_instant(value)
        if not isinstance(value, str):
            raise _Invalid(f"Expected a string for '{spec.name}'.")
        if spec.kind == ID:
            if (guid := parse_guid(value)) is None:
                raise _Invalid(f"{value!r} is not a GUID.")
            return guid
        if spec.kind == ENUM and value not in AbandonedCheckout.Status.values:
            raise _Invalid(f"{value!r} is not one of {', '.join(AbandonedCheckout.Status.values)}.")
        return value

    def _equals(self, spec: Field, raw: Any) -> Q:
        value = raw if isinstance(raw, datetime) else self._value(spec, raw)
        if spec.kind == DATETIME:
            if _floor_ms(value) != value:
                return NOTHING  # no millisecond-precision date equals a finer one
            return Q(**{f"{spec.column}__gte": value, f"{spec.column}__lt": value + MILLISECOND})
        if spec.column == "buyer_email":
            # email_key leads the store's email index; buyer_email keeps the match exact.
            return Q(email_key=value.lower(), buyer_email=value)
        return Q(**{spec.column: value})

    def _equals_any(self, spec: Field, raws: list[Any]) -> Q:
        """Equal to any of `raws`: one `IN` with the values as one parameter, however many there are."""
        values = list(dict.fromkeys(self._value(spec, raw) for raw in raws))
        if not values:
            return NOTHING
        if spec.kind == DATETIME:
            # Each is a millisecond range, not a value; the filter's 8,000 characters hold
            # at most ~600 dates, well inside SQLite's expression depth.
            matches = NOTHING
            for value in values:
                matches |= self._equals(spec, value)
            return matches
        if spec.column == "buyer_email":
            # As in _equals: email_key leads the store's email index, buyer_email keeps it exact.
            return Q(ValueIn("email_key", [value.lower() for value in values])) & Q(ValueIn("buyer_email", values))
        return Q(ValueIn(spec.column, values))

    def _compare(self, spec: Field, lookup: str, raw: Any) -> Q:
        value = self._value(spec, raw)
        if spec.kind == DATETIME:
            # Compare the millisecond the API shows: e.g. shown <= v  <=>  stored < floor(v) + 1 ms.
            bound, lookup = {
                "gt": (_floor_ms(value) + MILLISECOND, "gte"),
                "gte": (_ceil_ms(value), "gte"),
                "lt": (_ceil_ms(value), "lt"),
                "lte": (_floor_ms(value) + MILLISECOND, "lt"),
            }[lookup]
            return Q(**{f"{spec.column}__{lookup}": bound})
        condition = Q(**{f"{spec.column}__{lookup}": value})
        return condition & ~self._unset(spec) if spec.kind == TEXT else condition

    def _prefix(self, spec: Field, raw: Any) -> Q:
        if not isinstance(raw, str):
            raise _Invalid("$startsWith takes a string.")
        if spec.column == "buyer_email":
            return Q(email_key__startswith=raw.lower()) & ~self._unset(spec)
        return Q(**{f"{spec.column}__istartswith": raw}) & ~self._unset(spec)

    def _array(self, spec: Field, op: str, argument: Any) -> Q:
        if (
            not isinstance(argument, list)
            or len(argument) > MAX_VALUES
            or not all(isinstance(item, str) for item in argument)
        ):
            raise _Invalid(f"{op} takes an array of at most {MAX_VALUES} strings.")
        if spec.kind == ACTIVITY_TYPES and (unknown := sorted(set(argument) - set(Activity.Type.values))):
            raise _Invalid(f"Unknown activity type(s): {', '.join(unknown)}.")
        if op == "$hasSome":
            return self._has(spec, argument) if argument else NOTHING
        if spec.kind == COUPON_CODES:
            return Q(CouponCodeIn(spec.column, argument, match_all=True)) if argument else Q()
        # Six activity types at most: one EXISTS each.
        condition = Q()
        for item in dict.fromkeys(argument):
            condition &= self._has(spec, [item])
        return condition

    @staticmethod
    def _has(spec: Field, values: list[str]) -> Q:
        """Rows whose array holds any of `values`: an EXISTS on the activity index, or the JSON."""
        if spec.kind == ACTIVITY_TYPES:
            return Q(Exists(Activity.objects.filter(abandoned_checkout=OuterRef("pk"), type__in=values)))
        return Q(CouponCodeIn(spec.column, values))


def translate_filter(filter_json: Any, spec: Spec, path: str) -> Q:
    """The filter as a Q, or WixValidationError listing every problem in it."""
    translator = Translator(spec)
    condition = translator.translate(filter_json, path)
    if translator.violations:
        raise WixValidationError(translator.violations)
    return condition


def parse_sort(sort_json: Any, spec: Spec, path: str) -> list[tuple[str, bool]]:
    """`[{fieldName, order}]` → [(field name, descending)]; empty means createdDate DESC."""
    if sort_json is None or sort_json == []:
        return list(DEFAULT_SORT)
    if not isinstance(sort_json, list):
        raise WixValidationError([violation(path, "sort takes an array of {fieldName, order}.", RULE_FORMAT)])
    violations, parsed, seen = [], [], set()
    if len(sort_json) > spec.max_sort:
        violations.append(violation(path, f"At most {spec.max_sort} sort entries.", RULE_MAX_SIZE))
    for index, item in enumerate(sort_json):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            violations.append(violation(here, "Expected {fieldName, order}.", RULE_FORMAT))
            continue
        name, order = item.get("fieldName"), item.get("order", "ASC")
        order = "ASC" if order is None else order
        if name not in spec.sortable:
            violations.append(
                violation(
                    f"{here}.fieldName",
                    f"Sorting by {name!r} is not supported; sortable fields: {', '.join(spec.sortable)}.",
                    RULE_NOT_ALLOWED,
                    "UNSUPPORTED_SORT",
                )
            )
        elif name in seen:
            violations.append(violation(f"{here}.fieldName", f"{name} appears twice.", RULE_NOT_ALLOWED))
        elif order not in ("ASC", "DESC"):
            violations.append(violation(f"{here}.order", "order is ASC or DESC.", RULE_FORMAT))
        else:
            seen.add(name)
            parsed.append((name, order == "DESC"))
    if violations:
        raise WixValidationError(violations)
    return parsed


def sort_keys(sort: list[tuple[str, bool]], spec: Spec) -> list[SortKey]:
    """Model sort keys, ending in the id so every position is unique."""
    return with_tiebreaker([SortKey(spec.fields[name].column, descending) for name, descending in sort])


__all__ = ["QUERY_SPEC", "SEARCH_SPEC", "Spec", "parse_sort", "sort_keys", "translate_filter"]
