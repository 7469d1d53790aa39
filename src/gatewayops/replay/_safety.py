"""What keeps a log safe to write, to read and to show.

Owns: the limits every log line keeps, checked on both sides (a line the reader would
refuse is never written): at most `MAX_LINE_LENGTH` characters and JSON nested at most
`MAX_NESTING` levels deep (`line_problem`; the nesting also bounds the recursion of
everything that reads a record later: the codec, reprs, diffs, the JSON report);
`redact_json`, which applies `gatewayops._secrets.redact_secrets` to every string of a
JSON value, keys included, and `redact_json_text`, the same for a JSON text (redacting
the values, not the text, keeps the JSON valid: a rewritten escape could otherwise end
a string early); `redacted_rendering`, which applies them to what a report's
``to_text`` or ``to_json`` returns; and `shown`, a repr bounded in length and depth
for error messages about values read from a file.

Must not know: records, files, the reducer, or what a log means.
"""

from __future__ import annotations

import functools
import reprlib
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from gatewayops._secrets import redact_secrets
from gatewayops.protocol import decode_json, encode_json

__all__ = [
    "MAX_LINE_LENGTH",
    "MAX_NESTING",
    "SHORT_LINE",
    "line_problem",
    "nested_too_deeply",
    "redact_json",
    "redact_json_text",
    "redacted_rendering",
    "shown",
]

MAX_LINE_LENGTH = 64 * 2**20
"""Characters (bytes, in a file: the lines are ASCII) a log line may have: room for a
frame at the codec's limit of 4 Mi characters even when every one is escaped."""

MAX_NESTING = 256
"""Levels of arrays and objects a log line may nest: far more than any protocol frame
needs, and few enough for every recursive step after the parser to stay well inside
Python's recursion limit."""

SHORT_LINE = 2 * MAX_NESTING
"""A line of at most this many characters keeps both limits: it cannot nest
`MAX_NESTING` levels (each level takes two), so the reader checks no further."""

_SHOWN = reprlib.Repr()  # looks 3 levels down at most, so never recurses deeply
_SHOWN.maxlevel = 3
_SHOWN_CHARS = 80


def shown(value: object) -> str:
    """A repr of `value` for an error message: at most 80 characters, 3 levels."""
    text = _SHOWN.repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether the parsed JSON `value` nests more than `limit` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        children = container.values() if type(container) is dict else container
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False


def nested_too_deeply(text: str) -> bool:
    """Whether the JSON `text` nests arrays and objects more than `MAX_NESTING` levels.

    Almost free for almost every text: one of at most twice the limit's characters
    (each level takes two), or that opens no more brackets than the limit, cannot
    exceed it. Text that is not JSON is not this rule's concern (False).
    """
    if len(text) <= SHORT_LINE or text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    try:
        value = decode_json(text)
    except RecursionError:
        return True
    except ValueError:
        return False
    return type(value) in (dict, list) and _deeper_than(value, MAX_NESTING)


def line_problem(length: int, text: str) -> str | None:
    """Why a log line of `length` characters (or bytes) holding `text` is refused, or None."""
    if length > MAX_LINE_LENGTH:
        return f"longer than the limit of {MAX_LINE_LENGTH:,} characters"
    if nested_too_deeply(text):
        return f"nested more than {MAX_NESTING} levels deep"
    return None


def redact_json(value: Any) -> Any:
    """`value` (parsed JSON, nested at most `MAX_NESTING` levels) with every string,
    keys included, passed through `redact_secrets`; other values are kept as they are."""
    if type(value) is str:
        return redact_secrets(value)
    if type(value) is dict:
        return {redact_json(key): redact_json(item) for key, item in value.items()}
    if type(value) is list or type(value) is tuple:
        return [redact_json(item) for item in value]
    return value


def redact_json_text(text: str) -> str:
    """The JSON `text` (nested at most `MAX_NESTING` levels) with every string redacted
    as `redact_json` does; `text` itself when nothing in it looks like a secret, and
    the text redacted as text when it is not JSON."""
    clean = redact_secrets(text)
    if clean == text:
        return text
    try:
        value = decode_json(text)
    except ValueError:
        return clean
    return encode_json(redact_json(value))


_P = ParamSpec("_P")
_Rendered = TypeVar("_Rendered", str, dict[str, Any])


def redacted_rendering(render: Callable[_P, _Rendered]) -> Callable[_P, _Rendered]:
    """`render` (a ``to_text`` or ``to_json``), with secrets redacted from what it returns."""

    @functools.wraps(render)
    def rendered(*args: _P.args, **kwargs: _P.kwargs) -> _Rendered:
        result = render(*args, **kwargs)
        if isinstance(result, str):
            return redact_secrets(result)
        return cast(dict[str, Any], redact_json(result))

    return rendered
