"""Strict readers for JSON object fields, raising `ProtocolError` that names the field.

Owns: the "expected str, got int" vocabulary shared by the codec and the event-data
views. Must not know: which message a field belongs to (callers pass the path).
"""

from __future__ import annotations

from typing import Any

from gatewayops.exceptions import ProtocolError

_JSON_TYPE_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
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
