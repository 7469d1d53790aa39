"""Typed views of event data that fails to read: degraded fields, and UnreadableData.

parse_event_data never raises. A field that fails is degraded to its default and named
in the view's `problems`; data that cannot be used at all gives `UnreadableData`. Tool
events are covered by test_tool_data_degraded.py.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.protocol import (
    REDACTED,
    AgentEvent,
    ErrorData,
    EventData,
    EventType,
    MessagePatchData,
    NumberText,
    RuntimeEndData,
    SessionStatus,
    StepStartData,
    StreamChunkData,
    StreamEndData,
    StreamStartData,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
    UnreadableData,
    parse_event_data,
)
from gatewayops.testing import strategies as gs

VIEWS: dict[str, type] = {
    EventType.STREAM_START: StreamStartData,
    EventType.STREAM_CHUNK: StreamChunkData,
    EventType.STREAM_END: StreamEndData,
    EventType.TOOL_START: ToolStartData,
    EventType.TOOL_END: ToolEndData,
    EventType.TOOL_EXECUTE: ToolExecuteData,
    EventType.ERROR: ErrorData,
    EventType.AGENT_RUNTIME_END: RuntimeEndData,
    EventType.STEP_START: StepStartData,
    EventType.MESSAGE_PATCH: MessagePatchData,
}
STRICT_SHAPES = [t for t in VIEWS if t not in {EventType.ERROR, EventType.AGENT_RUNTIME_END}]
TOKEN = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
HUGE = NumberText("1e400")  # as decode keeps a number Python cannot hold
NUMBER_TEXT = "number Python cannot hold exactly"


def parse(event_type: str, data: Any) -> EventData | None:
    """parse_event_data of an event of `event_type` carrying `data`."""
    return parse_event_data(AgentEvent(type=event_type, operation_id="op-1", data=data))


def unreadable(*problems: str) -> UnreadableData:
    """The UnreadableData with `problems`."""
    return UnreadableData(problems=problems)


# --------------------------------------------------------------------------- data not an object


@pytest.mark.parametrize(("data", "got"), [(["x"], "array"), ("boom", "str"), (5, "int")])
@pytest.mark.parametrize("event_type", STRICT_SHAPES)
def test_data_not_an_object_is_unreadable(event_type: str, data: Any, got: str) -> None:
    """Data of a stream or tool event that is not an object cannot be used at all."""
    assert parse(event_type, data) == unreadable(f"event.data: expected object, got {got}")


@pytest.mark.parametrize(
    ("data", "got", "message"),
    [(["x"], "array", '["x"]'), (5, "int", "5"), ("boom", "str", "boom"),
     ([{"a": None}], "array", '[{"a":null}]'), (HUGE, NUMBER_TEXT, "1e400"),
     ([TOKEN], "array", f'["{REDACTED}"]'), (["x" * 100], "array", '["' + "x" * 77 + "\u2026")],
    ids=["array", "int", "str", "nested", "number-text", "jwt", "long"],
)  # fmt: skip
def test_error_data_not_an_object_is_still_an_error(data: Any, got: str, message: str) -> None:
    """An error whose data is not an object is still the error it is: its message is the
    data's short JSON text (redacted, cut to 80 characters), a string data being its own
    message."""
    assert parse("error", data) == ErrorData(
        message=message, problems=(f"event.data: expected object, got {got}",)
    )


@pytest.mark.parametrize(("data", "got"), [(["x"], "array"), ("error", "str"), (3, "int")])
def test_runtime_end_data_not_an_object_is_a_plain_end(data: Any, got: str) -> None:
    """An agent_runtime_end whose data is not an object is an end without a reason."""
    view = parse("agent_runtime_end", data)
    assert view == RuntimeEndData(
        reason=None, problems=(f"event.data: expected object, got {got}",)
    )
    assert isinstance(view, RuntimeEndData)
    assert view.ended_status is SessionStatus.COMPLETED


# --------------------------------------------------------------------------- stream_*


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"chunkType": 1}, "event.data.chunkType: expected str, got int"),
        ({"chunkType": 1, "content": 2}, "event.data.chunkType: expected str, got int"),
        ({}, "event.data.chunkType: missing required field (expected str)"),
        (None, "event.data.chunkType: missing required field (expected str)"),
        (
            {"chunkType": "text", "snapshotMode": True, "content": "x"},
            "event.data.snapshotMode: expected str, got bool",
        ),
        ({"chunkType": HUGE}, f"event.data.chunkType: expected str, got {NUMBER_TEXT}"),
    ],
)
def test_stream_chunk_without_kind_or_mode_is_unreadable(data: Any, problem: str) -> None:
    """A chunk without a string chunkType, or with an unreadable snapshotMode (a "replace"
    appended would repeat the whole text), cannot be shown: UnreadableData."""
    assert parse("stream_chunk", data) == unreadable(problem)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"chunkType": "text", "content": 5}, "event.data.content: expected str, got int"),
        (
            {"chunkType": "reasoning", "reasoning": []},
            "event.data.reasoning: expected str, got array",
        ),
        (
            {"chunkType": "text", "snapshotSeq": "3"},
            "event.data.snapshotSeq: expected int, got str",
        ),
        (
            {"chunkType": "text", "snapshotSeq": 1.5},
            "event.data.snapshotSeq: expected int, got float",
        ),
        ({"chunkType": "text", "toolCallId": 4}, "event.data.toolCallId: expected str, got int"),
        (
            {"chunkType": "text", "content": HUGE},
            f"event.data.content: expected str, got {NUMBER_TEXT}",
        ),
        (
            {"chunkType": "text", "toolCallId": HUGE},
            f"event.data.toolCallId: expected str, got {NUMBER_TEXT}",
        ),
        (
            {"chunkType": "text", "snapshotMode": "append", "snapshotSeq": "3"},
            "event.data.snapshotSeq: expected int, got str",
        ),
    ],
)
def test_stream_chunk_mistyped_detail_is_dropped(data: dict[str, Any], problem: str) -> None:
    """A mistyped optional chunk field is None; the chunk keeps its kind (and a mode other
    than "replace" with an unreadable seq keeps its mode)."""
    assert parse("stream_chunk", data) == StreamChunkData(
        chunk_type=data["chunkType"], snapshot_mode=data.get("snapshotMode"), problems=(problem,)
    )


def test_stream_chunk_keeps_what_reads() -> None:
    """Only the fields that fail are dropped; each is named (seq first, as it decides
    whether the chunk can be shown at all, then in field order)."""
    data = {
        "chunkType": "text",
        "content": "Hello",
        "reasoning": 1,
        "snapshotSeq": "7",
        "toolCallId": [],
    }
    assert parse("stream_chunk", data) == StreamChunkData(
        chunk_type="text",
        content="Hello",
        problems=(
            "event.data.snapshotSeq: expected int, got str",
            "event.data.reasoning: expected str, got int",
            "event.data.toolCallId: expected str, got array",
        ),
    )


@pytest.mark.parametrize(
    ("seq", "got"),
    [("3", "str"), (1.5, "float"), (True, "bool"), ([3], "array"), (HUGE, NUMBER_TEXT)],
)
def test_replace_snapshot_with_unreadable_seq_is_unreadable(seq: Any, got: str) -> None:
    """A "replace" snapshot whose snapshotSeq cannot be read could be stale (and undo newer
    text): it is not shown, whatever else it carries."""
    data = {"chunkType": "text", "content": "Hello", "snapshotMode": "replace", "snapshotSeq": seq}
    assert parse("stream_chunk", data) == unreadable(
        f"event.data.snapshotSeq: expected int, got {got}"
    )


def test_replace_snapshot_without_seq_is_shown() -> None:
    """A "replace" snapshot with no (or a null) snapshotSeq is not unreadable: it has none."""
    data = {"chunkType": "text", "content": "Hi", "snapshotMode": "replace", "snapshotSeq": None}
    expected = StreamChunkData(chunk_type="text", content="Hi", snapshot_mode="replace")
    assert parse("stream_chunk", data) == expected
    del data["snapshotSeq"]
    assert parse("stream_chunk", data) == expected


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"assistantMessage": {"id": 1}}, "event.data.assistantMessage.id: expected str, got int"),
        ({"assistantMessage": "msg_1"}, "event.data.assistantMessage: expected object, got str"),
        ({"newStep": "yes"}, "event.data.newStep: expected bool, got str"),
        ({"model": 4}, "event.data.model: expected str, got int"),
        ({"provider": 4}, "event.data.provider: expected str, got int"),
    ],
)
def test_stream_start_mistyped_field_is_defaulted(data: dict[str, Any], problem: str) -> None:
    """A mistyped stream_start field gets its default, named with its full path."""
    assert parse("stream_start", data) == StreamStartData(
        assistant_message_id=None, problems=(problem,)
    )


def test_stream_end_mistyped_final_content() -> None:
    """A non-string finalContent is dropped (the streamed text stays), named."""
    assert parse("stream_end", {"finalContent": 0}) == StreamEndData(
        final_content=None, problems=("event.data.finalContent: expected str, got int",)
    )


# --------------------------------------------------------------------------- error, runtime end


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, ErrorData(message="{}")),
        ({}, ErrorData(message="{}")),
        ({"message": 5}, ErrorData(message='{"message":5}')),
        ({"error": [1]}, ErrorData(message='{"error":[1]}', body={"error": [1]})),
        ({"message": HUGE}, ErrorData(message='{"message":1e400}')),
    ],
)
def test_error_data_odd_shapes(data: Any, expected: ErrorData) -> None:
    """An error event's data always yields a string message, however odd its shape."""
    assert parse("error", data) == expected


