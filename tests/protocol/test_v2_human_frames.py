"""The v2 human-in-the-loop frames: round trips and the errors that name a bad field."""

from __future__ import annotations

import pytest

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    InputRequest,
    ToolConfirmation,
    ToolConfirmationRequest,
    UnknownMessage,
    UserInput,
    V2HumanMessage,
    decode,
    v2_human_from_wire,
    v2_human_to_wire,
)

FRAMES: list[V2HumanMessage] = [
    ToolConfirmationRequest(operation_id="op", tool_call_id="t", tool={"name": "rm"}),
    ToolConfirmation(operation_id="op", tool_call_id="t", approved=False),
    InputRequest(operation_id="op", request_id="r", prompt="Your name?"),
    UserInput(operation_id="op", request_id="r", content="Ada"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda frame: type(frame).__name__)
def test_each_frame_survives_a_round_trip(frame: V2HumanMessage) -> None:
    """to_wire then from_wire gives the same frame back."""
    assert v2_human_from_wire(v2_human_to_wire(frame)) == frame


def test_the_wire_keys_are_camel_case() -> None:
    """A `user_input` frame has the wire keys of PROTOCOL.md 7.2."""
    wire = v2_human_to_wire(UserInput(operation_id="op", request_id="r", content="x"))
    assert wire == {"type": "user_input", "operationId": "op", "requestId": "r", "content": "x"}


def test_a_mistyped_field_is_named() -> None:
    """A `tool_confirmation` whose `approved` is not a boolean names that field."""
    wire = {"type": "tool_confirmation", "operationId": "op", "toolCallId": "t", "approved": 1}
    with pytest.raises(ProtocolError, match=r"tool_confirmation\.approved: expected bool"):
        v2_human_from_wire(wire)


def test_another_type_is_refused_by_name() -> None:
    """A frame of another type is refused, naming the type."""
    with pytest.raises(ProtocolError, match="'heartbeat' is not a v2 human"):
        v2_human_from_wire({"type": "heartbeat", "operationId": "op"})


def test_v1_does_not_receive_them() -> None:
    """The v1 decoder keeps a v2 frame as an UnknownMessage (forward compatibility)."""
    message = decode('{"type": "input_request", "operationId": "op", "requestId": "r"}')
    assert isinstance(message, UnknownMessage)
    assert message.type == "input_request"
