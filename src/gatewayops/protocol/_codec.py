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
older client. Must not know: sockets or the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from gatewayops._frozen import builder
from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import FrameTooLarge, ProtocolError
from gatewayops.protocol._fields import (
    MISSING,
    Lenient,
    json_type_name,
    missing,
    mistyped,
    number_text,
    opt_object,
    opt_str,
    req_bool,
    req_str,
    value_text,
)
from gatewayops.protocol._json import decode_json, encode_json
from gatewayops.protocol._messages import (
    AgentEvent,
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
    Problems,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    ToolError,
    ToolResult,
    UnknownMessage,
)

__all__ = [
    "DEFAULT_MAX_FRAME_CHARS",
    "FOREIGN_OPERATION_ID",
    "client_from_wire",
    "decode",
    "decode_client",
    "encode",
    "from_wire",
    "to_wire",
]

DEFAULT_MAX_FRAME_CHARS = 4 * 1024 * 1024
"""Frames longer than this many characters are rejected before parsing (4 MiB)."""

_STATUS_VALUES = {status.value: status for status in SessionStatus}
_MAX_PROBLEMS = 8
FOREIGN_OPERATION_ID = "\x00"
"""Prefix of the `AgentEvent.operation_id` given to a non-string, truthy `operationId`."""
_Fieldless = TypeVar("_Fieldless", AuthSuccess, AuthExpired, HeartbeatAck, SessionComplete)
# The decoder's hot path builds these from fields it has already type-checked.
_new_event = builder(AgentEvent)
_new_envelope = builder(AgentEventMessage)


# --------------------------------------------------------------------------- encoding


def _event_to_wire(event: AgentEvent) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "type": event.type,
        "operationId": event.operation_id,
        "stepIndex": event.step_index,
        "timestamp": event.timestamp,
        "data": event.data,
    }
    if event.id is not None:
        wire["id"] = event.id
    return wire


def _tool_result_to_wire(message: ToolResult) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "type": "tool_result",
        "toolCallId": message.tool_call_id,
        "success": message.success,
        "content": message.content,
    }
    if message.error is not None:
        error: dict[str, Any] = {"message": message.error.message}
        if message.error.type is not None:
            error["type"] = message.error.type
        wire["error"] = error
    if message.state is not None:
        wire["state"] = message.state
    if message.work_registration is not None:
        wire["workRegistration"] = message.work_registration
    return wire


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
            return _tool_result_to_wire(message)
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
            wire = {"type": "agent_event", "event": _event_to_wire(event)}
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
# mislead (see `_operation_id`) -- and the failure is kept as a problem of the message.


def _load_json(text: str | bytes, max_frame_chars: int, problems: list[str]) -> Any:
    """The JSON value of a frame; `from_wire` checks that it is an object.

    Valid JSON whose numbers Python cannot hold exactly (an integer of more than 4,300
    digits, a float beyond 1.8e308) is read with those numbers kept as `NumberText`,
    each noted in `problems`: upstream acts on such frames, so must we.
    """
    if len(text) > max_frame_chars:
        raise FrameTooLarge(f"frame: {len(text)} characters is over the limit of {max_frame_chars}")
    try:
        if not isinstance(text, str):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        return decode_json(text, problems)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN
        raise ProtocolError(f"frame: malformed JSON ({error})") from None
    except RecursionError:
        raise ProtocolError("frame: malformed JSON (nested too deeply)") from None


def _message_type(obj: dict[str, Any]) -> str:
    message_type = obj.get("type", MISSING)
    if type(message_type) is str:
        return message_type
    if message_type is MISSING:
        raise missing("frame.type", "str")
    raise mistyped("frame.type", "str", message_type)


def _problems(problems: list[str]) -> Problems:
    """The problems of one message, at most `_MAX_PROBLEMS` of them."""
    if len(problems) <= _MAX_PROBLEMS:
        return tuple(problems)
    return (*problems[: _MAX_PROBLEMS - 1], f"... and {len(problems) - _MAX_PROBLEMS + 1} more")


def _event_id(value: object, path: str, problems: list[str]) -> str | None:
    """An id that is not a string: an integer is used as its decimal text, else ignored."""
    if value is None:
        return None
    text = number_text(value)
    if text is None:
        problems.append(f"{path}: expected str, got {value_text(value)} (ignored)")
    else:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"
        problems.append(f"{path}: expected str, got {json_type_name(value)} (read as {shown!r})")
    return text


def _operation_id(value: object, problems: list[str]) -> str:
    """An `operationId` that is not a string, decided as upstream's JavaScript does.

    Upstream compares ``!id || id === operationId``: a falsy value (false, 0) counts as
    absent (the event is the subscriber's own); any other value never equals a string
    id, so the event is foreign. The foreign marker starts with NUL, which no operation
    id the client follows contains.
    """
    if value is None:
        return ""
    path = "agent_event.event.operationId"
    if value is False or (type(value) in (int, float) and value == 0):
        problems.append(f"{path}: expected str, got {value_text(value)} (treated as absent)")
        return ""
    problems.append(f"{path}: expected str, got {value_text(value)} (treated as foreign)")
    return FOREIGN_OPERATION_ID + value_text(value)


