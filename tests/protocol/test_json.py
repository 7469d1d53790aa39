"""Strict JSON both ways (`decode_json`, `encode_json`) and `NumberText`.

Valid JSON may hold numbers Python cannot hold exactly (an integer of more than 4,300
digits, a float beyond 1.8e308). `decode_json` keeps each as a `NumberText` of its
literal, noting it in `kept`; `encode_json` writes it back as that literal, so what was
received can be sent or recorded unchanged. NaN and +/-Infinity are refused both ways.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given

from gatewayops.protocol import NumberText, decode_json, encode_json
from gatewayops.testing import strategies as gs

BIG = "9" * 5000  # over Python's 4,300-digit limit for int <-> str
BIG_KEPT = "frame: integer 99999999999999999999... (5000 characters) read as text"


# --------------------------------------------------------------------------- NumberText


def test_number_text_equality_is_by_literal() -> None:
    """Two NumberTexts are equal exactly when their literals are (1e400 is not 1E400)."""
    assert NumberText("1e400") == NumberText("1e400")
    assert NumberText("1e400") != NumberText("1E400")
    assert NumberText(BIG) == NumberText("9" * 5000)


@pytest.mark.parametrize("other", ["1e400", float("inf"), 1e308, None])
def test_number_text_is_never_a_str_or_a_number(other: object) -> None:
    """A NumberText equals neither its literal as a str nor any number."""
    assert NumberText("1e400") != other
    assert NumberText("1") != 1


def test_number_text_hashes_by_literal() -> None:
    """Equal NumberTexts hash alike (usable in sets), and never collide with their str."""
    assert {NumberText("1e400"), NumberText("1e400")} == {NumberText("1e400")}
    assert len({NumberText("1e400"), "1e400"}) == 2


@pytest.mark.parametrize(
    ("literal", "is_integer"),
    [(BIG, True), ("-" + BIG, True), ("1e400", False), ("-1e400", False),
     ("1" + "0" * 400 + ".5", False)],
)  # fmt: skip
def test_number_text_is_integer(literal: str, is_integer: bool) -> None:
    """is_integer holds for digits with an optional minus sign only (1e400 is not one)."""
    assert NumberText(literal).is_integer is is_integer


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ("1e400", "NumberText('1e400', 5 characters)"),
        ("1" * 24, f"NumberText('{'1' * 24}', 24 characters)"),
        ("1" * 25, f"NumberText('{'1' * 20}...', 25 characters)"),
        (BIG, "NumberText('99999999999999999999...', 5000 characters)"),
    ],
    ids=["short", "24-characters", "25-characters", "5000-digits"],
)
def test_number_text_repr_is_short(literal: str, text: str) -> None:
    """The repr shows a literal of up to 24 characters whole, a longer one by its first 20,
    and always the length."""
    assert repr(NumberText(literal)) == text


# --------------------------------------------------------------------------- decode_json


@given(gs.json_values())
def test_decode_json_reads_ordinary_json_as_json_loads(value: Any) -> None:
    """JSON of ordinary values decodes as json.loads does, keeping nothing."""
    kept: list[str] = []
    text = json.dumps(value)
    assert decode_json(text, kept) == json.loads(text)
    assert kept == []


def test_decode_json_keeps_unholdable_numbers() -> None:
    """Each number Python cannot hold becomes a NumberText of its literal, wherever it is,
    and is noted in `kept` in the order found; other numbers stay ints and floats."""
    kept: list[str] = []
    value = decode_json('{"a":[1,' + BIG + ',2.5],"b":{"c":-1e400}}', kept)
    assert value == {"a": [1, NumberText(BIG), 2.5], "b": {"c": NumberText("-1e400")}}
    assert kept == [BIG_KEPT, "frame: number -1e400 (6 characters) read as text"]


def test_decode_json_without_kept_still_keeps_numbers() -> None:
    """Without a `kept` list the numbers are kept all the same, just not noted."""
    assert decode_json("[1e400," + BIG + "]") == [NumberText("1e400"), NumberText(BIG)]


def test_decode_json_underflow_is_zero_not_kept() -> None:
    """A float too small for Python becomes 0.0, as in JavaScript: it is not kept as text."""
    kept: list[str] = []
    assert decode_json("[1e-400]", kept) == [0.0]
    assert kept == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_decode_json_refuses_nan_and_infinity(literal: str) -> None:
    """The NaN and Infinity literals are not JSON, naming the literal."""
    with pytest.raises(ValueError, match=f"^{literal} is not a JSON number$"):
        decode_json("[" + literal + "]")
    with pytest.raises(ValueError, match=f"^{literal} is not a JSON number$"):
        decode_json("[" + literal + ",1e400]")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("", "Expecting value: line 1 column 1 (char 0)"),
        ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
        ("{'a': 1}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ],
)
def test_decode_json_refuses_malformed_text(text: str, error: str) -> None:
    """Text that is not JSON raises ValueError, saying where."""
    with pytest.raises(ValueError, match=f"^{re.escape(error)}$"):
        decode_json(text)


@pytest.mark.parametrize(
    ("text", "error"),
    [("[1e400", "Expecting ',' delimiter"), ("[1e400,NaN]", "NaN is not a JSON number")],
)
def test_decode_json_malformed_after_a_kept_number_names_the_fault(text: str, error: str) -> None:
    """Malformed text that also holds a number Python cannot hold names its real fault,
    not the number (which alone would have been read)."""
    with pytest.raises(ValueError, match=f"^{re.escape(error)}"):
        decode_json(text)


# --------------------------------------------------------------------------- encode_json


def test_encode_json_is_compact() -> None:
    """encode_json writes no spaces after separators, and escapes non-ASCII text."""
    assert encode_json({"a": [1, 2.5, None, True], "b": "caf\u00e9"}) == (
        '{"a":[1,2.5,null,true],"b":"caf\\u00e9"}'
    )


def test_encode_json_writes_number_text_as_its_literal() -> None:
    """A NumberText is written as its bare literal (a number, not a string)."""
    value = {"a": NumberText("1e400"), "b": [NumberText("-" + BIG)]}
    assert encode_json(value) == '{"a":1e400,"b":[-' + BIG + "]}"


@pytest.mark.parametrize(
    "text",
    ['{"n":' + BIG + "}", "[1e400,-1e400,1.5]", '{"a":{"b":[' + BIG + ',"x"]},"c":1E+400}'],
    ids=["5000-digits", "floats", "nested"],
)
def test_encode_json_round_trips_unholdable_numbers_exactly(text: str) -> None:
    """encode_json(decode_json(t)) gives compact t back, every digit of its numbers kept."""
    assert encode_json(decode_json(text)) == text


@given(gs.json_values())
def test_encode_json_inverts_decode_json(value: Any) -> None:
    """For ordinary JSON values, decode_json(encode_json(v)) == v, and the text is the
    compact json.dumps text."""
    text = encode_json(value)
    assert text == json.dumps(value, separators=(",", ":"))
    assert decode_json(text) == value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_encode_json_refuses_nan_and_infinity(value: float) -> None:
    """encode_json never writes NaN or Infinity, which are not JSON."""
    with pytest.raises(ValueError, match="JSON"):
        encode_json([value])


def test_encode_json_refuses_values_json_cannot_represent() -> None:
    """A value that is not JSON (a set, an object) raises TypeError naming its type."""
    with pytest.raises(TypeError, match=r"^Object of type set is not JSON serializable$"):
        encode_json({"a": {1}})
    with pytest.raises(TypeError, match=r"^Object of type object is not JSON serializable$"):
        encode_json(object())
