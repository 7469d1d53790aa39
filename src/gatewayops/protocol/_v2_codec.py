"""The JSON codec for protocol v2 ("mux"), in both directions.

Owns: `decode_mux` (hub frame to a `MuxServerMessage`, used by the client) and its half
on parsed JSON, `mux_from_wire`. Writing any v2 frame (`encode_mux`, `mux_to_wire`) is
`_v2_encoding`; reading the client's frames (`decode_mux_client`) is `_v2_client_codec`. It
shares v1's frame reading (size limit, strict JSON, numbers kept as text), its event
decoder and its `tool_result` fields (`_frame_codec`), so both versions read a field the
same way.

The rules are v1's (see `_codec`): the hub side is lenient on what decides an
operation's life -- the `type`, the envelope's `operationId` and terminal-ness -- and
strict on detail, which it degrades and lists in the message's `problems`; only a frame
whose `type` cannot be read raises `ProtocolError` (a bad frame; the socket stays up).
A v2 reading of what decides a life:

* an envelope `operationId` that is missing becomes ``""`` and one that is not a string
  becomes `FOREIGN_OPERATION_ID` + its JSON: neither routes to any subscription;
* `agent_event`: the hub omits `event.operationId` when it equals the envelope's, and
  the decoder restores it (an empty or falsy one counts as omitted);
* an `id` may be a string or an integer (read as its decimal text);
* `resume_complete.pending` and `.gap` are read as upstream's JavaScript reads them: a
  non-boolean is a problem and counts by its truthiness.

Must not know: sockets or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from gatewayops._frozen import builder
from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import ProtocolError
from gatewayops.protocol._fields import (
    MISSING,
    Lenient,
    json_type_name,
    missing,
    mistyped,
    value_text,
)
from gatewayops.protocol._frame_codec import (
    DEFAULT_MAX_FRAME_CHARS,
    FOREIGN_OPERATION_ID,
    STATUS_VALUES,
    capped_problems,
    decode_event,
    frame_type,
    load_frame,
    read_id,
)
from gatewayops.protocol._messages import (
    HeartbeatAck,
    SessionStatus,
    UnknownMessage,
)
from gatewayops.protocol._v2_human import (
    InputRequest,
    ToolConfirmationRequest,
    v2_human_from_wire,
)
from gatewayops.protocol._v2_messages import (
    GONE_STATUS,
    MUX_PROTOCOL,
    HubError,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    OpLifecycle,
    Ready,
    StatusChange,
    SubscribeFailed,
)

__all__ = ["decode_mux", "mux_from_wire"]

# The decoder's hot path builds envelopes from fields it has already type-checked.
_new_envelope = builder(MuxAgentEvent)
_Message = MuxClientMessage | MuxServerMessage


# --------------------------------------------------------------------------- hub -> client


def _envelope_operation(obj: dict[str, Any], kind: str, problems: list[str]) -> str:
    value = obj.get("operationId", MISSING)
    if type(value) is str:
        return value
    path = f"{kind}.operationId"
    if value is MISSING:
        problems.append(f"{missing(path, 'str')} (routed nowhere)")
        return ""
    problems.append(f"{mistyped(path, 'str', value)} (routed nowhere)")
    return FOREIGN_OPERATION_ID + value_text(value)


def _mux_id(obj: dict[str, Any], kind: str, problems: list[str]) -> str | None:
    value = obj.get("id")
    if value is None or type(value) is str:
        return value
    if type(value) is int and abs(value) < 10**18:
        return str(value)
    return read_id(value, f"{kind}.id", problems)


def _status(obj: dict[str, Any], kind: str, problems: list[str]) -> SessionStatus | None:
    raw = obj.get("status", MISSING)
    status = STATUS_VALUES.get(raw) if type(raw) is str else None
    if status is None and raw is not MISSING:
        allowed = ", ".join(STATUS_VALUES)
        problems.append(f"{kind}.status: expected one of {allowed}, got {value_text(raw)}")
    return status


def _truthy(obj: dict[str, Any], key: str, kind: str, problems: list[str]) -> bool:
    """An optional boolean, read as JavaScript reads ``if (msg.key)`` when it is not one."""
    value = obj.get(key)
    if value is None or type(value) is bool:
        return bool(value)
    truth = value not in (0, "")
    problems.append(
        f"{kind}.{key}: expected bool, got {value_text(value)} (read as {str(truth).lower()})"
    )
    return truth


def _decode_ready(obj: dict[str, Any], problems: list[str]) -> Ready:
    read = Lenient(obj, "ready", problems)
    return Ready(
        user_id=read.required_text("userId") or "",
        connection_id=read.required_text("connectionId") or "",
        protocol=read.required_integer("protocol", MUX_PROTOCOL),
        problems=capped_problems(problems),
    )


def _decode_agent_event(obj: dict[str, Any], problems: list[str]) -> MuxAgentEvent:
    operation_id = obj.get("operationId")
    if type(operation_id) is not str:
        operation_id = _envelope_operation(obj, "agent_event", problems)
    raw = obj.get("event", MISSING)
    if type(raw) is dict and raw.get("operationId") is None:  # omitted: the envelope's
        raw = {**raw, "operationId": operation_id}
    event = decode_event(raw, problems)
    if not event.operation_id:  # "" or a falsy non-string: the envelope's too
        event = attrs.evolve(event, operation_id=operation_id)
    event_id = obj.get("id")
    if event_id is not None and type(event_id) is not str:
        event_id = _mux_id(obj, "agent_event", problems)
    return _new_envelope(
        operation_id, event, event_id, capped_problems(problems) if problems else ()
    )


def _decode_session_complete(obj: dict[str, Any], problems: list[str]) -> MuxSessionComplete:
    operation_id = _envelope_operation(obj, "session_complete", problems)
    return MuxSessionComplete(
        operation_id=operation_id,
        id=_mux_id(obj, "session_complete", problems),
        summary=obj.get("summary"),
        problems=capped_problems(problems),
    )


def _decode_status_change(obj: dict[str, Any], problems: list[str]) -> StatusChange:
    kind = "status_change"
    operation_id = _envelope_operation(obj, kind, problems)
    event_id = _mux_id(obj, kind, problems)
    status = _status(obj, kind, problems)
    if status is None and "status" not in obj:
        problems.append(f"{missing(f'{kind}.status', 'str')}")
    return StatusChange(
        operation_id=operation_id, status=status, id=event_id, problems=capped_problems(problems)
    )


def _decode_resume_complete(obj: dict[str, Any], problems: list[str]) -> MuxResumeComplete:
    kind = "resume_complete"
    operation_id = _envelope_operation(obj, kind, problems)
    status = _status(obj, kind, problems)
    if "gap" not in obj:
        problems.append(f"{missing(f'{kind}.gap', 'bool')} (read as false)")
    return MuxResumeComplete(
        operation_id=operation_id,
        status=status,
        gap=_truthy(obj, "gap", kind, problems),
        pending=_truthy(obj, "pending", kind, problems),
        problems=capped_problems(problems),
    )


def _decode_subscribe_failed(obj: dict[str, Any], problems: list[str]) -> SubscribeFailed:
    kind = "subscribe_failed"
    operation_id = _envelope_operation(obj, kind, problems)
    reason = obj.get("reason", MISSING)
    if type(reason) is not str:
        problem = missing(f"{kind}.reason", "str") if reason is MISSING else None
        if problem is None:
            problem = mistyped(f"{kind}.reason", "str", reason)
        problems.append(str(problem))
        reason = "" if reason is MISSING else value_text(reason)
    return SubscribeFailed(
        operation_id=operation_id, reason=redact_secrets(reason), problems=capped_problems(problems)
    )


def _decode_lifecycle(obj: dict[str, Any], problems: list[str]) -> OpLifecycle:
    kind = "op_lifecycle"
    operation_id = _envelope_operation(obj, kind, problems)
    gone = obj.get("status") == GONE_STATUS
    status = None if gone else _status(obj, kind, problems)
    if status is None and not gone and "status" not in obj:
        problems.append(f"{missing(f'{kind}.status', 'str')}")
    return OpLifecycle(
        operation_id=operation_id,
        status=status,
        gone=gone,
        at=Lenient(obj, kind, problems).required_number("at", 0),
        meta=obj.get("meta"),
        summary=obj.get("summary"),
        problems=capped_problems(problems),
    )


def _decode_error(obj: dict[str, Any], problems: list[str]) -> HubError:
    read = Lenient(obj, "error", problems)
    operation_id = None
    if obj.get("operationId") is not None:
        operation_id = _envelope_operation(obj, "error", problems)
    return HubError(
        code=read.required_text("code") or "",
        message=redact_secrets(read.text_or("message", "")),
        operation_id=operation_id,
        problems=capped_problems(problems),
    )


def _decode_heartbeat_ack(obj: dict[str, Any], problems: list[str]) -> HeartbeatAck:
    return HeartbeatAck(problems=capped_problems(problems))


def _decode_human(obj: dict[str, Any], problems: list[str]) -> MuxServerMessage:
    """A confirmation or input request; one whose fields do not read cannot be answered,
    so it is kept as an `UnknownMessage` naming the field (it decides no lifecycle)."""
    try:
        message = v2_human_from_wire(obj)
    except ProtocolError as error:
        problems.append(f"{error} (kept as an unknown message)")
        return UnknownMessage(type=obj["type"], payload=obj, problems=capped_problems(problems))
    assert isinstance(message, ToolConfirmationRequest | InputRequest)
    return attrs.evolve(message, problems=capped_problems(problems)) if problems else message


_SERVER_DECODERS: dict[str, Callable[[dict[str, Any], list[str]], MuxServerMessage]] = {
    "ready": _decode_ready,
    "agent_event": _decode_agent_event,
    "session_complete": _decode_session_complete,
    "status_change": _decode_status_change,
    "resume_complete": _decode_resume_complete,
    "subscribe_failed": _decode_subscribe_failed,
    "op_lifecycle": _decode_lifecycle,
    "heartbeat_ack": _decode_heartbeat_ack,
    "error": _decode_error,
    "tool_confirmation_request": _decode_human,
    "input_request": _decode_human,
}


def decode_mux(
    text: str | bytes, *, max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS
) -> MuxServerMessage:
    """Decode one hub -> client frame, leniently (see the module docstring).

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: not even the frame's type can be read (malformed JSON, not an
            object, no string `type`); the message names the problem.
    """
    problems: list[str] = []
    return _from_wire(load_frame(text, max_frame_chars, problems), problems)


def mux_from_wire(obj: dict[str, Any]) -> MuxServerMessage:
    """The hub message for a frame's parsed JSON object (the inverse of `mux_to_wire`).

    Raises:
        ProtocolError: `obj` is not a dict, or has no string `type`.
    """
    return _from_wire(obj, [])


def _from_wire(obj: Any, problems: list[str]) -> MuxServerMessage:
    if type(obj) is not dict:
        raise ProtocolError(f"frame: expected object, got {json_type_name(obj)}")
    message_type = frame_type(obj)
    decoder = _SERVER_DECODERS.get(message_type)
    if decoder is None:
        return UnknownMessage(type=message_type, payload=obj, problems=capped_problems(problems))
    return decoder(obj, problems)
