"""The protocol v2 frames of a human in the loop, defined for the v2 link to use.

Owns: `ToolConfirmationRequest` -> `ToolConfirmation` and `InputRequest` -> `UserInput`
(PROTOCOL.md 6.2, 7.2 and 7.3) as frozen classes, and their strict JSON halves
(`v2_human_to_wire`, `v2_human_from_wire`), which raise a `ProtocolError` naming the
field. The v2 codec (`_v2_codec`, `_v2_client_codec`) reads and writes them through these
halves; the two hub -> client frames carry `problems` like every hub message (always
``()`` here: the v2 decoder keeps a frame these halves refuse as an `UnknownMessage`).
v1 never receives these frames: the v1 codec decodes them as `UnknownMessage`. Must not
know: v1 frames, sockets, or the store.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol._fields import as_object, req_bool, req_str
from gatewayops.protocol._messages import Problems

__all__ = [
    "InputRequest",
    "ToolConfirmation",
    "ToolConfirmationRequest",
    "UserInput",
    "V2HumanMessage",
    "v2_human_from_wire",
    "v2_human_to_wire",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolConfirmationRequest:
    """Hub -> client: may the agent run `tool` (kept as the hub sends it)?"""

    operation_id: str
    tool_call_id: str
    tool: Any = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolConfirmation:
    """Client -> hub: the answer to a `ToolConfirmationRequest`."""

    operation_id: str
    tool_call_id: str
    approved: bool


@attrs.frozen(kw_only=True, weakref_slot=False)
class InputRequest:
    """Hub -> client: the agent asks for free text."""

    operation_id: str
    request_id: str
    prompt: str
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class UserInput:
    """Client -> hub: the text answering an `InputRequest`."""

    operation_id: str
    request_id: str
    content: str


V2HumanMessage: TypeAlias = ToolConfirmationRequest | ToolConfirmation | InputRequest | UserInput


def v2_human_to_wire(message: V2HumanMessage) -> dict[str, Any]:
    """The JSON object of a frame (camelCase keys, `type` first)."""
    match message:
        case ToolConfirmationRequest():
            return {
                "type": "tool_confirmation_request",
                "operationId": message.operation_id,
                "toolCallId": message.tool_call_id,
                "tool": message.tool,
            }
        case ToolConfirmation():
            return {
                "type": "tool_confirmation",
                "operationId": message.operation_id,
                "toolCallId": message.tool_call_id,
                "approved": message.approved,
            }
        case InputRequest():
            return {
                "type": "input_request",
                "operationId": message.operation_id,
                "requestId": message.request_id,
                "prompt": message.prompt,
            }
        case UserInput():
            return {
                "type": "user_input",
                "operationId": message.operation_id,
                "requestId": message.request_id,
                "content": message.content,
            }


def v2_human_from_wire(value: object) -> V2HumanMessage:
    """The frame a JSON object holds.

    Raises:
        ProtocolError: not an object, an unknown `type`, or a field missing or
            mistyped (the error names it, e.g. ``user_input.content``).
    """
    wire = as_object(value, "frame")
    kind = req_str(wire, "type", "frame")
    operation_id = req_str(wire, "operationId", kind)
    if kind == "tool_confirmation_request":
        call_id = req_str(wire, "toolCallId", kind)
        return ToolConfirmationRequest(
            operation_id=operation_id, tool_call_id=call_id, tool=wire.get("tool")
        )
    if kind == "tool_confirmation":
        return ToolConfirmation(
            operation_id=operation_id,
            tool_call_id=req_str(wire, "toolCallId", kind),
            approved=req_bool(wire, "approved", kind),
        )
    if kind == "input_request":
        return InputRequest(
            operation_id=operation_id,
            request_id=req_str(wire, "requestId", kind),
            prompt=req_str(wire, "prompt", kind),
        )
    if kind == "user_input":
        return UserInput(
            operation_id=operation_id,
            request_id=req_str(wire, "requestId", kind),
            content=req_str(wire, "content", kind),
        )
    raise ProtocolError(f"frame.type: {kind!r} is not a v2 human-in-the-loop frame", path="type")
