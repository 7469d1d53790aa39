"""Strict JSON (RFC 8259) in both directions, shared by the codec and the replay log.

Owns: `decode_json` and `encode_json`, and `NumberText`. NaN and +/-Infinity are not
JSON: the encoder refuses them and the decoder rejects those literals. Valid JSON may
still hold numbers Python cannot represent exactly (an integer of more than 4,300
digits, a float beyond 1.8e308); upstream's JavaScript acts on such frames, so the
decoder does not refuse them: it keeps each such number as a `NumberText` (its literal),
which no field reader mistakes for a string or a number, and `encode_json` writes it
back as the same literal, so a recording replays the very frame the client received.

Decoding reads with msgspec first (about a quarter of `json.loads`'s time per frame; it
keeps every integer Python can hold exact, of any size, and refuses NaN and Infinity).
Whatever it refuses (a number it cannot hold, a lone surrogate it cannot encode, text
nested too deeply, text that is not JSON) is parsed again by the standard library's
strict decoder, which gives the value or the error it always gave: the two agree on
every valid JSON text, which tests/protocol/test_json_parsers.py checks on generated and
mutated texts. The instances are module-level because `json.dumps`/`json.loads` with
keyword arguments build a new encoder or decoder per call. Must not know: messages.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable
from functools import cache
from typing import Any, NoReturn

__all__ = [
    "STRICT_JSON_DECODER",
    "STRICT_JSON_ENCODER",
    "NumberText",
    "decode_json",
    "encode_json",
]


class NumberText:
    """A JSON number Python cannot hold exactly, kept as its literal text.

    Equal to another `NumberText` of the same literal; never equal to a str or a number.
    """

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    @property
    def is_integer(self) -> bool:
        """Whether the literal is an integer (digits, maybe a minus sign)."""
        return self.literal.lstrip("-").isdecimal()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberText) and other.literal == self.literal

    def __hash__(self) -> int:
        return hash(("NumberText", self.literal))

    def __repr__(self) -> str:
        shown = self.literal if len(self.literal) <= 24 else f"{self.literal[:20]}..."
        return f"NumberText({shown!r}, {len(self.literal)} characters)"


def _reject_constant(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value


class _Marking(threading.local):
    """Per thread: the nonce that marks a `NumberText` in this encoding, and whether one
    was met (a `NumberText` is written as a marked string, turned into its literal after)."""

    nonce = ""
    met = False


_MARKING = _Marking()


def _number_literal(value: object) -> str:
    if isinstance(value, NumberText):
        _MARKING.met = True
        return f"\x00{_MARKING.nonce}:{value.literal}\x00"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


STRICT_JSON_ENCODER = json.JSONEncoder(
    separators=(",", ":"), allow_nan=False, default=_number_literal
)
"""Compact, and refuses NaN and +/-Infinity (`ValueError`); use `encode_json`."""

STRICT_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
"""Rejects NaN, +/-Infinity and numbers it cannot hold (`ValueError`); see `decode_json`."""


@cache
def fast_parser() -> tuple[Callable[[str], Any], tuple[type[BaseException], ...]]:
    """msgspec's untyped parse (dicts, lists, str, int, float, bool and None, as
    `json.loads` gives them) and the errors by which it refuses a text. Imported on
    first use: msgspec adds about 18 ms to an import of `gatewayops.protocol`."""
    import msgspec

    refusals = (msgspec.DecodeError, UnicodeEncodeError, RecursionError)
    return msgspec.json.Decoder().decode, refusals


def encode_json(value: Any) -> str:
    """Compact strict JSON of `value`; a `NumberText` becomes its literal again.

    Raises:
        ValueError: a float is NaN or infinite, or a value holds a circular reference.
        TypeError: a value JSON cannot represent.
    """
    _MARKING.met, _MARKING.nonce = False, ""
    text = STRICT_JSON_ENCODER.encode(value)
    if not _MARKING.met:
        return text
    # Again with a fresh random nonce, so that no string of the value can look marked.
    # os.urandom is what `secrets.token_hex` reads, without importing hmac and hashlib.
    nonce = _MARKING.nonce = os.urandom(8).hex()
    text = STRICT_JSON_ENCODER.encode(value)
    marked = re.compile(rf'"\\u0000{nonce}:([-+.0-9eE]+)\\u0000"')
    return marked.sub(lambda match: match.group(1), text)


def decode_json(text: str, kept: list[str] | None = None) -> Any:
    """The strict JSON value of `text`; numbers Python cannot hold become `NumberText`.

    Each number kept as text is noted in `kept` (when given) as one line. Only text the
    fast parser refuses (such a number, a lone surrogate, or not JSON) pays for the
    standard library's parse, and only such a number for a third.

    Raises:
        ValueError: not strict JSON (NaN and +/-Infinity literals included).
        RecursionError: nested too deeply for the parser.
    """
    parse, refusals = fast_parser()
    try:
        return parse(text)
    except refusals:
        pass  # the standard library's parse has the answer, or the error to report
    try:
        return STRICT_JSON_DECODER.decode(text)
    except ValueError:
        pass  # a number Python cannot hold, or not JSON: the third parse tells which
    return _keeping_numbers(kept).decode(text)


def _keeping_numbers(kept: list[str] | None) -> json.JSONDecoder:
    def keep(literal: str, kind: str) -> NumberText:
        if kept is not None:
            shown = literal if len(literal) <= 20 else f"{literal[:20]}..."
            kept.append(f"frame: {kind} {shown} ({len(literal)} characters) read as text")
        return NumberText(literal)

    def parse_int(literal: str) -> int | NumberText:
        try:
            return int(literal)
        except ValueError:  # more digits than Python converts
            return keep(literal, "integer")

    def parse_float(literal: str) -> float | NumberText:
        value = float(literal)
        return keep(literal, "number") if math.isinf(value) else value

    return json.JSONDecoder(
        parse_constant=_reject_constant, parse_float=parse_float, parse_int=parse_int
    )