def _decode_event(value: object, problems: list[str]) -> AgentEvent:
    path = "agent_event.event"
    if type(value) is not dict:
        problems.append(
            str(missing(path, "object") if value is MISSING else mistyped(path, "object", value))
        )
        return _new_event("", "", 0, 0, None, None)
    event_type, operation_id = value.get("type"), value.get("operationId")
    step_index, timestamp = value.get("stepIndex"), value.get("timestamp")
    event_id = value.get("id")
    if type(event_type) is not str:
        event_type = Lenient(value, path, problems).required_text("type") or ""
    if type(operation_id) is not str:
        operation_id = _operation_id(operation_id, problems)
    if type(step_index) is not int:
        step_index = Lenient(value, path, problems).required_integer("stepIndex", 0)
    if type(timestamp) is not int and type(timestamp) is not float:
        timestamp = Lenient(value, path, problems).required_number("timestamp", 0)
    if event_id is not None and type(event_id) is not str:
        event_id = _event_id(event_id, f"{path}.id", problems)
    return _new_event(event_type, operation_id, step_index, timestamp, value.get("data"), event_id)


def _decode_agent_event(obj: dict[str, Any], problems: list[str]) -> AgentEventMessage:
    event = _decode_event(obj.get("event", MISSING), problems)
    envelope_id = obj.get("id")
    if envelope_id is not None and type(envelope_id) is not str:
        envelope_id = _event_id(envelope_id, "agent_event.id", problems)
    return _new_envelope(event, envelope_id, _problems(problems) if problems else ())


def _decode_auth_failed(obj: dict[str, Any], problems: list[str]) -> AuthFailed:
    reason = obj.get("reason")
    if reason is None:
        reason = ""
    elif type(reason) is not str:
        problems.append(f"auth_failed.reason: expected str, got {json_type_name(reason)}")
        reason = value_text(reason)
    return AuthFailed(reason=redact_secrets(reason), problems=_problems(problems))


def _decode_resume_complete(obj: dict[str, Any], problems: list[str]) -> ResumeComplete:
    raw = obj.get("status", MISSING)
    status = _STATUS_VALUES.get(raw) if type(raw) is str else None
    if status is None:
        allowed = ", ".join(_STATUS_VALUES)
        got = "nothing" if raw is MISSING else value_text(raw)
        problems.append(f"resume_complete.status: expected one of {allowed}, got {got}")
    gap = obj.get("gap", False)
    if type(gap) is not bool:
        problems.append(f"resume_complete.gap: expected a boolean, got {value_text(gap)}")
        gap = False
    return ResumeComplete(status=status, gap=gap, problems=_problems(problems))


def _fieldless(cls: type[_Fieldless]) -> Callable[[dict[str, Any], list[str]], _Fieldless]:
    """The decoder of a message without fields: one shared instance for clean frames."""
    clean = cls()

    def decode_fieldless(obj: dict[str, Any], problems: list[str]) -> _Fieldless:
        return cls(problems=_problems(problems)) if problems else clean

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
    return _from_wire(_load_json(text, max_frame_chars, problems), problems)


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
        message_type = _message_type(obj)  # raises, naming the problem
    decoder = _SERVER_DECODERS.get(message_type)
    if decoder is None:
        return UnknownMessage(type=message_type, payload=obj, problems=_problems(problems))
    return decoder(obj, problems)


def _decode_tool_result(obj: dict[str, Any]) -> ToolResult:
    path = "tool_result"
    content = obj.get("content")
    if content is not None and type(content) is not str:
        raise mistyped(f"{path}.content", "str or null", content)
    error_obj = opt_object(obj, "error", path)
    error = None
    if error_obj is not None:
        error = ToolError(
            message=req_str(error_obj, "message", f"{path}.error"),
            type=opt_str(error_obj, "type", f"{path}.error"),
        )
    return ToolResult(
        tool_call_id=req_str(obj, "toolCallId", path),
        success=req_bool(obj, "success", path),
        content=content,
        error=error,
        state=obj.get("state"),
        work_registration=obj.get("workRegistration"),
    )


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
    "tool_result": _decode_tool_result,
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
    obj = _load_json(text, max_frame_chars, problems)
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
    message_type = _message_type(obj)
    decoder = _CLIENT_DECODERS.get(message_type)
    if decoder is None:
        known = ", ".join(_CLIENT_DECODERS)
        raise ProtocolError(
            f"frame.type: expected one of {known}, got {message_type!r}", path="frame.type"
        )
    return decoder(obj)