@pytest.mark.parametrize(
    ("data", "message", "got"),
    [
        ({"type": 3}, "3", "int"),
        ({"errorType": 3, "message": "m"}, "m", "int"),
        ({"type": [1], "message": "m"}, "m", "array"),
        ({"errorType": {"a": 1}, "error": "boom"}, "boom", "object"),
        ({"errorType": HUGE, "message": "m"}, "m", NUMBER_TEXT),
    ],
)
def test_error_non_string_kind_is_named(data: dict[str, Any], message: str, got: str) -> None:
    """A non-string errorType (or type) gives no kind, and the problem names it as
    event.data.errorType with its JSON type; the message is read as usual (the int kind,
    with no message, being the message)."""
    assert parse("error", data) == ErrorData(
        message=message, kind=None, problems=(f"event.data.errorType: expected str, got {got}",)
    )


@pytest.mark.parametrize(("reason", "got"), [(1, "int"), (HUGE, NUMBER_TEXT)])
def test_runtime_end_mistyped_reason(reason: Any, got: str) -> None:
    """A non-string reason is dropped (a plain completion), named as event.data.reason."""
    view = parse("agent_runtime_end", {"reason": reason})
    assert view == RuntimeEndData(
        reason=None, problems=(f"event.data.reason: expected str, got {got}",)
    )
    assert isinstance(view, RuntimeEndData)
    assert view.ended_status is SessionStatus.COMPLETED


# --------------------------------------------------------------------------- fuzzing


_DATA = gs.json_values(max_leaves=6) | st.dictionaries(
    st.sampled_from(["chunkType", "content", "toolCalling", "toolCallId", "isSuccess", "reason",
                     "snapshotMode", "snapshotSeq", "arguments", "executionTimeoutMs", "payload"]),
    gs.json_values(max_leaves=4),
)  # fmt: skip


@given(st.sampled_from(list(VIEWS)), _DATA)
def test_parsing_never_raises(event_type: str, data: Any) -> None:
    """Any JSON data gives the type's view or UnreadableData, whose problems say why;
    every problem names a field under event.data."""
    view = parse(event_type, data)
    assert isinstance(view, (VIEWS[event_type], UnreadableData))
    assert view is not None
    if isinstance(view, UnreadableData):
        assert view.problems
    for problem in view.problems:
        assert problem.startswith("event.data"), problem
