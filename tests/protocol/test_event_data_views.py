"""Typed views of agent event data: what parse_event_data returns for well-formed data.

Data that fails to read is covered by test_event_data_degraded.py and
test_tool_data_degraded.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from gatewayops.protocol import (
    DEFAULT_TOOL_TIMEOUT_MS,
    AgentEvent,
    ErrorData,
    EventType,
    MessagePatchData,
    NumberText,
    RuntimeEndData,
    SessionStatus,
    StepStartData,
    StreamChunkData,
    StreamEndData,
    StreamStartData,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
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
UNTYPED = [t.value for t in EventType if t not in VIEWS]


def parse(event_type: str, data: Any) -> object:
    """parse_event_data of an event of `event_type` carrying `data`."""
    return parse_event_data(AgentEvent(type=event_type, operation_id="op-1", data=data))


@given(gs.agent_events(event_types=list(VIEWS)))
def test_generated_data_parses_to_its_view(event: AgentEvent) -> None:
    """The strategies' data for every typed event parses to that type's view, cleanly."""
    view = parse_event_data(event)
    assert isinstance(view, VIEWS[event.type])
    assert view is not None
    assert view.problems == ()


@given(gs.agent_events(event_types=UNTYPED))
def test_untyped_events_have_no_view(event: AgentEvent) -> None:
    """Event types without a typed view parse to None whatever their data."""
    assert parse_event_data(event) is None


def test_unknown_event_type_has_no_view() -> None:
    """An event type outside EventType parses to None, even with odd data."""
    assert parse("brand_new_event", [1, 2]) is None


# --------------------------------------------------------------------------- stream_*


def test_stream_chunk_full() -> None:
    """A replace-snapshot text chunk keeps every field it reads."""
    data = {
        "chunkType": "text",
        "content": "Hello",
        "reasoning": "hm",
        "snapshotMode": "replace",
        "snapshotSeq": 7,
        "toolCallId": "call_1",
        "unknown": {"ignored": True},
    }
    view = parse("stream_chunk", data)
    assert view == StreamChunkData(
        chunk_type="text",
        content="Hello",
        reasoning="hm",
        snapshot_mode="replace",
        snapshot_seq=7,
        tool_call_id="call_1",
    )
    assert isinstance(view, StreamChunkData)
    assert view.is_replace_snapshot


def test_stream_chunk_minimal_appends() -> None:
    """A chunk with only chunkType has no content and is not a replace snapshot."""
    view = parse("stream_chunk", {"chunkType": "reasoning"})
    assert view == StreamChunkData(chunk_type="reasoning")
    assert isinstance(view, StreamChunkData)
    assert not view.is_replace_snapshot


def test_stream_chunk_integral_float_seq() -> None:
    """A snapshotSeq written as 3.0 is the int 3, without a problem."""
    view = parse("stream_chunk", {"chunkType": "text", "snapshotSeq": 3.0})
    assert view == StreamChunkData(chunk_type="text", snapshot_seq=3, problems=())
    assert isinstance(view, StreamChunkData)
    assert type(view.snapshot_seq) is int


def test_stream_start_with_assistant_message() -> None:
    """stream_start takes the assistant message id, model and provider."""
    data = {
        "assistantMessage": {"id": "msg_1", "role": "assistant", "topicId": "tpc_1"},
        "model": "gpt-4o",
        "provider": "openai",
    }
    assert parse("stream_start", data) == StreamStartData(
        assistant_message_id="msg_1", model="gpt-4o", provider="openai"
    )


def test_stream_start_new_step_without_id() -> None:
    """A hetero producer's stream_start may omit the id and set newStep."""
    assert parse("stream_start", {"newStep": True}) == StreamStartData(
        assistant_message_id=None, new_step=True
    )
    assert parse("stream_start", None) == StreamStartData(assistant_message_id=None)


def test_stream_end() -> None:
    """stream_end carries an optional finalContent."""
    assert parse("stream_end", {"finalContent": "done"}) == StreamEndData(final_content="done")
    assert parse("stream_end", None) == StreamEndData()


# --------------------------------------------------------------------------- tools


TOOL_CALLING = {
    "id": "call_1",
    "identifier": "lobe-web-browsing",
    "apiName": "search",
    "arguments": '{"query":"trio"}',
    "type": "builtin",
}


def test_tool_start() -> None:
    """tool_start gives the tool calling and its parent message."""
    data = {"parentMessageId": "msg_1", "toolCalling": TOOL_CALLING}
    assert parse("tool_start", data) == ToolStartData(
        tool_calling=ToolCalling(
            id="call_1",
            identifier="lobe-web-browsing",
            api_name="search",
            arguments='{"query":"trio"}',
        ),
        parent_message_id="msg_1",
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"q": 1}, '{"q":1}'),
        ({"q": [1, {"r": None}], "s": "t"}, '{"q":[1,{"r":null}],"s":"t"}'),
        ([1, True], "[1,true]"),
        (7, "7"),
        (NumberText("9" * 5000), "9" * 5000),
        (None, ""),
        ("", ""),
        ("{}", "{}"),
    ],
    ids=["object", "nested", "array", "int", "number-text", "null", "empty", "string"],
)
def test_tool_calling_arguments_become_a_string(arguments: Any, expected: str) -> None:
    """Non-string arguments are written as compact strict JSON (no spaces, a number Python
    cannot hold as its literal); a string is kept; absent or null arguments become ""."""
    view = parse("tool_start", {"toolCalling": {"id": "c", "arguments": arguments}})
    assert isinstance(view, ToolStartData)
    assert view.tool_calling.arguments == expected


