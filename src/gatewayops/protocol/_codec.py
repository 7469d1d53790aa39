"""The JSON codec for protocol v1, in both directions.

Owns: `encode` (any message to one JSON text frame), `decode` (server frame to a
`ServerMessage`, used by the client) and `decode_client` (client frame to a
`ClientMessage`, used by the reference gateway), and their halves on parsed JSON:
`to_wire`, and `from_wire` / `client_from_wire` (a frame's JSON object to a message;
`decode` and `decode_client` are a strict `json.loads` followed by them). Decoding is
strict about the fields it reads and names the offending one in a `ProtocolError`;
unknown extra fields are ignored and an unknown `type` decodes to `UnknownMessage`
(server side) so a newer gateway never breaks an older client. Must not know: sockets or the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gatewayops._frozen import builder
from gatewayops.exceptions import FrameTooLarge, ProtocolError
from gatewayops.protocol._fields import (
    MISSING,
    as_object,
    json_type_name,
    missing,
    mistyped,
    opt_object,
    opt_str,
    req_bool,
    req_int,
    req_number,
    req_str,
)
from gatewayops.protocol._json import STRICT_JSON_DECODER, STRICT_JSON_ENCODER
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
        case ResumeComplete(status=status):
            return {"type": "resume_complete", "status": status.value}
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
    return STRICT_JSON_ENCODER.encode(to_wire(message))


# --------------------------------------------------------------------------- decoding


def _load_json(text: str | bytes, max_frame_chars: int) -> Any:
    """The JSON value of a frame (strict); `from_wire` checks that it is an object."""
    if len(text) > max_frame_chars:
        raise FrameTooLarge(f"frame: {len(text)} characters is over the limit of {max_frame_chars}")
    try:
        if not isinstance(text, str):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        obj = STRICT_JSON_DECODER.decode(text)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN, overflow
        raise ProtocolError(f"frame: malformed JSON ({error})") from None
    except RecursionError:
        raise ProtocolError("frame: malformed JSON (nested too deeply)") from None
    return obj


def _message_type(obj: dict[str, Any]) -> str:
    message_type = obj.get("type", MISSING)
    if type(message_type) is str:
        return message_type
    if message_type is MISSING:
        raise missing("frame.type", "str")
    raise mistyped("frame.type", "str", message_type)


def _decode_event(value: object) -> AgentEvent:
    if type(value) is dict:  # the hot path: every field present and well typed
        event_type, operation_id = value.get("type"), value.get("operationId")
        step_index, timestamp = value.get("stepIndex"), value.get("timestamp")
        event_id = value.get("id")
        if (
            type(event_type) is str
            and type(operation_id) is str
            and type(step_index) is int
            and (type(timestamp) is int or type(timestamp) is float)
            and (event_id is None or type(event_id) is str)
        ):
            data = value.get("data")
            return _new_event(event_type, operation_id, step_index, timestamp, data, event_id)
    return _decode_event_checked(value)


def _decode_event_checked(value: object) -> AgentEvent:
    """`_decode_event` field by field: the same result, or the error naming the field."""
    path = "agent_event.event"
    event = as_object(value, path)
    event_id = event.get("id")
    if event_id is not None and type(event_id) is not str:
        raise mistyped(f"{path}.id", "str", event_id)
    return AgentEvent(
        type=req_str(event, "type", path),
        operation_id=opt_str(event, "operationId", path) or "",
        step_index=req_int(event, "stepIndex", path),
        timestamp=req_number(event, "timestamp", path),
        data=event.get("data"),
        id=event_id,
    )


def _decode_agent_event(obj: dict[str, Any]) -> AgentEventMessage:
    if "event" not in obj:
        raise missing("agent_event.event", "object")
    event = _decode_event(obj["event"])
    envelope_id = obj.get("id")
    if envelope_id is not None and type(envelope_id) is not str:
        raise mistyped("agent_event.id", "str", envelope_id)
    return _new_envelope(event, envelope_id)


def _decode_resume_complete(obj: dict[str, Any]) -> ResumeComplete:
    raw = req_str(obj, "status", "resume_complete")
    status = _STATUS_VALUES.get(raw)
    if status is None:
        allowed = ", ".join(_STATUS_VALUES)
        raise ProtocolError(
            f"resume_complete.status: expected one of {allowed}, got {raw!r}",
            path="resume_complete.status",
        )
    return ResumeComplete(status=status)


_SERVER_DECODERS: dict[str, Callable[[dict[str, Any]], ServerMessage]] = {
    "auth_success": lambda obj: AuthSuccess(),
    "auth_failed": lambda obj: AuthFailed(reason=opt_str(obj, "reason", "auth_failed") or ""),
    "auth_expired": lambda obj: AuthExpired(),
    "heartbeat_ack": lambda obj: HeartbeatAck(),
    "agent_event": _decode_agent_event,
    "session_complete": lambda obj: SessionComplete(),
    "resume_complete": _decode_resume_complete,
}


def decode(text: str | bytes, *, max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS) -> ServerMessage:
    """Decode one server -> client frame.

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: malformed JSON, not an object, or a field the message needs is
            missing or mistyped; the message names the field and the expected type.
    """
    return from_wire(_load_json(text, max_frame_chars))


def from_wire(obj: dict[str, Any]) -> ServerMessage:
    """The server message for a frame's parsed JSON object (the inverse of `to_wire`).

    `decode` is `json.loads` followed by this; use it when the frame is already parsed.
    The object's values are taken as they are (not copied): `data` and an unknown
    message's payload share them.

    Raises:
        ProtocolError: `obj` is not a dict, or a field the message needs is missing or
            mistyped; the message names the field and the expected type.
    """
    if type(obj) is not dict:
        raise ProtocolError(f"frame: expected object, got {json_type_name(obj)}")
    message_type = obj.get("type")
    if type(message_type) is not str:
        message_type = _message_type(obj)  # raises, naming the problem
    decoder = _SERVER_DECODERS.get(message_type)
    if decoder is None:
        return UnknownMessage(type=message_type, payload=obj)
    return decoder(obj)


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

    Unlike `decode`, an unknown `type` is an error: a server must not guess.

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: malformed, unknown type, or a missing or mistyped field.
    """
    return client_from_wire(_load_json(text, max_frame_chars))


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
