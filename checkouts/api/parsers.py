"""JSON bodies with a size limit (over it, 413 before a byte is parsed) and only values every layer can hold."""

import json
import math
import re
from typing import Any

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import RULE_FORMAT, RULE_MAX, PayloadTooLarge, WixValidationError, violation

# Deeper than any body the API takes (a WQL filter nests at most 16 levels); walking or
# re-encoding a deeper one would only risk Python's recursion limit.
MAX_DEPTH = 64
# Integers beyond 64 bits: PostgreSQL's bigint, orjson and JavaScript clients cannot hold them.
MAX_INT = 2**63 - 1
# U+0000 (PostgreSQL text cannot hold it) and lone UTF-16 surrogates ("\ud800" is valid JSON
# but no valid UTF-8: encoding the string for the database or the response would fail).
UNENCODABLE = re.compile("[\x00\ud800-\udfff]")
# What orjson would let through that the checks below refuse: a NUL escape, and a run of 19
# digits (orjson reads an integer past 64 bits as a float). A body with neither, that orjson
# parses, holds nothing `unholdable_value` refuses but depth (see `_parsed_fast`).
# Both are looked for with bytes methods (in C, a pass each): a regex alternation walked
# the body at Python's regex speed, a fifth of an ingest request's parsing.
_NUL_ESCAPE = b"\\u0000"
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))
_OPENERS = bytes.maketrans(b"{}", b"[]")


class BoundedJSONParser(BaseParser):
    """JSON parser that refuses bodies larger than the view's `max_body_bytes()` (a setting).

    Not a subclass of DRF's JSONParser on purpose: DRF reads `request.body` for those,
    which applies Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) and answers its own HTML
    400; this parser reads the stream itself, so the documented limits are the real ones.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        view = parser_context.get("view")
        limit = view.max_body_bytes() if view is not None else settings.COMEBACK_API_MAX_BODY_BYTES
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        # A body without Content-Length: read one byte past the limit to notice.
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        data = _parsed_fast(body, encoding)
        if data is not _SLOW:
            return data
        try:
            data = json.loads(body.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if problem := unholdable_value(data):
            field, description, rule = problem
            raise WixValidationError([violation(field, description, rule)])
        return data


_SLOW = object()


def _parsed_fast(body: bytes, encoding: str) -> Any:
    """The body parsed by orjson (in C, about 10x json.loads), or _SLOW when the checked path must decide.

    orjson refuses what this parser refuses (invalid UTF-8, a lone surrogate, NaN, an
    infinite number, a control character in a string) but for a NUL escape, an integer past
    64 bits and nesting over MAX_DEPTH: a byte scan looks for the first two, and the
    brackets outside strings give the depth. Anything doubtful, or refused, goes the checked
    way, which words the error as before.
    """
    if encoding.lower().replace("-", "") != "utf8" or _suspect(body):
        return _SLOW
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _SLOW
    return _SLOW if _deeper_than(body, MAX_DEPTH) else data


def _suspect(body: bytes) -> bool:
    """Whether the body may hold a NUL escape or an integer of 19 digits or more."""
    return _NUL_ESCAPE in body or _NINETEEN_DIGITS in body.translate(_DIGITS_AS_ZEROS)


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether the (valid JSON) body nests containers more than `limit` levels deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    # Escaped backslashes, then escaped quotes, taken out (pairs read left to right, as JSON
    # reads them): every quote left opens or closes a string, so with brackets and quotes
    # alone, the text between alternate quotes is inside a string. All in C, a pass each.
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(body.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    brackets = outside.translate(_OPENERS, _NOT_BRACKETS)
    for _ in range(limit):  # each pass takes off the innermost level
        brackets = brackets.replace(b"[]", b"")
        if not brackets:
            return False
    return bool(brackets)  # what `limit` passes left: nested deeper than it


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def unholdable_value(data: Any) -> tuple[str, str, str] | None:
    """The first value no layer below can hold, as (field path, description, rule), or None.

    Iterative, so a deep body cannot exhaust the stack; paths are built only for the answer.
    """
    # Each entry: (value, depth, path) where path is a (parent path, key) chain or None.
    pending: list[tuple[Any, int, Any]] = [(data, 0, None)]
    while pending:
        item, depth, path = pending.pop()
        if isinstance(item, str):
            if UNENCODABLE.search(item):
                return _path(path), "Strings may not contain U+0000 or an unpaired UTF-16 surrogate.", RULE_FORMAT
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                return _path(path), "Integers must fit in 64 bits.", RULE_MAX
        elif isinstance(item, float):
            if not math.isfinite(item):
                return _path(path), "The number is out of range.", RULE_MAX
        elif depth >= MAX_DEPTH:
            return _path(path), f"JSON nests at most {MAX_DEPTH} levels.", RULE_MAX
        elif isinstance(item, dict):
            for key, value in item.items():
                if UNENCODABLE.search(key):
                    # The key itself cannot appear in the answer: name its object.
                    return _path(path), "Keys may not contain U+0000 or an unpaired UTF-16 surrogate.", RULE_FORMAT
                pending.append((value, depth + 1, (path, key)))
        elif isinstance(item, list):
            pending.extend((value, depth + 1, (path, index)) for index, value in enumerate(item))
    return None


def _path(chain: Any) -> str:
    keys = []
    while chain is not None:
        chain, key = chain
        keys.append(key)
    text = ""
    for key in reversed(keys):
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "body"
