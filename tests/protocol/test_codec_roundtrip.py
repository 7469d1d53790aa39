"""Round trips of the v1 codec: every message survives encode -> decode unchanged.

The one exception is by design: the decoder redacts secrets from an `auth_failed`
reason, so a reason holding one comes back redacted (`as_received`). Numbers Python
cannot hold, kept as `NumberText` in raw data, are written back as their literals.
"""

from __future__ import annotations

import json

import attrs
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.protocol import (
    REDACTED,
    AgentEvent,
    AgentEventMessage,
    AuthFailed,
    ClientMessage,
    EventType,
    NumberText,
    ServerMessage,
    ToolResult,
    UnknownMessage,
    decode,
    decode_client,
    encode,
    encode_json,
    redact_secrets,
    to_wire,
)
from gatewayops.testing import strategies as gs

TOKEN = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
BIG = "9" * 5000  # over Python's 4,300-digit limit for int <-> str


def as_received(message: ServerMessage) -> ServerMessage:
    """`message` as the decoder gives it back: an auth_failed reason has its secrets redacted."""
    if isinstance(message, AuthFailed):
        return attrs.evolve(message, reason=redact_secrets(message.reason))
    return message


@given(gs.server_messages())
def test_server_messages_round_trip(message: ServerMessage) -> None:
    """decode(encode(m)) == m for every server message (an auth_failed reason redacted),
    unknown ones' payload included, with no problems."""
    decoded = decode(encode(message))
    assert decoded == as_received(message)
    assert decoded.problems == ()
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
    """Encoding a decoded frame reproduces the frame byte for byte (a frame with a secret in
    an auth_failed reason is reproduced redacted, and that frame is then stable)."""
    frame = encode(as_received(message))
    assert encode(decode(frame)) == frame
    assert encode(decode(encode(message))) == frame


@given(st.text(max_size=20), st.text(max_size=20))
def test_auth_failed_reason_comes_back_redacted(before: str, after: str) -> None:
    """A JWT anywhere in an auth_failed reason does not survive encode -> decode; the text
    around it does."""
    message = decode(encode(AuthFailed(reason=f"{before} {TOKEN} {after}")))
    assert isinstance(message, AuthFailed)
    assert TOKEN not in message.reason
    assert message == AuthFailed(reason=redact_secrets(f"{before} {TOKEN} {after}"))
    assert REDACTED in message.reason


@given(gs.server_messages())
def test_encode_is_compact_json_of_to_wire(message: ServerMessage) -> None:
    """encode() is the compact JSON text of to_wire(), with no newline."""
    frame = encode(message)
    assert json.loads(frame) == to_wire(message)
    assert frame == json.dumps(to_wire(message), separators=(",", ":"))
    assert frame == encode_json(to_wire(message))
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


HUGE_FRAMES = [
    pytest.param(
        '{"type":"agent_event","event":{"type":"agent_runtime_end","operationId":"op-1",'
        '"stepIndex":3,"timestamp":1700000000000,"data":{"reason":"completed",'
        '"usage":{"tokens":' + BIG + ',"cost":1e400}},"id":"7"},"id":"42"}',
        id="agent-event-data",
    ),
    pytest.param(
        '{"type":"status_change","value":[-' + BIG + ',-1e400],"at":1.5}', id="unknown-payload"
    ),
]


@pytest.mark.parametrize("frame", HUGE_FRAMES)
def test_unholdable_numbers_survive_a_round_trip(frame: str) -> None:
    """A frame whose raw data holds numbers Python cannot hold, decoded, written back with
    to_wire + encode_json and decoded again, gives an equal message with the same
    (frame-level) problems: every digit of those numbers is kept."""
    received = decode(frame)
    assert len(received.problems) == 2
    again = decode(encode_json(to_wire(received)))
    assert again == received
    assert again.problems == received.problems


@pytest.mark.parametrize("frame", HUGE_FRAMES)
def test_encode_reproduces_a_frame_with_unholdable_numbers(frame: str) -> None:
    """encode() of such a decoded (compact) frame reproduces it byte for byte."""
    assert encode(decode(frame)) == frame


def test_number_text_in_event_data_is_written_as_a_number() -> None:
    """A NumberText in an event's data is encoded as the bare number, not as a string."""
    message = AgentEventMessage(
        event=AgentEvent(type="stream_end", operation_id="op-1", data={"n": NumberText(BIG)})
    )
    assert encode(message) == (
        '{"type":"agent_event","event":{"type":"stream_end","operationId":"op-1",'
        '"stepIndex":0,"timestamp":0,"data":{"n":' + BIG + "}}}"
    )


def test_huge_integer_id_is_sent_back_as_the_string_it_was_read_as() -> None:
    """A 5,000-digit envelope id is read as its digits; written back it is that string,
    which then decodes cleanly to the same id."""
    event = '{"type":"x","operationId":"op-1","stepIndex":0,"timestamp":1}'
    received = decode('{"type":"agent_event","event":' + event + ',"id":' + BIG + "}")
    assert isinstance(received, AgentEventMessage)
    assert received.id == BIG
    assert to_wire(received)["id"] == BIG
    again = decode(encode(received))
    assert again == attrs.evolve(received, problems=())
