"""Frames nobody planned for: lenient on what decides the end, strict on detail.

Raw wire text goes through the real decoder and then the reducer, so these pin what a
client does with a frame, not only how it decodes (PROTOCOL.md invariant 24).
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from gatewayops.protocol import decode
from gatewayops.store import (
    ExecuteTool,
    FinishSource,
    GatewayState,
    OperationStatus,
    Result,
    reduce,
)

from .helpers import AUTH_SUCCESS, OP, attached, connected_store, fold, op_of, opened, received


def _frame(**fields: Any) -> str:
    return json.dumps(fields)


def _event(event: Any, **envelope: Any) -> str:
    return _frame(type="agent_event", event=event, **envelope)


def _apply(state: GatewayState, *frames: str) -> GatewayState:
    for text in frames:
        state = reduce(state, received(decode(text))).state
    return state


def _connected() -> GatewayState:
    return connected_store().state


def test_auth_failed_with_an_object_reason_still_ends_the_run() -> None:
    """A reason of the wrong type degrades only the reason: auth failure stays terminal."""
    state = _apply(_connected(), _frame(type="auth_failed", reason={"code": 4}))
    op = op_of(state)
    assert op.outcome is not None
    assert (op.outcome.result, op.outcome.detail) == (Result.AUTH_FAILED, '{"code":4}')
    assert op.problems == 1


def test_a_token_echoed_in_a_reason_never_reaches_the_outcome() -> None:
    """An `auth_failed` reason that quotes the JWT is redacted before the state holds it."""
    token = jwt.encode({"sub": "user"}, "k" * 32, algorithm="HS256")
    state = _apply(_connected(), _frame(type="auth_failed", reason=f"bad token {token}"))
    outcome = op_of(state).outcome
    assert outcome is not None
    assert token not in outcome.detail
    assert token not in repr(state)


def test_own_end_without_step_index_or_timestamp_still_ends_the_run() -> None:
    """A terminal event missing detail fields ends the run; the missing fields are counted."""
    end = _event({"type": "agent_runtime_end", "operationId": OP, "data": {}}, id="3")
    op = op_of(_apply(_connected(), end))
    assert op.status is OperationStatus.FINISHED
    assert op.outcome is not None
    assert (op.outcome.result, op.outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
    assert op.problems == 2


def test_a_numeric_envelope_id_moves_the_cursor_as_its_text() -> None:
    """An id sent as a JSON number is used as its decimal text, and reported."""
    chunk = {"type": "stream_chunk", "operationId": OP, "stepIndex": 0, "timestamp": 1}
    data = {"chunkType": "text", "content": "x"}
    op = op_of(_apply(_connected(), _event({**chunk, "data": data}, id=12)))
    assert op.last_event_id == "12"
    assert op.problems == 1


def test_ids_of_five_thousand_digits_never_raise() -> None:
    """A 5,000-digit id, as a string or as a JSON number, is a cursor like any other."""
    chunk = {"type": "stream_chunk", "operationId": OP, "stepIndex": 0, "timestamp": 1}
    digits = "7" * 5_000
    as_text = _event(chunk, id=digits)
    as_number = as_text.replace(f'"{digits}"', digits)
    state = _apply(_connected(), as_text)
    assert op_of(state).last_event_id == digits
    state = _apply(state, as_number)
    assert op_of(state).last_event_id == digits
    assert op_of(state).status is OperationStatus.RUNNING


def test_a_non_string_operation_id_decides_as_upstream() -> None:
    """operationId 0 counts as absent (own: the end ends the run); 5 never matches (foreign)."""
    base = {"type": "agent_runtime_end", "stepIndex": 0, "timestamp": 1, "data": {}}
    foreign = _apply(_connected(), _event({**base, "operationId": 5}))
    assert op_of(foreign).status is OperationStatus.RUNNING
    assert op_of(foreign).transcript.member_events == 1
    own = _apply(_connected(), _event({**base, "operationId": 0}))
    assert op_of(own).status is OperationStatus.FINISHED


def test_a_resume_status_that_cannot_be_read_is_not_terminal_but_flushes() -> None:
    """An unknown `resume_complete` status keeps the run live; the replay is still shown."""
    state = fold(GatewayState(), attached(), opened(), received(AUTH_SUCCESS))
    chunk = {"type": "stream_chunk", "operationId": OP, "stepIndex": 0, "timestamp": 1}
    text = {**chunk, "data": {"chunkType": "text", "content": "replayed"}}
    state = _apply(state, _event(text, id="1"), _frame(type="resume_complete", status="paused"))
    op = op_of(state)
    assert op.status is OperationStatus.RUNNING
    assert not op.resume.buffering
    assert op.transcript.text == "replayed"
    assert op.problems == 1


def test_tool_arguments_that_are_not_a_string_are_answered_not_run() -> None:
    """Object arguments give an `ExecuteTool` with no arguments: its one result is an
    `arguments_parse_error` (upstream's JSON.parse fails the same way)."""
    execute = {
        "type": "tool_execute",
        "operationId": OP,
        "stepIndex": 0,
        "timestamp": 1,
        "data": {"toolCallId": "c1", "identifier": "calc", "arguments": {"a": 1}},
    }
    step = reduce(_connected(), received(decode(_event(execute, id="1"))))
    (effect,) = step.effects
    assert isinstance(effect, ExecuteTool)
    assert (effect.tool_call_id, effect.arguments) == ("c1", None)
    assert op_of(step.state).problems == 1
