"""Round trips of the v1 codec: every message survives encode -> decode unchanged."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    ClientMessage,
    EventType,
    ServerMessage,
    ToolResult,
    UnknownMessage,
    decode,
    decode_client,
    encode,
    to_wire,
)
from gatewayops.testing import strategies as gs


@given(gs.server_messages())
def test_server_messages_round_trip(message: ServerMessage) -> None:
    """decode(encode(m)) == m for every server message, unknown ones' payload included."""
    decoded = decode(encode(message))
    assert decoded == message
    if isinstance(message, UnknownMessage):
        assert isinstance(decoded, UnknownMessage)
        assert decoded.payload == message.payload


@given(gs.client_messages())
def test_client_messages_round_trip(message: ClientMessage) -> None:
    """decode_client(encode(m)) == m for every client message."""
    assert decode_client(encode(message)) == message


@pytest.mark.parametrize("event_type", [t.value for t in EventType])
@settings(max_examples=25)
@given(data=st.data())
def test_agent_events_of_every_type_round_trip(event_type: str, data: st.DataObject) -> None:
    """Each event type, with its realistic data, round-trips inside an agent_event."""
    message = data.draw(gs.agent_event_messages(event_types=[event_type]))
    assert decode(encode(message)) == message


@given(gs.server_messages())
def test_encoding_is_stable(message: ServerMessage) -> None:
    """Encoding a decoded frame reproduces the frame byte for byte."""
    frame = encode(message)
    assert encode(decode(frame)) == frame


@given(gs.server_messages())
def test_encode_is_compact_json_of_to_wire(message: ServerMessage) -> None:
    """encode() is the compact JSON text of to_wire(), with no newline."""
    frame = encode(message)
    assert json.loads(frame) == to_wire(message)
    assert frame == json.dumps(to_wire(message), separators=(",", ":"))
    assert "\n" not in frame


def test_decode_accepts_bytes() -> None:
    """A UTF-8 bytes frame decodes like the equivalent text frame."""
    frame = '{"type":"auth_failed","reason":"caf\u00e9"}'
    assert decode(frame.encode()) == decode(frame)


def test_agent_event_wire_uses_camel_case_and_omits_absent_ids() -> None:
    """Events are written with camelCase keys; absent ids are left out, data is kept."""
    message = AgentEventMessage(
        event=AgentEvent(type="stream_end", operation_id="op-1", step_index=2, timestamp=5)
    )
    assert json.loads(encode(message)) == {
        "type": "agent_event",
        "event": {
            "type": "stream_end",
            "operationId": "op-1",
            "stepIndex": 2,
            "timestamp": 5,
            "data": None,
        },
    }


def test_tool_result_wire_omits_absent_optionals() -> None:
    """A bare tool_result writes content as null and leaves error, state and
    workRegistration out."""
    wire = json.loads(encode(ToolResult(tool_call_id="call_1", success=True)))
    assert wire == {"type": "tool_result", "toolCallId": "call_1", "success": True, "content": None}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_encode_refuses_non_finite_floats(value: float) -> None:
    """encode() never writes NaN or Infinity, which are not JSON."""
    message = AgentEventMessage(event=AgentEvent(type="stream_end", timestamp=value))
    with pytest.raises(ValueError, match="JSON"):
        encode(message)
