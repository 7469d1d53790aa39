"""Strict readers for JSON object fields, raising `ProtocolError` that names the field.

Owns: the "expected str, got int" vocabulary shared by the codec and the event-data
views, the strict readers (which raise), and `Lenient`, which reads with them but turns
each failure into a problem line and a default, so one bad field degrades only itself.
Must not know: which message a field belongs to (callers pass the path).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import ProtocolError
from gatewayops.protocol._json import NumberText, encode_json

_JSON_TYPE_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
    NumberText: "number Python cannot hold exactly",
}

MISSING: Any = object()


def json_type_name(value: object) -> str:
    """The JSON-facing name of a decoded value's type (``object``, ``array``, ``str``...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def mistyped(path: str, expected: str, value: object) -> ProtocolError:
    """The error for a field whose value has the wrong type."""
    return ProtocolError(f"{path}: expected {expected}, got {json_type_name(value)}", path=path)


def missing(path: str, expected: str) -> ProtocolError:
    """The error for a required field that is absent."""
    return ProtocolError(f"{path}: missing required field (expected {expected})", path=path)


def req_str(obj: dict[str, Any], key: str, path: str) -> str:
    """A required string field."""
    value = obj.get(key, MISSING)
    if type(value) is str:
        return value
    if value is MISSING:
        raise missing(f"{path}.{key}", "str")
    raise mistyped(f"{path}.{key}", "str", value)


def opt_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string field (absent or null gives ``None``)."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise mistyped(f"{path}.{key}", "str", value)


def req_bool(obj: dict[str, Any], key: str, path: str) -> bool:
    """A required boolean field."""
    value = obj.get(key, MISSING)
    if type(value) is bool:
        return value
    if value is MISSING:
        raise missing(f"{path}.{key}", "bool")
    raise mistyped(f"{path}.{key}", "bool", value)


def opt_bool(obj: dict[str, Any], key: str, path: str, default: bool = False) -> bool:
    """An optional boolean field."""
    value = obj.get(key)
    if value is None:
        return default
    if type(value) is bool:
        return value
    raise mistyped(f"{path}.{key}", "bool", value)


def req_int(obj: dict[str, Any], key: str, path: str) -> int:
    """A required integer field (a float with an integral value is accepted)."""
    value = obj.get(key, MISSING)
    if type(value) is int:
        return value
    if value is MISSING:
        raise missing(f"{path}.{key}", "int")
    if type(value) is float and value.is_integer():
        return int(value)
    raise mistyped(f"{path}.{key}", "int", value)


def opt_int(obj: dict[str, Any], key: str, path: str) -> int | None:
    """An optional integer field."""
    if obj.get(key) is None:
        return None
    return req_int(obj, key, path)


def req_number(obj: dict[str, Any], key: str, path: str) -> float:
    """A required number field (int or float, never bool)."""
    value = obj.get(key, MISSING)
    value_type = type(value)
    if value_type is int or value_type is float:
        return value  # type: ignore[no-any-return]
    if value is MISSING:
        raise missing(f"{path}.{key}", "number")
    raise mistyped(f"{path}.{key}", "number", value)


def opt_object(obj: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
    """An optional JSON object field."""
    value = obj.get(key)
    if value is None or type(value) is dict:
        return value
    raise mistyped(f"{path}.{key}", "object", value)


def as_object(value: object, path: str) -> dict[str, Any]:
    """`value` itself, which must be a JSON object."""
    if type(value) is dict:
        return value
    raise mistyped(path, "object", value)


# --------------------------------------------------------------------------- lenient reading

_VALUE_TEXT_CHARS = 80


def value_text(value: object, chars: int = _VALUE_TEXT_CHARS) -> str:
    """A short JSON rendering of a value for a problem line (secrets redacted, then cut
    to `chars`, so a cut never leaves part of a token behind; never raises)."""
    try:
        text = encode_json(value)
    except (TypeError, ValueError, RecursionError):
        text = json_type_name(value)
    text = redact_secrets(text)
    if len(text) > chars:
        text = text[: chars - 1] + "\u2026"
    return text


def number_text(value: object) -> str | None:
    """The decimal text of an integer (or integral float) value, or None if it has none."""
    if isinstance(value, NumberText):
        return value.literal if value.is_integer else None
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        return None
    try:
        return str(value)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return None


class Lenient:
    """Reads fields of one JSON object with the strict readers, but never raises.

    A field that fails its reader gives the default instead, and the `ProtocolError`'s
    text (which names the field) is appended to `problems`. This is how detail is
    degraded without losing the frame.
    """

    __slots__ = ("_obj", "_path", "problems")

    def __init__(self, obj: dict[str, Any], path: str, problems: list[str]) -> None:
        self._obj = obj
        self._path = path
        self.problems = problems

    def _read(
        self, reader: Callable[[dict[str, Any], str, str], Any], key: str, default: Any
    ) -> Any:
        try:
            value = reader(self._obj, key, self._path)
        except ProtocolError as error:
            self.problems.append(str(error))
            return default
        return default if value is None else value

    def text(self, key: str) -> str | None:
        """An optional string field (None when absent or mistyped)."""
        return self._read(opt_str, key, None)  # type: ignore[no-any-return]

    def text_or(self, key: str, default: str) -> str:
        """An optional string field, `default` when absent or mistyped."""
        return self._read(opt_str, key, default)  # type: ignore[no-any-return]

    def required_text(self, key: str) -> str | None:
        """A required string field; None (and a problem) when absent or mistyped."""
        return self._read(req_str, key, None)  # type: ignore[no-any-return]

    def integer(self, key: str, default: int | None = None) -> int | None:
        """An optional integer field (an integral float is accepted)."""
        return self._read(opt_int, key, default)  # type: ignore[no-any-return]

    def required_integer(self, key: str, default: int) -> int:
        """A required integer field; `default` (and a problem) when absent or mistyped."""
        return self._read(req_int, key, default)  # type: ignore[no-any-return]

    def required_number(self, key: str, default: float) -> float:
        """A required number field; `default` (and a problem) when absent or mistyped."""
        return self._read(req_number, key, default)  # type: ignore[no-any-return]

    def required_flag(self, key: str, default: bool) -> bool:
        """A required boolean field; `default` (and a problem) when absent or mistyped."""
        return self._read(req_bool, key, default)  # type: ignore[no-any-return]

    def flag(self, key: str, default: bool = False) -> bool:
        """An optional boolean field."""
        return self._read(opt_bool, key, default)  # type: ignore[no-any-return]

    def mapping(self, key: str) -> dict[str, Any]:
        """An optional object field (``{}`` when absent or mistyped)."""
        return self._read(opt_object, key, {})  # type: ignore[no-any-return]
