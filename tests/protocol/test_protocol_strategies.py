"""gatewayops.testing.strategies: the strategies draw what they promise."""

from __future__ import annotations

import json

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    ChunkType,
    ClientMessage,
    EventType,
    ResumeComplete,
    ServerMessage,
    SessionStatus,
    ToolResult,
    UnknownMessage,
    to_wire,
)
from gatewayops.testing import strategies as gs


@given(gs.agent_events(operation_id="op-1"))
def test_fixed_operation_id(event: AgentEvent) -> None:
    """A string operation_id is the operationId of every event drawn."""
    assert event.operation_id == "op-1"


@given(gs.agent_events(operation_id=gs.own_operation_ids("op-1")))
def test_own_operation_ids(event: AgentEvent) -> None:
    """own_operation_ids draws only ids that make the event op-1's own."""
    assert event.operation_id in {"op-1", ""}
    assert event.is_own("op-1")


@given(gs.agent_events(operation_id=gs.foreign_operation_ids("op-1")))
def test_foreign_operation_ids(event: AgentEvent) -> None:
    """foreign_operation_ids draws only non-empty ids other than op-1."""
    assert event.operation_id
    assert not event.is_own("op-1")


@given(gs.agent_event_messages(event_types=["agent_runtime_end", "error"]))
def test_event_types_restriction(message: AgentEventMessage) -> None:
    """event_types limits the event types drawn."""
    assert message.event.is_terminal_type


def test_event_types_must_not_be_empty() -> None:
    """An empty event_types is a usage error, not an empty strategy."""
    with pytest.raises(ValueError, match="event_types"):
        gs.agent_events(event_types=[])


def draw_many(strategy: st.SearchStrategy[AgentEvent], count: int) -> list[AgentEvent]:
    """`count` examples of `strategy`, the same ones on every run (derandomized)."""
    drawn: list[AgentEvent] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate])
    @given(strategy)
    def collect(event: AgentEvent) -> None:
        drawn.append(event)

    collect()
    return drawn


def test_every_event_type_is_drawn() -> None:
    """agent_events() reaches every EventType."""
    seen = {event.type for event in draw_many(gs.agent_events(), 400)}
    assert seen == {t.value for t in EventType}


def test_stream_chunks_cover_every_chunk_type_and_snapshots() -> None:
    """stream_chunk data reaches every ChunkType, and some text chunks are replace snapshots."""
    events = draw_many(gs.agent_events(event_types=["stream_chunk"]), 200)
    assert {event.data["chunkType"] for event in events} == {t.value for t in ChunkType}
    snapshots = [event.data for event in events if event.data.get("snapshotMode") == "replace"]
    assert snapshots
    assert all(isinstance(data["snapshotSeq"], int) for data in snapshots)


def test_runtime_end_reasons_and_error_shapes_are_drawn() -> None:
    """agent_runtime_end draws every reason (and none); error draws all four data shapes."""
    ends = draw_many(gs.agent_events(event_types=["agent_runtime_end"]), 150)
    reasons = {event.data.get("reason") for event in ends}
    assert reasons == {None, *gs.RUNTIME_END_REASONS}
    errors = draw_many(gs.agent_events(event_types=["error"]), 150)
    shapes = {frozenset(event.data) & {"message", "error", "type", "errorType"} for event in errors}
    assert shapes >= {
        frozenset({"message"}),
        frozenset({"error"}),
        frozenset({"type", "message"}),
        frozenset({"errorType", "error"}),
    }


@given(gs.server_messages() | gs.client_messages())
def test_everything_drawn_is_strict_json(message: ServerMessage | ClientMessage) -> None:
    """Every message drawn serialises as RFC 8259 JSON (no NaN or Infinity)."""
    json.dumps(to_wire(message), allow_nan=False)


@given(gs.unknown_messages())
def test_unknown_messages_have_unhandled_types(message: UnknownMessage) -> None:
    """unknown_messages never uses a type the client decodes, and payload["type"] matches."""
    assert message.type not in {
        "auth_success", "auth_failed", "auth_expired", "heartbeat_ack", "agent_event",
        "session_complete", "resume_complete",
    }  # fmt: skip
    assert message.payload["type"] == message.type


@given(gs.resume_complete_messages(terminal=True), gs.resume_complete_messages(terminal=False))
def test_resume_complete_terminal_filter(terminal: ResumeComplete, live: ResumeComplete) -> None:
    """resume_complete_messages(terminal=...) draws only terminal or only live statuses."""
    assert terminal.status.is_terminal
    assert not live.status.is_terminal


@given(gs.session_statuses())
def test_session_statuses(status: SessionStatus) -> None:
    """session_statuses() draws SessionStatus members."""
    assert isinstance(status, SessionStatus)


@given(gs.tool_result_messages(tool_call_id="call_7"))
def test_tool_results_answer_the_given_call(result: ToolResult) -> None:
    """tool_result_messages(tool_call_id=...) answers that call; successes carry no error."""
    assert result.tool_call_id == "call_7"
    if result.success:
        assert result.error is None


@given(gs.event_ids())
def test_event_ids_are_decimal(event_id: str) -> None:
    """Event ids are decimal strings of positive integers."""
    assert event_id.isdigit()
    assert int(event_id) > 0
