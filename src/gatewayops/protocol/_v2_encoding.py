"""Writing protocol v2 ("mux") frames: any v2 message to its JSON.

Owns: `mux_to_wire` (a v2 message to its JSON object, camelCase keys, each optional field
present only when set, as PROTOCOL.md 7.2-7.3 say) and `encode_mux` (the same as one
compact JSON text frame). The hub omits an event's `operationId` when it is the
envelope's; v1's frames that v2 reuses are written by v1's `to_wire`, #14's confirmation
and input frames by `v2_human_to_wire`. Must not know: reading frames, sockets, or the
store.
"""

from __future__ import annotations

from typing import Any

from gatewayops.protocol._codec import to_wire
from gatewayops.protocol._frame_codec import event_to_wire, tool_result_to_wire
from gatewayops.protocol._json import encode_json
from gatewayops.protocol._messages import Heartbeat, HeartbeatAck, UnknownMessage
from gatewayops.protocol._v2_human import (
    InputRequest,
    ToolConfirmation,
    ToolConfirmationRequest,
    UserInput,
    v2_human_to_wire,
)
from gatewayops.protocol._v2_messages import (
    GONE_STATUS,
    HubError,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    MuxToolResult,
    OpLifecycle,
    Ready,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    Unsubscribe,
)

__all__ = ["encode_mux", "mux_to_wire"]

_Message = MuxClientMessage | MuxServerMessage


def _with_id(wire: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    if event_id is not None:
        wire["id"] = event_id
    return wire


def _with_opaque(wire: dict[str, Any], **values: Any) -> dict[str, Any]:
    wire.update((key, value) for key, value in values.items() if value is not None)
    return wire


def _agent_event_to_wire(message: MuxAgentEvent) -> dict[str, Any]:
    event = event_to_wire(message.event)
    if event["operationId"] in ("", message.operation_id):
        del event["operationId"]  # the hub omits it; the decoder restores it
    wire = {"type": "agent_event", "operationId": message.operation_id, "event": event}
    return _with_id(wire, message.id)


def _lifecycle_to_wire(message: OpLifecycle) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": "op_lifecycle", "operationId": message.operation_id}
    if message.gone:
        wire["status"] = GONE_STATUS
    elif message.status is not None:
        wire["status"] = message.status.value
    wire["at"] = message.at
    return _with_opaque(wire, meta=message.meta, summary=message.summary)


def mux_to_wire(message: _Message) -> dict[str, Any]:
    """The JSON object for a v2 `message`, with camelCase field names as upstream."""
    match message:
        case Subscribe(operation_id=operation_id, last_event_id=cursor, executor=executor):
            wire: dict[str, Any] = {"type": "subscribe", "operationId": operation_id}
            if cursor:
                wire["lastEventId"] = cursor
            if executor:
                wire["executor"] = True
            return wire
        case Unsubscribe(operation_id=operation_id):
            return {"type": "unsubscribe", "operationId": operation_id}
        case MuxToolResult(operation_id=operation_id, result=result):
            fields = tool_result_to_wire(result)
            return {"type": fields.pop("type"), "operationId": operation_id, **fields}
        case Heartbeat() | HeartbeatAck() | UnknownMessage():
            return to_wire(message)
        case ToolConfirmation() | UserInput() | ToolConfirmationRequest() | InputRequest():
            return v2_human_to_wire(message)
        case Ready(user_id=user_id, connection_id=connection_id, protocol=protocol):
            return {
                "type": "ready",
                "userId": user_id,
                "connectionId": connection_id,
                "protocol": protocol,
            }
        case MuxAgentEvent():
            return _agent_event_to_wire(message)
        case MuxSessionComplete(operation_id=operation_id, id=event_id, summary=summary):
            wire = _with_id({"type": "session_complete", "operationId": operation_id}, event_id)
            return _with_opaque(wire, summary=summary)
        case StatusChange(operation_id=operation_id, id=event_id, status=status):
            wire = _with_id({"type": "status_change", "operationId": operation_id}, event_id)
            if status is not None:
                wire["status"] = status.value
            return wire
        case MuxResumeComplete(operation_id=operation_id, status=status, gap=gap):
            wire = {"type": "resume_complete", "operationId": operation_id}
            if status is not None:
                wire["status"] = status.value
            wire["gap"] = gap
            if message.pending:
                wire["pending"] = True
            return wire
        case SubscribeFailed(operation_id=operation_id, reason=reason):
            return {"type": "subscribe_failed", "operationId": operation_id, "reason": reason}
        case OpLifecycle():
            return _lifecycle_to_wire(message)
        case HubError(code=code, message=text, operation_id=operation_id):
            wire = {"type": "error", "code": code, "message": text}
            return _with_opaque(wire, operationId=operation_id)
    raise TypeError(f"not a protocol v2 message: {message!r}")  # pragma: no cover


def encode_mux(message: _Message) -> str:
    """One JSON text frame for a v2 `message` (compact, no trailing newline).

    Raises:
        ValueError: a float in the message is NaN or infinite (not JSON), or a value
            holds a circular reference.
        TypeError: an opaque value (`data`, `summary`, `meta`...) is not JSON.
    """
    return encode_json(mux_to_wire(message))
