"""A DRF serializer's rules, compiled once into plain checks: a fast path for valid input.

DRF spends most of an event's CPU on its own machinery (a `run_validation` per field, the
validators' calls, the error collection), not on the rules. `compiled(serializer)` reads the
rules from the serializer's own bound fields (limits, nulls, blanks, defaults, hooks, the
declared key order) and returns a function that walks the data with plain type checks and
builds the same validated data. It vouches only for values whose validated form it is sure
of (a string, an amount written in plain digits, an int in range, ...); at anything else it
raises `Unsure`, and the caller runs the serializer itself. So what the fast path accepts,
DRF accepts with the same data, and every error message is still DRF's.
"""

import decimal
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core import validators as django_validators
from rest_framework import ISO_8601, fields, serializers
from rest_framework.fields import SkipField, empty
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

Check = Callable[[Any], Any]


class Unsure(Exception):
    """The fast path cannot vouch for this value: ask the serializer."""


# A NUL or a lone surrogate: what CharField's last two validators refuse.
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_CHAR_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.MinLengthValidator,
    django_validators.ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)
# Validators a field of this exact class may carry and still be compiled; the ones past the
# CharField's own are run as they are (they are the field's own instances).
_CHAR_TYPES = {
    fields.CharField: (),
    fields.EmailField: (django_validators.EmailValidator,),
    fields.URLField: (django_validators.URLValidator,),
}
# URLs URLValidator surely accepts: http(s), a host of plain labels and a letters-only TLD,
# printable ASCII after it. Any other URL is put to the validator itself.
_PLAIN_URL = re.compile(
    r"https?://((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?:[/?#][!-~]*)?", re.ASCII | re.IGNORECASE
)
# Addresses EmailValidator surely accepts: a dot-atom of plain characters, one @, a host of
# plain labels and a letters-only TLD (a subset of its own patterns, which cost ~20 us a call).
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII | re.IGNORECASE
)


def email_surely_valid(value: str) -> bool:
    """True for an address EmailValidator certainly accepts (False: put it to the validator itself)."""
    return len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value) is not None


_RANGE_VALIDATORS = (django_validators.MaxValueValidator, django_validators.MinValueValidator)


def compiled(serializer: serializers.BaseSerializer, *, validate: Check | None = None) -> Check:
    """A check for data this (bound) serializer validates; `validate` replaces its `validate()`."""
    if isinstance(serializer, serializers.ListSerializer):
        return _list(serializer)
    if serializer.validators or type(serializer).to_internal_value is not serializers.Serializer.to_internal_value:
        return _generic(serializer)
    hook = validate
    if hook is None and type(serializer).validate is not serializers.Serializer.validate:
        hook = serializer.validate
    fields_ = [(name, field) for name, field in serializer.fields.items() if not field.read_only]
    if any(field.source != name for name, field in fields_):
        return _generic(serializer)
    # Per field: its name, its check (with its validate_<name> hook folded in), and what a
    # missing value gives: nothing (None), the field's default, or Unsure when it is required.
    entries = [
        (name, _with_hook(getattr(serializer, f"validate_{name}", None), _field(field)), _when_missing(field))
        for name, field in fields_
    ]
    allow_null = serializer.allow_null

    def check(data: Any) -> Any:
        if type(data) is not dict:
            if data is None and allow_null:
                return None
            raise Unsure
        out = {}
        get = data.get
        for name, field_check, missing in entries:
            value = get(name, empty)
            if value is not empty:
                out[name] = field_check(value)
            elif missing is not None:
                out[name] = missing()
        return out if hook is None else _hooked(hook, out)

    return check


def _with_hook(hook: Check | None, field_check: Check) -> Check:
    if hook is None:
        return field_check
    return lambda value: _hooked(hook, field_check(value))


def _when_missing(field: fields.Field) -> Callable[[], Any] | None:
    if field.required:
        return _missing_required
    return field.get_default if field.default is not empty else None


def _missing_required() -> Any:
    raise Unsure


def _hooked(hook: Check, value: Any) -> Any:
    try:
        return hook(value)
    except serializers.ValidationError as exc:
        raise Unsure from exc


def _list(serializer: serializers.ListSerializer) -> Check:
    if type(serializer).validate is not serializers.ListSerializer.validate or serializer.validators:
        return _generic(serializer)
    child = compiled(serializer.child)
    allow_null, allow_empty = serializer.allow_null, serializer.allow_empty
    longest, shortest = serializer.max_length, serializer.min_length

    def check(data: Any) -> Any:
        if type(data) is not list:
            if data is None and allow_null:
                return None
            raise Unsure
        if (not data and not allow_empty) or (longest is not None and len(data) > longest):
            raise Unsure
        if shortest is not None and len(data) < shortest:
            raise Unsure
        return [child(item) for item in data]

    return check


def _field(field: fields.Field) -> Check:
    if isinstance(field, serializers.BaseSerializer):
        return compiled(field)
    kind = type(field)
    if kind in _CHAR_TYPES and _only(field, _CHAR_VALIDATORS + _CHAR_TYPES[kind]):
        return _char(field, extra=[v for v in field.validators if isinstance(v, _CHAR_TYPES[kind])])
    if kind is fields.IntegerField and _only(field, _RANGE_VALIDATORS):
        return _integer(field)
    if kind is fields.BooleanField and not field.validators:
        return _boolean(field)
    if kind is fields.ChoiceField and not field.validators:
        return _choice(field)
    if kind is fields.DateTimeField and not field.validators:
        return _datetime(field)
    if kind is fields.DictField and type(field.child) is fields._UnvalidatedField and not field.validators:
        return _dict(field)
    special = getattr(field, "compiled_check", None)
    return special() if special is not None else _generic(field)


