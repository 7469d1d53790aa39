"""`decode_json`'s fast parser (msgspec) agrees with the standard library's strict parse.

`decode_json` reads with msgspec first and hands whatever msgspec refuses to the
standard library. These tests hold the two to the same answers on texts nobody wrote by
hand: generated JSON values written out in several styles, and those texts mutated
character by character (cut, spliced, with characters dropped, doubled or replaced). On
every text, the value (types included: 1 is not 1.0 or True, -0.0 is not 0.0), the numbers
noted as kept, and any error (its type and its message) are those of the standard
library's parse alone, which is `decode_json` with the fast parser switched off.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.protocol import _json
from gatewayops.protocol import decode_json as decode_json_fast_first

_DIGITS_LIMIT = sys.get_int_max_str_digits()

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),  # lone surrogates included: msgspec refuses them, json.loads reads them
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
HUGE_NUMBERS = st.sampled_from(
    ["9" * (_DIGITS_LIMIT + 1), "-" + "9" * (_DIGITS_LIMIT + 1), "1e400", "-1e400", "1e-400"]
)
JSON_CHARACTERS = st.sampled_from(list('{}[]",:0123456789.eE+-tfnaulrs \\/u\t\n\x00\x7f\ud800é'))


def _refuse(text: str) -> Any:
    """Stands in for the fast parser: refuses every text, as msgspec refuses some."""
    raise msgspec.DecodeError("switched off")


def _decode_standard_library_only(text: str, kept: list[str]) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "fast_parser", lambda: (_refuse, (msgspec.DecodeError,)))
        return decode_json_fast_first(text, kept)


def _outcome(decode: Any, text: str) -> tuple[str, str, list[str]]:
    """What a parse gives: the value's repr (exact for int, float and order), or the
    error's type and message; and the numbers it noted as kept."""
    kept: list[str] = []
    try:
        value = decode(text, kept)
    except (ValueError, RecursionError) as error:
        return type(error).__name__, str(error), kept
    return "value", repr(value), kept


def _assert_same_as_standard_library(text: str) -> None:
    fast_first = _outcome(decode_json_fast_first, text)
    assert fast_first == _outcome(_decode_standard_library_only, text)


@st.composite
def written_texts(draw: st.DrawFn) -> str:
    """A generated value as JSON text, in one of several styles, maybe with a huge
    number spliced in where a value stood."""
    value = draw(VALUES)
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )
    if draw(st.booleans()):
        text = text.replace("null", draw(HUGE_NUMBERS), 1)
    return draw(st.sampled_from(["{}", " {} ", "\n{}\t"])).replace("{}", text)


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """A written text with one to three edits at random places: cut short, a
    character dropped, doubled or replaced, or a JSON-ish character put in."""
    text = draw(written_texts())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "drop", "double", "replace", "insert"]))
        character = draw(JSON_CHARACTERS)
        text = {
            "cut": text[:at],
            "drop": text[:at] + text[at + 1 :],
            "double": text[:at] + text[at : at + 1] * 2 + text[at + 1 :],
            "replace": text[:at] + character + text[at + 1 :],
            "insert": text[:at] + character + text[at:],
        }[edit]
    return text


@settings(max_examples=400)
@given(written_texts())
def test_valid_texts_decode_exactly_as_the_standard_library_reads_them(text: str) -> None:
    """Any valid JSON text gives the standard library's value, types and kept numbers."""
    _assert_same_as_standard_library(text)


@settings(max_examples=600)
@given(mutated_texts())
def test_mutated_texts_decode_or_fail_exactly_as_the_standard_library(text: str) -> None:
    """A mutated text gives the standard library's value, or its very error message."""
    _assert_same_as_standard_library(text)


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',  # an escaped lone surrogate: msgspec refuses it
        '{"\ud800": 1}',  # a raw one, which msgspec cannot encode
        "9" * (_DIGITS_LIMIT + 1),  # an integer over Python's digit limit
        "[1e400]",  # a float beyond the double range
        "[NaN]",  # not JSON at all
        "[" * 100_000 + "]" * 100_000,  # deeper than either parser goes
    ],
)
def test_texts_msgspec_refuses_get_the_standard_library_answer(text: str) -> None:
    """Each kind of text msgspec refuses gets the standard library's value or error."""
    _assert_same_as_standard_library(text)


def test_the_fast_parser_keeps_integers_exact_at_any_size() -> None:
    """An integer of any size Python holds is read exactly, never as a float."""
    for digits in (19, 20, 40, _DIGITS_LIMIT):
        literal = "7" * digits
        assert decode_json_fast_first(f"[{literal}]") == [int(literal)]
        parse, _ = _json.fast_parser()
        assert parse(f"[{literal}]") == [int(literal)]
