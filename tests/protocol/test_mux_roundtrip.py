"""Round trips and wire shapes of the protocol v2 codec (PROTOCOL.md 7.2, 7.3).

Every v2 message survives encode -> decode unchanged, except by design: a secret in a
`subscribe_failed` reason or a hub `error` message comes back redacted.
"""

from __future__ import annotations

import json

import attrs
import jwt
import pytest
from hypothesis import given

from gatewayops.protocol import (
    REDACTED,
    AgentEvent,
    Heartbeat,
    HubError,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    OpLifecycle,
    SessionStatus,
    Subscribe,
    SubscribeFailed,
    ToolResult,
    UnknownMessage,
    decode_mux,
    decode_mux_client,
    encode_mux,
    mux_from_wire,
    mux_to_wire,
    redact_secrets,
)
from gatewayops.protocol import MuxToolResult as MuxTool
from gatewayops.testing import strategies as gs

TOKEN = jwt.encode({"sub": "user-1"}, "k" * 32, algorithm="HS256")


def as_received(message: MuxServerMessage) -> MuxServerMessage:
    """`message` as the decoder gives it back: secrets in free text are redacted."""
    if isinstance(message, SubscribeFailed):
        return attrs.evolve(message, reason=redact_secrets(message.reason))
    if isinstance(message, HubError):
        return attrs.evolve(message, message=redact_secrets(message.message))
    return message


@given(gs.mux_server_messages())
def test_hub_messages_round_trip(message: MuxServerMessage) -> None:
    """decode_mux(encode_mux(m)) == m for every hub message, with no problems."""
    decoded = decode_mux(encode_mux(message))
    assert decoded == as_received(message)
    assert decoded.problems == ()
    if isinstance(message, UnknownMessage):
        assert isinstance(decoded, UnknownMessage)
        assert decoded.payload == message.payload


@given(gs.mux_client_messages())
def test_client_messages_round_trip(message: MuxClientMessage) -> None:
    """decode_mux_client(encode_mux(m)) == m for every client message."""
    assert decode_mux_client(encode_mux(message)) == message


@given(gs.mux_server_messages())
def test_from_wire_is_the_inverse_of_to_wire(message: MuxServerMessage) -> None:
    """mux_from_wire(mux_to_wire(m)) == m on parsed JSON, without a text round trip."""
    assert mux_from_wire(mux_to_wire(message)) == as_received(message)


def test_heartbeat_is_exactly_the_upstream_bytes() -> None:
    """A v2 heartbeat is exactly {"type":"heartbeat"} (PROTOCOL.md 7.1)."""
    assert encode_mux(Heartbeat()) == '{"type":"heartbeat"}'


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (Subscribe(operation_id="op-1"), {"type": "subscribe", "operationId": "op-1"}),
        (
            Subscribe(operation_id="op-1", last_event_id="7"),
            {"type": "subscribe", "operationId": "op-1", "lastEventId": "7"},
        ),
        (
            Subscribe(operation_id="op-1", executor=True),
            {"type": "subscribe", "operationId": "op-1", "executor": True},
        ),
    ],
)
def test_subscribe_carries_optional_fields_only_when_set(
    message: Subscribe, wire: dict[str, object]
) -> None:
    """`lastEventId` and `executor` are on the wire only when set (PROTOCOL.md 7.2)."""
    assert json.loads(encode_mux(message)) == wire


def test_hub_omits_an_events_own_operation_id_and_the_decoder_restores_it() -> None:
    """The envelope's operationId is not repeated inside the event; decoding restores it."""
    event = AgentEvent(type="stream_chunk", operation_id="op-1", data={"content": "hi"})
    message = MuxAgentEvent(operation_id="op-1", event=event, id="3")
    wire = json.loads(encode_mux(message))
    assert "operationId" not in wire["event"]
    decoded = decode_mux(json.dumps(wire))
    assert isinstance(decoded, MuxAgentEvent)
    assert decoded.event.operation_id == "op-1"


def test_a_members_event_keeps_its_own_operation_id() -> None:
    """A foreign event's operationId is written and read back as the member's."""
    event = AgentEvent(type="agent_runtime_end", operation_id="member-op", data={})
    wire = json.loads(encode_mux(MuxAgentEvent(operation_id="op-1", event=event, id="4")))
    assert wire["event"]["operationId"] == "member-op"
    decoded = decode_mux(json.dumps(wire))
    assert isinstance(decoded, MuxAgentEvent)
    assert not decoded.event.is_own("op-1")


def test_tool_result_is_the_v1_fields_beside_the_operation_id() -> None:
    """tool_result{operationId, ...v1 fields} (PROTOCOL.md 7.2)."""
    result = ToolResult(tool_call_id="call-1", success=True, content="42")
    wire = json.loads(encode_mux(MuxTool(operation_id="op-1", result=result)))
    assert wire == {
        "type": "tool_result",
        "operationId": "op-1",
        "toolCallId": "call-1",
        "success": True,
        "content": "42",
    }


def test_gone_is_a_status_on_the_wire() -> None:
    """A forgotten operation's lifecycle entry says status "gone"."""
    message = OpLifecycle(operation_id="op-1", status=None, gone=True, at=5)
    assert json.loads(encode_mux(message)) == {
        "type": "op_lifecycle",
        "operationId": "op-1",
        "status": "gone",
        "at": 5,
    }


def test_pending_is_written_only_when_true_and_gap_always() -> None:
    """resume_complete always says whether there was a gap; `pending` only when true."""
    done = MuxResumeComplete(operation_id="op-1", status=SessionStatus.COMPLETED)
    assert json.loads(encode_mux(done)) == {
        "type": "resume_complete",
        "operationId": "op-1",
        "status": "completed",
        "gap": False,
    }
    waiting = MuxResumeComplete(operation_id="op-1", pending=True)
    assert json.loads(encode_mux(waiting))["pending"] is True


def test_a_token_in_a_refusal_reason_is_redacted() -> None:
    """A subscribe_failed reason that echoes a token comes back with it redacted."""
    frame = json.dumps({"type": "subscribe_failed", "operationId": "o", "reason": TOKEN})
    decoded = decode_mux(frame)
    assert isinstance(decoded, SubscribeFailed)
    assert decoded.reason == REDACTED
