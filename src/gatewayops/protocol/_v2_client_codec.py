"""The hub's side of the protocol v2 codec: client -> hub frames, read strictly.

Owns: `decode_mux_client` (a client frame to a `MuxClientMessage`, used by the reference
gateway's hub) and `mux_client_from_wire` (the same on parsed JSON; the inverse of
`mux_to_wire` for client messages). A server must not guess: an unknown `type`, a
missing, empty or mistyped field, or a number Python cannot hold exactly raises
`ProtocolError` naming it. Unknown extra fields are ignored (a newer client's). Must not
know: sockets, the hub, or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol._fields import json_type_name, opt_bool, opt_str, req_str
from gatewayops.protocol._frame_codec import (
    DEFAULT_MAX_FRAME_CHARS,
    decode_tool_result,
    frame_type,
    load_frame,
)
from gatewayops.protocol._messages import Heartbeat
from gatewayops.protocol._v2_human import ToolConfirmation, UserInput, v2_human_from_wire
from gatewayops.protocol._v2_messages import (
    MuxClientMessage,
    MuxToolResult,
    Subscribe,
    Unsubscribe,
)

__all__ = ["decode_mux_client", "mux_client_from_wire"]


def _operation(obj: dict[str, Any], kind: str) -> str:
    operation_id = req_str(obj, "operationId", kind)
    if not operation_id:
        path = f"{kind}.operationId"
        raise ProtocolError(f"{path}: must not be empty", path=path)
    return operation_id


def _decode_subscribe(obj: dict[str, Any]) -> Subscribe:
    return Subscribe(
        operation_id=_operation(obj, "subscribe"),
        last_event_id=opt_str(obj, "lastEventId", "subscribe") or "",
        executor=opt_bool(obj, "executor", "subscribe"),
    )


def _decode_tool_result_frame(obj: dict[str, Any]) -> MuxToolResult:
    return MuxToolResult(
        operation_id=_operation(obj, "tool_result"), result=decode_tool_result(obj)
    )


def _decode_human(obj: dict[str, Any]) -> MuxClientMessage:
    message = v2_human_from_wire(obj)
    assert isinstance(message, ToolConfirmation | UserInput)
    return message


_CLIENT_DECODERS: dict[str, Callable[[dict[str, Any]], MuxClientMessage]] = {
    "subscribe": _decode_subscribe,
    "unsubscribe": lambda obj: Unsubscribe(operation_id=_operation(obj, "unsubscribe")),
    "heartbeat": lambda obj: Heartbeat(),
    "tool_result": _decode_tool_result_frame,
    "tool_confirmation": _decode_human,
    "user_input": _decode_human,
}


def decode_mux_client(
    text: str | bytes, *, max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS
) -> MuxClientMessage:
    """Decode one client -> hub frame (the reference gateway's side), strictly.

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: malformed, unknown type, a missing, empty or mistyped field, or
            a number Python cannot hold exactly (a server must not guess).
    """
    problems: list[str] = []
    obj = load_frame(text, max_frame_chars, problems)
    if problems:
        raise ProtocolError(problems[0].replace(" read as text", " cannot be read exactly"))
    return mux_client_from_wire(obj)


def mux_client_from_wire(obj: Any) -> MuxClientMessage:
    """The client message for a frame's parsed JSON object (the inverse of `mux_to_wire`).

    Raises:
        ProtocolError: `obj` is not a dict, unknown type, or a missing, empty or
            mistyped field.
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
