"""gatewayops.testing.strategies: the strategies draw what they promise."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
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


class _Reached(Exception):
    """Raised inside a search to stop at the first example that satisfies it."""


def reaches(strategy: st.SearchStrategy[AgentEvent], wanted: Callable[[AgentEvent], bool]) -> bool:
    """Whether `strategy` draws an event satisfying `wanted` within a generous budget.

    Derandomized and generate-only: it stops at the first hit (no shrinking), the same on
    every run.
    """

    @settings(
        database=None,
        derandomize=True,
        max_examples=3_000,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def search(event: AgentEvent) -> None:
        if wanted(event):
            raise _Reached

    try:
        search()
    except _Reached:
        return True
    return False


@pytest.mark.parametrize("event_type", [t.value for t in EventType])
def test_every_event_type_is_drawn(event_type: str) -> None:
    """agent_events() reaches each EventType."""
    assert reaches(gs.agent_events(), lambda event: event.type == event_type)


@pytest.mark.parametrize("chunk_type", [t.value for t in ChunkType])
def test_stream_chunks_cover_every_chunk_type(chunk_type: str) -> None:
    """stream_chunk data reaches each ChunkType."""
    chunks = gs.agent_events(event_types=["stream_chunk"])
    assert reaches(chunks, lambda event: event.data["chunkType"] == chunk_type)


def test_stream_chunks_include_replace_snapshots() -> None:
    """Some text chunks drawn are replace snapshots."""
    chunks = gs.agent_events(event_types=["stream_chunk"])
    assert reaches(chunks, lambda event: event.data.get("snapshotMode") == "replace")


@given(gs.agent_events(event_types=["stream_chunk"]))
def test_replace_snapshots_carry_an_int_seq(event: AgentEvent) -> None:
    """A replace snapshot drawn always carries an int snapshotSeq."""
    if event.data.get("snapshotMode") == "replace":
        assert isinstance(event.data.get("snapshotSeq"), int)


@pytest.mark.parametrize("reason", [None, *gs.RUNTIME_END_REASONS])
def test_runtime_end_reasons_are_drawn(reason: str | None) -> None:
    """agent_runtime_end draws each reason, and no reason at all."""
    ends = gs.agent_events(event_types=["agent_runtime_end"])
    assert reaches(ends, lambda event: event.data.get("reason") == reason)


@pytest.mark.parametrize(
    "shape",
    [{"message"}, {"error"}, {"type", "message"}, {"errorType", "error"}],
    ids=["message", "error", "type+message", "errorType+error"],
)
def test_error_data_shapes_are_drawn(shape: set[str]) -> None:
    """error events draw each of the four upstream data shapes."""
    keys = {"message", "error", "type", "errorType"}
    errors = gs.agent_events(event_types=["error"])
    assert reaches(errors, lambda event: set(event.data) & keys == shape)


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
    """resume_complete_messages(terminal=...) draws only terminal or only live statuses,
    never the unreadable status None."""
    assert terminal.status is not None
    assert terminal.status.is_terminal
    assert live.status is not None
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
