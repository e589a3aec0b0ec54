"""The JSON parser's orjson path gives what the checked path gives, or steps aside for it."""

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from checkouts.api.errors import WixValidationError
from checkouts.api.parsers import (
    _SLOW,
    BoundedJSONParser,
    _deeper_than,
    _parsed_fast,
    _refuse_constant,
    unholdable_value,
)


def checked(body: bytes):
    """The parser's checked path: json.loads, then the walk for values no layer can hold."""
    data = json.loads(body.decode(), parse_constant=_refuse_constant)
    return data, unholdable_value(data)


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [{"eventId": "e-1", "checkout": {"id": "co-1", "totalPrice": {"amount": "10.50"}}}]}',
        b'{"a": [1, -2, 3.25, 1.5e300, true, false, null, "x", {"b": []}]}',
        b'{"emoji": "\\ud83d\\ude00", "escaped": "tab\\t quote\\" slash\\/", "utf8": "M\xc3\xbcller"}',
        b'{"a": 999999999999999999, "b": -123456789012345678}',
        b'{"a": 1, "a": 2}',
        b"  [ ]  ",
        (b"[" * 64 + b"]" * 64),
        b'{"a":' * 64 + b"1" + b"}" * 64,
        b'["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[{{"]',
    ],
)
def test_a_body_every_layer_can_hold_parses_the_same_either_way(body):
    data, problem = checked(body)
    assert problem is None
    fast = _parsed_fast(body, "utf-8")
    assert fast is not _SLOW and fast == data
    assert json.dumps(fast) == json.dumps(data)  # key order and types too


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\u0000"}',
        b'{"\\u0000": 1}',
        b'{"a": 18446744073709551615}',
        b'{"a": -9223372036854775809}',
        b'{"a": ' + b"9" * 400 + b"}",
        b'{"a": 1e309}',
        b'{"a": NaN}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00\\ud800"}',
        b"[" * 65 + b"]" * 65,
        b'{"a":' * 65 + b"1" + b"}" * 65,
        b"[" * 10_000 + b"]" * 10_000,
        b"\xff\xfe{}",
        b"\xef\xbb\xbf{}",
        b'{"a": 1',
        b"",
    ],
)
def test_a_body_some_layer_cannot_hold_goes_the_checked_way(body):
    assert _parsed_fast(body, "utf-8") is _SLOW


def test_a_run_of_19_digits_goes_the_checked_way_even_when_it_fits():
    # orjson would read a wider integer as a float: the walk decides for any 19 digits.
    assert _parsed_fast(b'{"a": 9223372036854775807}', "utf-8") is _SLOW
    assert checked(b'{"a": 9223372036854775807}') == ({"a": 9223372036854775807}, None)


def test_another_charset_goes_the_checked_way():
    assert _parsed_fast(b'{"a": 1}', "latin-1") is _SLOW
    assert _parsed_fast(b'{"a": 1}', "UTF-8") == {"a": 1}


def test_the_parser_still_refuses_what_it_refused(rf):
    parser = BoundedJSONParser()
    for body, error in [
        (b'{"a": "\\u0000"}', WixValidationError),
        (b'{"a":' * 65 + b"1" + b"}" * 65, WixValidationError),
        (b'{"a": 18446744073709551615}', WixValidationError),
        (b'{"a": NaN}', ParseError),
    ]:
        request = rf.post("/", body, content_type="application/json")
        with pytest.raises(error):
            parser.parse(request, parser_context={"request": request, "encoding": "utf-8"})


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings made of what the bracket count must see through: brackets, quotes, backslashes.
_tricky_text = st.text(alphabet='[]{}"\\/ab\n', max_size=8)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(_json_values, st.integers(min_value=0, max_value=6), st.booleans())
@example("[", 0, False)  # brackets only inside a string, no level to take off
def test_the_depth_read_from_the_brackets_is_the_datas_own(data, limit, escape_slashes):
    body = json.dumps(data, ensure_ascii=False)
    if escape_slashes:  # as PHP's json_encode writes them
        body = body.replace("/", "\\/")
    assert json.loads(body) == data
    assert _deeper_than(body.encode(), limit) == (_depth(data) > limit)