def test_tool_end_takes_the_call_id_from_the_payload() -> None:
    """tool_end reads the call from payload.toolCalling, with its parent message, and keeps
    the raw result."""
    data = {
        "isSuccess": True,
        "executionTime": 120,
        "payload": {"parentMessageId": "msg_1", "toolCalling": TOOL_CALLING},
        "result": {"content": "ok"},
    }
    assert parse("tool_end", data) == ToolEndData(
        is_success=True,
        tool_calling=ToolCalling(
            id="call_1",
            identifier=TOOL_CALLING["identifier"],
            api_name=TOOL_CALLING["apiName"],
            arguments=TOOL_CALLING["arguments"],
        ),
        parent_message_id="msg_1",
        result={"content": "ok"},
    )
    assert parse("tool_end", {"isSuccess": False}) == ToolEndData(is_success=False)


def test_tool_execute() -> None:
    """tool_execute keeps the call, and its executionTimeoutMs when given."""
    data = {
        "toolCallId": "call_9",
        "identifier": "local-system",
        "apiName": "readFile",
        "arguments": '{"path":"/a"}',
        "executionTimeoutMs": 30_000,
        "topicId": "tpc_1",
    }
    assert parse("tool_execute", data) == ToolExecuteData(
        tool_call_id="call_9",
        identifier="local-system",
        api_name="readFile",
        arguments='{"path":"/a"}',
        execution_timeout_ms=30_000,
    )


def test_tool_execute_defaults() -> None:
    """Absent identifier, apiName and arguments are "", and the timeout is the default."""
    view = parse("tool_execute", {"toolCallId": "c"})
    assert view == ToolExecuteData(tool_call_id="c", identifier="", api_name="", arguments="")
    assert isinstance(view, ToolExecuteData)
    assert view.execution_timeout_ms == DEFAULT_TOOL_TIMEOUT_MS == 120_000


@pytest.mark.parametrize(("timeout", "ms"), [(1500.7, 1500), (30_000.0, 30_000), (1.9, 1)])
def test_tool_execute_fractional_timeout_is_rounded_down(timeout: float, ms: int) -> None:
    """A finite fractional executionTimeoutMs is rounded down (math.floor) to whole ms,
    without a problem while it stays positive (see test_tool_data_degraded.py for <= 0)."""
    view = parse("tool_execute", {"toolCallId": "c", "executionTimeoutMs": timeout})
    assert view == ToolExecuteData(
        tool_call_id="c", identifier="", api_name="", arguments="", execution_timeout_ms=ms
    )
    assert isinstance(view, ToolExecuteData)
    assert type(view.execution_timeout_ms) is int


# --------------------------------------------------------------------------- error


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"message": "boom"}, ErrorData(message="boom"), id="message"),
        pytest.param({"error": "boom"}, ErrorData(message="boom"), id="error-string"),
        pytest.param(
            {"type": "ProviderBizError", "body": {"code": 500}, "message": "boom"},
            ErrorData(message="boom", kind="ProviderBizError", body={"code": 500}),
            id="structured",
        ),
        pytest.param(
            {
                "errorType": "InvalidProviderAPIKey",
                "error": {"message": "bad key"},
                "_responseBody": {"x": 1},
                "provider": "openai",
            },
            ErrorData(
                message="bad key",
                kind="InvalidProviderAPIKey",
                body={
                    "error": {"message": "bad key"},
                    "_responseBody": {"x": 1},
                    "provider": "openai",
                },
            ),
            id="model-runtime",
        ),
        pytest.param(
            {"errorType": "InvalidProviderAPIKey", "error": {"status": 401}},
            ErrorData(
                message="InvalidProviderAPIKey",
                kind="InvalidProviderAPIKey",
                body={"error": {"status": 401}},
            ),
            id="model-runtime-without-message",
        ),
    ],
)
def test_error_data_normalisation(data: dict[str, Any], expected: ErrorData) -> None:
    """All four upstream error shapes normalise to a message, an optional kind and the
    structured body (a structured error's `body`; a model-runtime error's detail)."""
    assert parse("error", data) == expected


# --------------------------------------------------------------------------- agent_runtime_end


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (None, SessionStatus.COMPLETED),
        ("completed", SessionStatus.COMPLETED),
        ("waiting_for_async_tool", SessionStatus.COMPLETED),
        ("something_new", SessionStatus.COMPLETED),
        ("error", SessionStatus.ERROR),
        ("interrupted", SessionStatus.INTERRUPTED),
    ],
)
def test_runtime_end_status(reason: str | None, status: SessionStatus) -> None:
    """ended_status maps error and interrupted to themselves and anything else to completed."""
    data = {} if reason is None else {"reason": reason, "uiMessages": []}
    view = parse("agent_runtime_end", data)
    assert view == RuntimeEndData(reason=reason, ui_messages=None if reason is None else ())
    assert isinstance(view, RuntimeEndData)
    assert view.ended_status is status