def _only(field: fields.Field, allowed: tuple) -> bool:
    return all(isinstance(validator, allowed) for validator in field.validators)


def _generic(field: fields.Field) -> Check:
    """The field's own validation: exact, at DRF's speed."""

    def check(value: Any) -> Any:
        try:
            return field.run_validation(value)
        except (serializers.ValidationError, SkipField) as exc:
            raise Unsure from exc

    return check


def _nullable(field: fields.Field, check: Check) -> Check:
    allow_null = field.allow_null

    def nullable(value: Any) -> Any:
        if value is None:
            if allow_null:
                return None
            raise Unsure
        return check(value)

    return nullable


def _char(field: fields.CharField, *, extra: list) -> Check:
    longest = field.max_length if field.max_length is not None else float("inf")
    shortest = field.min_length or 0
    allow_blank, allow_null, trim = field.allow_blank, field.allow_null, field.trim_whitespace
    plain_urls = [v for v in extra if type(v) is django_validators.URLValidator and {"http", "https"} <= set(v.schemes)]
    plain_emails = [v for v in extra if type(v) is django_validators.EmailValidator]

    def check(value: Any) -> Any:
        if type(value) is not str:
            if value is None and allow_null:
                return None
            raise Unsure
        if trim:
            value = value.strip()
        if not value:
            if allow_blank:
                return ""
            raise Unsure
        if not shortest <= len(value) <= longest:
            raise Unsure
        # ASCII holds no surrogate: then only a NUL is left to look for (in C, not a regex call).
        if "\x00" in value if value.isascii() else _BAD_CHARS.search(value):
            raise Unsure
        if not extra:
            return value
        for validator in extra:
            if validator in plain_urls and (plain := _PLAIN_URL.fullmatch(value)) and len(plain[1]) <= 253:
                continue
            if validator in plain_emails and len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value):
                continue
            try:
                validator(value)
            except django_validators.ValidationError as exc:
                raise Unsure from exc
        return value

    return check


def _integer(field: fields.IntegerField) -> Check:
    lowest = field.min_value if field.min_value is not None else float("-inf")
    highest = field.max_value if field.max_value is not None else float("inf")

    allow_null = field.allow_null

    def check(value: Any) -> Any:
        if type(value) is not int or not lowest <= value <= highest:
            if value is None and allow_null:
                return None
            raise Unsure
        return value

    return check


def _boolean(field: fields.BooleanField) -> Check:
    allow_null = field.allow_null

    def check(value: Any) -> Any:
        if type(value) is not bool:
            if value is None and allow_null:
                return None
            raise Unsure
        return value

    return check


def _choice(field: fields.ChoiceField) -> Check:
    choices = {key: value for key, value in field.choice_strings_to_values.items() if key != ""}

    allow_null = field.allow_null

    def check(value: Any) -> Any:
        if type(value) is not str or value not in choices:
            if value is None and allow_null:
                return None
            raise Unsure
        return choices[value]

    return check


# ISO 8601 as storefronts write it, which Django's parse_datetime reads with fromisoformat.
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)


def _datetime(field: fields.DateTimeField) -> Check:
    if getattr(field, "input_formats", api_settings.DATETIME_INPUT_FORMATS) != [ISO_8601]:
        return _generic(field)

    def check(value: Any) -> Any:
        if type(value) is not str or not _ISO_DATETIME.fullmatch(value):
            raise Unsure
        try:
            return field.enforce_timezone(datetime.fromisoformat(value))
        except (ValueError, serializers.ValidationError) as exc:
            raise Unsure from exc

    return _nullable(field, check)


def _dict(field: fields.DictField) -> Check:
    allow_empty = field.allow_empty

    def check(value: Any) -> Any:
        if type(value) is not dict or (not value and not allow_empty):
            raise Unsure
        return {str(key): item for key, item in value.items()}

    return _nullable(field, check)


def plain_decimal(field: fields.DecimalField, *, whole_digits: int) -> Check:
    """A check for a DecimalField written as plain digits (or a JSON number) that fits it.

    `whole_digits`: how many digits before the point the caller knows are within the field's
    max_digits, decimal places and min/max values; anything longer is left to DRF.
    """
    places = field.decimal_places
    shape = re.compile(rf"[0-9]{{1,{whole_digits}}}(?:\.[0-9]{{1,{places}}})?", re.ASCII)
    # DecimalField.quantize, with its exponent and context made once rather than per value.
    exponent = Decimal(1).scaleb(-places)
    context = decimal.getcontext().copy()
    if field.max_digits is not None:
        context.prec = field.max_digits
    rounding = field.rounding

    def check(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            value = str(value)
        elif kind is float:
            value = repr(value)
        elif kind is not str:
            raise Unsure
        if not shape.fullmatch(value):
            raise Unsure
        return Decimal(value).quantize(exponent, rounding=rounding, context=context)

    return _nullable(field, check)
