"""The v2 hub-side decoder: lenient on what decides a life, strict on detail.

A frame is refused whole only when its `type` cannot be read; every other bad field is
degraded and named in the message's `problems` (PROTOCOL.md 7.3, DESIGN.md section 4).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatewayops.exceptions import FrameTooLarge, ProtocolError
from gatewayops.protocol import (
    FOREIGN_OPERATION_ID,
    HubError,
    InputRequest,
    MuxAgentEvent,
    MuxResumeComplete,
    OpLifecycle,
    Ready,
    SessionStatus,
    StatusChange,
    SubscribeFailed,
    UnknownMessage,
    decode_mux,
    sequence_number,
)


def decoded(frame: dict[str, Any]) -> Any:
    """`frame` encoded as JSON, then decoded by the hub-side decoder."""
    return decode_mux(json.dumps(frame))


@pytest.mark.parametrize("text", ["{", "[]", '{"type": 3}', '{"id": "1"}', "NaN"])
def test_a_frame_without_a_readable_type_is_refused(text: str) -> None:
    """Malformed JSON, a non-object or a missing/mistyped type is a ProtocolError."""
    with pytest.raises(ProtocolError):
        decode_mux(text)


def test_an_oversized_frame_is_refused_before_parsing() -> None:
    """A frame over max_frame_chars raises FrameTooLarge."""
    with pytest.raises(FrameTooLarge):
        decode_mux('{"type":"heartbeat_ack"}', max_frame_chars=10)


def test_a_missing_envelope_operation_routes_nowhere() -> None:
    """agent_event without operationId decodes with an empty id and a problem."""
    message = decoded({"type": "agent_event", "id": "1", "event": {"type": "stream_chunk"}})
    assert isinstance(message, MuxAgentEvent)
    assert message.operation_id == ""
    assert any("agent_event.operationId" in problem for problem in message.problems)


def test_a_mistyped_envelope_operation_cannot_match_a_subscription() -> None:
    """A numeric operationId is not read as the string of the same digits."""
    message = decoded({"type": "status_change", "operationId": 5, "status": "completed"})
    assert isinstance(message, StatusChange)
    assert message.operation_id.startswith(FOREIGN_OPERATION_ID)
    assert message.status is SessionStatus.COMPLETED


def test_an_event_with_a_falsy_operation_id_is_the_envelopes_own() -> None:
    """event.operationId false counts as omitted: restored to the envelope's, with a problem."""
    frame = {
        "type": "agent_event",
        "operationId": "op-1",
        "id": "2",
        "event": {"type": "agent_runtime_end", "operationId": False, "data": {}},
    }
    message = decoded(frame)
    assert isinstance(message, MuxAgentEvent)
    assert message.event.operation_id == "op-1"
    assert message.event.is_terminal_type
    assert message.problems


def test_an_integer_id_is_read_as_its_decimal_text() -> None:
    """A hub may send numeric ids: 12 is read as "12", without a problem."""
    message = decoded({"type": "session_complete", "operationId": "op-1", "id": 12})
    assert message.id == "12"
    assert message.problems == ()


def test_an_unreadable_status_change_counts_as_not_terminal() -> None:
    """status_change with an unknown status keeps routing, status None, one problem."""
    message = decoded({"type": "status_change", "operationId": "op-1", "status": "exploded"})
    assert isinstance(message, StatusChange)
    assert message.status is None
    assert "status_change.status" in message.problems[0]


def test_resume_complete_without_status_is_clean() -> None:
    """A pending operation's resume_complete has no status, and that is no problem."""
    message = decoded({"type": "resume_complete", "operationId": "op-1", "gap": False})
    assert message == MuxResumeComplete(operation_id="op-1")


@pytest.mark.parametrize(("pending", "expected"), [(1, True), ("", False), ("yes", True)])
def test_a_non_boolean_pending_counts_by_its_truthiness(pending: object, expected: bool) -> None:
    """resume_complete.pending is read as JavaScript's `if (msg.pending)`, with a problem."""
    frame = {"type": "resume_complete", "operationId": "op-1", "gap": False, "pending": pending}
    message = decoded({**frame, "status": "completed"})
    assert isinstance(message, MuxResumeComplete)
    assert message.pending is expected
    assert any("resume_complete.pending" in problem for problem in message.problems)


def test_a_missing_gap_is_read_as_false_with_a_problem() -> None:
    """resume_complete without `gap` means no gap, and says the field was missing."""
    message = decoded({"type": "resume_complete", "operationId": "op-1", "status": "running"})
    assert isinstance(message, MuxResumeComplete)
    assert message.gap is False
    assert any("resume_complete.gap" in problem for problem in message.problems)


def test_subscribe_failed_without_a_reason_still_fails_the_subscription() -> None:
    """A refusal whose reason is missing decodes (reason "") with a problem."""
    message = decoded({"type": "subscribe_failed", "operationId": "op-1"})
    assert isinstance(message, SubscribeFailed)
    assert message.reason == ""
    assert message.problems


def test_op_lifecycle_with_a_bad_at_keeps_its_status() -> None:
    """A lifecycle entry whose `at` is not a number keeps its status, with a problem."""
    frame = {"type": "op_lifecycle", "operationId": "op-1", "status": "running", "at": "now"}
    message = decoded(frame)
    assert isinstance(message, OpLifecycle)
    assert message.status is SessionStatus.RUNNING
    assert message.at == 0
    assert "op_lifecycle.at" in message.problems[0]


def test_a_hub_error_with_a_bad_operation_id_is_the_links() -> None:
    """error.operationId that is not a string matches no subscription."""
    message = decoded({"type": "error", "code": "x", "message": "m", "operationId": ["a"]})
    assert isinstance(message, HubError)
    assert message.operation_id is not None
    assert message.operation_id.startswith(FOREIGN_OPERATION_ID)


def test_ready_with_a_missing_user_id_is_still_ready() -> None:
    """ready without userId decodes (user_id "") and names the field."""
    message = decoded({"type": "ready", "connectionId": "c-1", "protocol": 2})
    assert isinstance(message, Ready)
    assert message.user_id == ""
    assert "ready.userId" in message.problems[0]


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [("12", 12), ("0", 0), (None, None), ("", None), ("x1", None), ("1.5", None), ("٣", None)],
)
def test_sequence_number_is_the_numeric_value_of_a_decimal_id(
    event_id: str | None, expected: int | None
) -> None:
    """Only ASCII decimal ids take part in dedup (PROTOCOL.md 7.4)."""
    assert sequence_number(event_id) == expected


def test_an_input_request_decodes_to_its_class() -> None:
    """input_request{operationId, requestId, prompt} is an InputRequest, without problems."""
    frame = {"type": "input_request", "operationId": "op-1", "requestId": "r", "prompt": "?"}
    assert decoded(frame) == InputRequest(operation_id="op-1", request_id="r", prompt="?")


def test_a_request_that_cannot_be_answered_is_kept_as_unknown() -> None:
    """A tool_confirmation_request without toolCallId cannot be answered: it decodes as an
    UnknownMessage whose problem names the field (it decides no lifecycle)."""
    message = decoded({"type": "tool_confirmation_request", "operationId": "op-1"})
    assert isinstance(message, UnknownMessage)
    assert "tool_confirmation_request.toolCallId" in message.problems[0]
