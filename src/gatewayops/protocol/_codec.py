"""The JSON codec for protocol v1, in both directions.

Owns: `encode` (any message to one JSON text frame), `decode` (server frame to a
`ServerMessage`, used by the client) and `decode_client` (client frame to a
`ClientMessage`, used by the reference gateway), and their halves on parsed JSON:
`to_wire`, and `from_wire` / `client_from_wire` (a frame's JSON object to a message;
`decode` and `decode_client` are a strict JSON parse followed by them). The server
side is lenient on what decides an operation's life and strict on detail (see
"decoding" below); the client side (the reference gateway's) is strict and names the
offending field in a `ProtocolError`. Unknown extra fields are ignored and an unknown
`type` decodes to `UnknownMessage` (server side), so a newer gateway never breaks an
older client. Its frame reading, event decoder and `tool_result` fields are
`_frame_codec`'s, which the v2 codec shares, so both versions read a field the same way.
Must not know: sockets or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gatewayops._frozen import builder
from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import ProtocolError
from gatewayops.protocol._fields import MISSING, json_type_name, mistyped, req_str, value_text
from gatewayops.protocol._frame_codec import (
    DEFAULT_MAX_FRAME_CHARS,
    STATUS_VALUES,
    capped_problems,
    decode_event,
    decode_tool_result,
    event_to_wire,
    frame_type,
    load_frame,
    read_id,
    tool_result_to_wire,
)
from gatewayops.protocol._json import encode_json
from gatewayops.protocol._messages import (
    AgentEventMessage,
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    Heartbeat,
    HeartbeatAck,
    Interrupt,
    Message,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    ToolResult,
    UnknownMessage,
)

__all__ = [
    "client_from_wire",
    "decode",
    "decode_client",
    "encode",
    "from_wire",
    "to_wire",
]

_Fieldless = TypeVar("_Fieldless", AuthSuccess, AuthExpired, HeartbeatAck, SessionComplete)
# The decoder's hot path builds envelopes from fields it has already type-checked.
_new_envelope = builder(AgentEventMessage)


# --------------------------------------------------------------------------- encoding


def to_wire(message: Message) -> dict[str, Any]:
    """The JSON object for `message`, with camelCase field names as upstream."""
    match message:
        case Auth(token=token):
            return {"type": "auth", "token": token}
        case Resume(last_event_id=last_event_id, want_status=want_status):
            return {"type": "resume", "lastEventId": last_event_id, "wantStatus": want_status}
        case Heartbeat():
            return {"type": "heartbeat"}
        case ToolResult():
            return tool_result_to_wire(message)
        case Interrupt():
            return {"type": "interrupt"}
        case AuthSuccess():
            return {"type": "auth_success"}
        case AuthFailed(reason=reason):
            return {"type": "auth_failed", "reason": reason}
        case AuthExpired():
            return {"type": "auth_expired"}
        case HeartbeatAck():
            return {"type": "heartbeat_ack"}
        case AgentEventMessage(event=event, id=envelope_id):
            wire = {"type": "agent_event", "event": event_to_wire(event)}
            if envelope_id is not None:
                wire["id"] = envelope_id
            return wire
        case SessionComplete():
            return {"type": "session_complete"}
        case ResumeComplete(status=status, gap=gap):
            resumed: dict[str, Any] = {"type": "resume_complete"}
            if status is not None:  # None: its status could not be read
                resumed["status"] = status.value
            if gap:
                resumed["gap"] = True
            return resumed
        case UnknownMessage(type=message_type, payload=payload):
            return {**payload, "type": message_type}
    raise TypeError(f"not a protocol message: {message!r}")  # pragma: no cover


def encode(message: Message) -> str:
    """One JSON text frame for `message` (compact, no trailing newline).

    Raises:
        ValueError: a float in the message is NaN or infinite (not JSON), or `data`
            holds a circular reference.
        TypeError: `data`, `state` or a payload holds a value JSON cannot represent.
    """
    return encode_json(to_wire(message))


# --------------------------------------------------------------------------- decoding
#
# Lenient on the lifecycle, strict on detail (DESIGN.md section 4). A server frame is
# refused whole (`ProtocolError`, so a `BadMessageReceived`) only when not even its
# `type` can be read: malformed JSON, not an object, no string `type`. Every other
# field that fails to read is degraded -- to a default, or to a form that cannot
# mislead (see `_frame_codec.decode_event`) -- and the failure is kept as a problem of the message.


def _decode_agent_event(obj: dict[str, Any], problems: list[str]) -> AgentEventMessage:
    event = decode_event(obj.get("event", MISSING), problems)
    envelope_id = obj.get("id")
    if envelope_id is not None and type(envelope_id) is not str:
        envelope_id = read_id(envelope_id, "agent_event.id", problems)
    return _new_envelope(event, envelope_id, capped_problems(problems) if problems else ())


def _decode_auth_failed(obj: dict[str, Any], problems: list[str]) -> AuthFailed:
    reason = obj.get("reason")
    if reason is None:
        reason = ""
    elif type(reason) is not str:
        problems.append(f"auth_failed.reason: expected str, got {json_type_name(reason)}")
        reason = value_text(reason)
    return AuthFailed(reason=redact_secrets(reason), problems=capped_problems(problems))


def _decode_resume_complete(obj: dict[str, Any], problems: list[str]) -> ResumeComplete:
    raw = obj.get("status", MISSING)
    status = STATUS_VALUES.get(raw) if type(raw) is str else None
    if status is None:
        allowed = ", ".join(STATUS_VALUES)
        got = "nothing" if raw is MISSING else value_text(raw)
        problems.append(f"resume_complete.status: expected one of {allowed}, got {got}")
    gap = obj.get("gap", False)
    if type(gap) is not bool:
        problems.append(f"resume_complete.gap: expected a boolean, got {value_text(gap)}")
        gap = False
    return ResumeComplete(status=status, gap=gap, problems=capped_problems(problems))


def _fieldless(cls: type[_Fieldless]) -> Callable[[dict[str, Any], list[str]], _Fieldless]:
    """The decoder of a message without fields: one shared instance for clean frames."""
    clean = cls()

    def decode_fieldless(obj: dict[str, Any], problems: list[str]) -> _Fieldless:
        return cls(problems=capped_problems(problems)) if problems else clean

    return decode_fieldless


_SERVER_DECODERS: dict[str, Callable[[dict[str, Any], list[str]], ServerMessage]] = {
    "auth_success": _fieldless(AuthSuccess),
    "auth_failed": _decode_auth_failed,
    "auth_expired": _fieldless(AuthExpired),
    "heartbeat_ack": _fieldless(HeartbeatAck),
    "agent_event": _decode_agent_event,
    "session_complete": _fieldless(SessionComplete),
    "resume_complete": _decode_resume_complete,
}


def decode(text: str | bytes, *, max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS) -> ServerMessage:
    """Decode one server -> client frame, leniently (see the module docstring).

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: not even the frame's type can be read (malformed JSON, not an
            object, no string `type`); the message names the problem.
    """
    problems: list[str] = []
    return _from_wire(load_frame(text, max_frame_chars, problems), problems)


def from_wire(obj: dict[str, Any]) -> ServerMessage:
    """The server message for a frame's parsed JSON object (the inverse of `to_wire`).

    `decode` is `json.loads` followed by this; use it when the frame is already parsed.
    The object's values are taken as they are (not copied): `data` and an unknown
    message's payload share them. Fields that fail to read are degraded and listed in
    the message's `problems`.

    Raises:
        ProtocolError: `obj` is not a dict, or has no string `type`.
    """
    return _from_wire(obj, [])


def _from_wire(obj: Any, problems: list[str]) -> ServerMessage:
    if type(obj) is not dict:
        raise ProtocolError(f"frame: expected object, got {json_type_name(obj)}")
    message_type = obj.get("type")
    if type(message_type) is not str:
        message_type = frame_type(obj)  # raises, naming the problem
    decoder = _SERVER_DECODERS.get(message_type)
    if decoder is None:
        return UnknownMessage(type=message_type, payload=obj, problems=capped_problems(problems))
    return decoder(obj, problems)


def _decode_resume(obj: dict[str, Any]) -> Resume:
    last_event_id = obj.get("lastEventId", "")
    if type(last_event_id) is not str:
        raise mistyped("resume.lastEventId", "str", last_event_id)
    want_status = obj.get("wantStatus", False)
    if type(want_status) is not bool:
        raise mistyped("resume.wantStatus", "bool", want_status)
    return Resume(last_event_id=last_event_id, want_status=want_status)


_CLIENT_DECODERS: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "auth": lambda obj: Auth(token=req_str(obj, "token", "auth")),
    "resume": _decode_resume,
    "heartbeat": lambda obj: Heartbeat(),
    "tool_result": decode_tool_result,
    "interrupt": lambda obj: Interrupt(),
}


def decode_client(
    text: str | bytes, *, max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS
) -> ClientMessage:
    """Decode one client -> server frame (the reference gateway's side).

    Unlike `decode`, this is strict: an unknown `type`, a missing or mistyped field, or
    a number Python cannot hold exactly is an error (a server must not guess).

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: malformed, unknown type, or a missing or mistyped field.
    """
    problems: list[str] = []
    obj = load_frame(text, max_frame_chars, problems)
    if problems:  # a number Python cannot hold exactly: a server must not guess
        raise ProtocolError(problems[0].replace(" read as text", " cannot be read exactly"))
    return client_from_wire(obj)


def client_from_wire(obj: dict[str, Any]) -> ClientMessage:
    """The client message for a frame's parsed JSON object (the inverse of `to_wire`).

    `decode_client` is `json.loads` followed by this. An unknown `type` is an error.

    Raises:
        ProtocolError: `obj` is not a dict, unknown type, or a missing or mistyped field.
    """
    if type(obj) is not dict:
        raise ProtocolError(f"frame: expected object, got {json_type_name(obj)}")
    message_type = frame_type(obj)
    decoder = _CLIENT_DECODERS.get(message_type)
    if decoder is None:
        known = ", ".join(_CLIENT_DECODERS)
        raise ProtocolError(
            f"frame.type: expected one of {known}, got {message_type!r}", path="frame.type"
        )
    return decoder(obj)
