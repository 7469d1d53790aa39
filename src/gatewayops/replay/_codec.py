"""JSON (de)serialisation of every action and effect, with tokens redacted.

Owns: a generic, type-directed codec between the store's action and effect classes and
JSON: fields become keys, enums their values, nested
attrs classes (`Timer`, `Outcome`) objects, fields typed `Any` (an answer, a fetched
message list) their JSON, and protocol messages their wire JSON (`to_wire`, read back
with the protocol codec's `from_wire` / `client_from_wire`, so both sides agree by
construction; payloads must come from a strict JSON parser, as `_format`'s, which
refuses NaN and infinities as the codec's own `decode` does). Every token is replaced by
`REDACTED` as it is encoded: the `token` field of the app actions and of
`TokenRefreshed`, and the token of every `auth` frame. A received frame is recorded as
the message it decoded to (`to_wire`), with the problems its decoding found under
``"problems"`` (when there are any), so a replay reduces exactly the message the live
client did. A protocol v2 frame of a class v1 does not share is written as
``{"v2": <its v2 wire JSON>}`` (`mux_to_wire`, read back with `mux_from_wire` /
`mux_client_from_wire`), so a log of either protocol says which each frame is. The
operation id is not part of a payload (a record carries it once). Must not know: files,
lines, or record numbers (errors are `ValueError`s naming the field; `_format` adds the
line), or where an item is filed in a log (`_places`).
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable
from typing import Any, TypeAlias, cast

import attrs

from gatewayops._frozen import builder
from gatewayops.exceptions import RemoteProtocolError
from gatewayops.protocol import (
    Auth,
    ClientMessage,
    ServerMessage,
    ToolResult,
    client_from_wire,
    from_wire,
    to_wire,
)
from gatewayops.protocol._v2_client_codec import mux_client_from_wire
from gatewayops.protocol._v2_codec import mux_from_wire
from gatewayops.protocol._v2_encoding import mux_to_wire
from gatewayops.protocol._v2_messages import MuxClientMessage, MuxServerMessage
from gatewayops.replay._places import (
    CLASSES,
    PLACES,
    REDACTED,
    SUBJECT_FIELDS,
    Item,
)
from gatewayops.store import MessageReceived, SendMessage

__all__ = ["decode_item", "encode_item"]

_REDACTED_AUTH = Auth(token=REDACTED)
_V2_KEY = "v2"
"""The key a v2-only frame is wrapped in (a v1 frame's wire JSON always has a "type")."""


def _wire(message: Any) -> dict[str, Any]:
    """A frame's JSON in a log: v1's wire JSON, or ``{"v2": ...}`` for a v2-only class."""
    if isinstance(message, ClientMessage | ServerMessage):
        return to_wire(_REDACTED_AUTH if isinstance(message, Auth) else message)
    return {_V2_KEY: mux_to_wire(message)}


# --------------------------------------------------------------------------- encoding


def _to_json(value: Any, redact: bool = False) -> Any:
    if redact:
        return REDACTED
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if type(value) is list:  # an answer (a field typed Any) is any JSON value
        return [_to_json(element) for element in value]
    if type(value) is dict:
        return {str(key): _to_json(element) for key, element in value.items()}
    if isinstance(value, ClientMessage | ServerMessage | MuxClientMessage | MuxServerMessage):
        return _wire(value)
    if attrs.has(type(value)):
        return {
            field.name: _to_json(getattr(value, field.name), field.name == "token")
            for field in attrs.fields(type(value))
        }
    raise TypeError(f"cannot record a value of type {type(value).__name__}")


def encode_item(item: Item) -> dict[str, Any]:
    """The JSON payload of `item`: ``{"type": class name, field: value, ...}``.

    The link or operation id is left out (a record carries it). Tokens become `REDACTED`.

    Raises:
        TypeError: a field holds a value JSON cannot represent.
    """
    cls = type(item)
    if cls is MessageReceived or cls is SendMessage:  # the hot path: one frame each
        framed = cast(MessageReceived | SendMessage, item)
        message = framed.message
        wire = _wire(message)
        record = {"type": cls.__name__, "generation": framed.generation, "frame": wire}
        problems = getattr(message, "problems", ())
        if problems:
            record["problems"] = list(problems)
        return record
    if cls not in PLACES:
        raise TypeError(f"not an action or effect: {item!r}")
    payload: dict[str, Any] = {"type": cls.__name__}
    subject = SUBJECT_FIELDS[cls]
    for field in attrs.fields(cls):
        if field.name != subject:
            payload[field.name] = _to_json(getattr(item, field.name), field.name == "token")
    return payload


# --------------------------------------------------------------------------- decoding

_Convert: TypeAlias = Callable[[Any, str], Any]


def _json_name(value: object) -> str:
    return {dict: "object", list: "array", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _exact(expected: type[Any]) -> _Convert:
    def convert(value: Any, path: str) -> Any:
        if type(value) is not expected:
            raise ValueError(f"{path}: expected {expected.__name__}, got {_json_name(value)}")
        return value

    return convert


def _optional(inner: _Convert) -> _Convert:
    return lambda value, path: None if value is None else inner(value, path)


def _enumeration(cls: type[enum.Enum]) -> _Convert:
    def convert(value: Any, path: str) -> Any:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in cls)
            raise ValueError(f"{path}: expected one of {allowed}, got {value!r}") from None

    return convert


def _frame(
    decoder: Callable[[dict[str, Any]], Any],
    expected: Any = None,
    v2_decoder: Callable[[dict[str, Any]], Any] | None = None,
) -> _Convert:
    """Read a frame's wire JSON with the protocol codec (and check its class if given);
    with `v2_decoder`, a ``{"v2": ...}`` frame with it."""

    def convert(value: Any, path: str) -> Any:
        if type(value) is not dict:
            raise ValueError(f"{path}: expected a frame object, got {_json_name(value)}")
        read = decoder
        if v2_decoder is not None and "type" not in value and _V2_KEY in value:
            value, path, read = value[_V2_KEY], f"{path}.{_V2_KEY}", v2_decoder
            if type(value) is not dict:
                raise ValueError(f"{path}: expected a frame object, got {_json_name(value)}")
        try:
            message = read(value)
        except RemoteProtocolError as error:
            raise ValueError(f"{path}: {error}") from None
        if expected is not None and not isinstance(message, expected):
            raise ValueError(f"{path}: expected a {expected.__name__} frame, got {value!r}")
        return message

    return convert


_INT = _exact(int)
_ANY_SERVER = ServerMessage | MuxServerMessage
_ANY_CLIENT = ClientMessage | MuxClientMessage
_FRAMES: dict[Any, _Convert] = {
    _ANY_SERVER: _frame(from_wire, v2_decoder=mux_from_wire),
    _ANY_CLIENT: _frame(client_from_wire, v2_decoder=mux_client_from_wire),
    ToolResult: _frame(client_from_wire, ToolResult),
}
_SERVER_FRAME, _CLIENT_FRAME = _FRAMES[_ANY_SERVER], _FRAMES[_ANY_CLIENT]
# The hot path (one frame per record) builds these from fields it has already checked.
_new_message_received = builder(MessageReceived)
_new_send_message = builder(SendMessage)


def _converter(annotation: Any) -> _Convert:
    """How to read a JSON value into a field annotated `annotation`."""
    if annotation in _FRAMES:
        return _FRAMES[annotation]
    if annotation is Any:  # a JSON value kept as it is (an intervention's answer)
        return lambda value, path: value
    if annotation in (str, int, bool):
        return _exact(annotation)
    if isinstance(annotation, types.UnionType):
        args = [arg for arg in annotation.__args__ if arg is not type(None)]
        if len(args) == 1 and len(annotation.__args__) == 2:
            return _optional(_converter(args[0]))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enumeration(annotation)
    if isinstance(annotation, type) and attrs.has(annotation):
        return lambda value, path: _decode_object(annotation, value, path, {})
    raise TypeError(f"the replay codec cannot read fields of type {annotation!r}")


_FieldPlan: TypeAlias = tuple[tuple[str, _Convert, bool], ...]
_PLANS: dict[type[Any], _FieldPlan] = {}


def _plan(cls: type[Any]) -> _FieldPlan:
    """(name, converter, required) per field of `cls`, built once."""
    plan = _PLANS.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        plan = _PLANS[cls] = tuple(
            (field.name, _converter(field.type), field.default is attrs.NOTHING)
            for field in attrs.fields(cls)
        )
    return plan


def _decode_object(cls: type[Any], value: Any, path: str, given: dict[str, Any]) -> Any:
    if type(value) is not dict:
        raise ValueError(f"{path}: expected object, got {_json_name(value)}")
    kwargs = dict(given)
    for name, convert, required in _plan(cls):
        if name in given:
            continue
        if name in value:
            kwargs[name] = convert(value[name], f"{path}.{name}")
        elif required:
            raise ValueError(f"{path}.{name}: missing required field")
    unknown = value.keys() - kwargs.keys() - {"type"}
    if unknown:
        raise ValueError(f"{path}.{sorted(unknown)[0]}: unknown field of {cls.__name__}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None


def _check_frame_record(payload: dict[str, Any], cls: type[Any]) -> None:
    """Raise naming what a frame record lacks or has too much (its keys are not the usual)."""
    missing = sorted({"generation", "frame"} - payload.keys())
    if missing:
        raise ValueError(f"payload.{missing[0]}: missing required field")
    allowed = {"type", "generation", "frame"} | ({"problems"} if cls is MessageReceived else set())
    unknown = sorted(payload.keys() - allowed)
    if unknown:
        raise ValueError(f"payload.{unknown[0]}: unknown field of {cls.__name__}")


def _problems(value: Any) -> tuple[str, ...]:
    if type(value) is not list or not value or any(type(line) is not str for line in value):
        raise ValueError("payload.problems: expected a non-empty array of str")
    return tuple(value)


def decode_item(payload: Any, subject: str) -> Item:
    """The action or effect a record's payload holds, about link or operation `subject`.

    Raises:
        ValueError: the payload is not a known class with well-typed fields; the message
            names the field (``payload.generation: expected int, got str``).
    """
    if type(payload) is not dict:
        raise ValueError(f"payload: expected object, got {_json_name(payload)}")
    name = payload.get("type")
    cls = CLASSES.get(name) if type(name) is str else None
    if cls is None:
        raise ValueError(f"payload.type: expected an action or effect class, got {name!r}")
    if cls is MessageReceived or cls is SendMessage:  # the hot path: one frame each
        if len(payload) != 3 or "generation" not in payload or "frame" not in payload:
            _check_frame_record(payload, cls)
        generation = payload["generation"]
        if type(generation) is not int:
            _INT(generation, "payload.generation")  # raises, naming the field
        frame = _SERVER_FRAME if cls is MessageReceived else _CLIENT_FRAME
        message = frame(payload["frame"], "payload.frame")
        if "problems" in payload:
            message = attrs.evolve(message, problems=_problems(payload["problems"]))
        build = _new_message_received if cls is MessageReceived else _new_send_message
        item: Item = build(subject, generation, message)
    else:
        field = SUBJECT_FIELDS[cls]
        given = {} if field is None else {field: subject}
        item = _decode_object(cls, payload, "payload", given)
    return item


for _cls in PLACES:  # fail at import, not mid-replay, if a class gains an unknown field type
    _plan(_cls)
