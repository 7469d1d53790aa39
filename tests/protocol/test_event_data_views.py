"""Typed views of agent event data: what parse_event_data returns and how it fails."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    DEFAULT_TOOL_TIMEOUT_MS,
    AgentEvent,
    ErrorData,
    EventType,
    RuntimeEndData,
    SessionStatus,
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
}
UNTYPED = [t.value for t in EventType if t not in VIEWS]


def parse(event_type: str, data: Any) -> object:
    """parse_event_data of an event of `event_type` carrying `data`."""
    return parse_event_data(AgentEvent(type=event_type, operation_id="op-1", data=data))


def parse_error(event_type: str, data: Any) -> str:
    """The ProtocolError message parsing `data` as `event_type` data raises."""
    with pytest.raises(ProtocolError) as info:
        parse(event_type, data)
    assert str(info.value).startswith(info.value.path + ": ")
    return str(info.value)


@given(gs.agent_events(event_types=list(VIEWS)))
def test_generated_data_parses_to_its_view(event: AgentEvent) -> None:
    """The strategies' data for every typed event parses to that type's view class."""
    assert isinstance(parse_event_data(event), VIEWS[event.type])


@given(gs.agent_events(event_types=UNTYPED))
def test_untyped_events_have_no_view(event: AgentEvent) -> None:
    """Event types without a typed view parse to None whatever their data."""
    assert parse_event_data(event) is None


def test_unknown_event_type_has_no_view() -> None:
    """An event type outside EventType parses to None, even with odd data."""
    assert parse("brand_new_event", [1, 2]) is None


@pytest.mark.parametrize("event_type", list(VIEWS))
def test_data_must_be_an_object(event_type: str) -> None:
    """Typed data that is not a JSON object names event.data."""
    assert parse_error(event_type, ["x"]) == "event.data: expected object, got array"


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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"chunkType": 1}, "event.data.chunkType: expected str, got int"),
        ({}, "event.data.chunkType: missing required field (expected str)"),
        (None, "event.data.chunkType: missing required field (expected str)"),
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
        (
            {"chunkType": "text", "snapshotMode": True},
            "event.data.snapshotMode: expected str, got bool",
        ),
    ],
)
def test_stream_chunk_errors(data: Any, message: str) -> None:
    """Missing or mistyped stream_chunk fields are named under event.data."""
    assert parse_error("stream_chunk", data) == message


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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"assistantMessage": {"id": 1}}, "event.data.assistantMessage.id: expected str, got int"),
        ({"assistantMessage": "msg_1"}, "event.data.assistantMessage: expected object, got str"),
        ({"newStep": "yes"}, "event.data.newStep: expected bool, got str"),
        ({"model": 4}, "event.data.model: expected str, got int"),
    ],
)
def test_stream_start_errors(data: Any, message: str) -> None:
    """Mistyped stream_start fields are named with their full path."""
    assert parse_error("stream_start", data) == message


def test_stream_end() -> None:
    """stream_end carries an optional finalContent, which must be a string."""
    assert parse("stream_end", {"finalContent": "done"}) == StreamEndData(final_content="done")
    assert parse("stream_end", None) == StreamEndData()
    assert parse_error("stream_end", {"finalContent": 0}) == (
        "event.data.finalContent: expected str, got int"
    )


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
    ("arguments", "expected"), [({"q": 1}, '{"q": 1}'), (None, ""), ("", ""), ("{}", "{}")]
)
def test_tool_calling_arguments_become_a_string(arguments: Any, expected: str) -> None:
    """Object arguments are serialised to JSON text; absent or null arguments become ""."""
    view = parse("tool_start", {"toolCalling": {"id": "c", "arguments": arguments}})
    assert isinstance(view, ToolStartData)
    assert view.tool_calling.arguments == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "event.data.toolCalling: missing required field (expected object)"),
        ({"toolCalling": None}, "event.data.toolCalling: expected object, got null"),
        ({"toolCalling": {}}, "event.data.toolCalling.id: missing required field (expected str)"),
        (
            {"toolCalling": {"id": "c", "apiName": 3}},
            "event.data.toolCalling.apiName: expected str, got int",
        ),
        (
            {"toolCalling": TOOL_CALLING, "parentMessageId": 1},
            "event.data.parentMessageId: expected str, got int",
        ),
    ],
)
def test_tool_start_errors(data: Any, message: str) -> None:
    """tool_start requires a toolCalling object with a string id."""
    assert parse_error("tool_start", data) == message


def test_tool_end_takes_the_call_id_from_the_payload() -> None:
    """tool_end reads payload.toolCalling.id as its tool call id and keeps the raw result."""
    data = {
        "isSuccess": True,
        "executionTime": 120,
        "payload": {"parentMessageId": "msg_1", "toolCalling": TOOL_CALLING},
        "result": {"content": "ok"},
    }
    assert parse("tool_end", data) == ToolEndData(
        is_success=True, tool_call_id="call_1", result={"content": "ok"}
    )
    assert parse("tool_end", {"isSuccess": False}) == ToolEndData(is_success=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "event.data.isSuccess: missing required field (expected bool)"),
        ({"isSuccess": 1}, "event.data.isSuccess: expected bool, got int"),
        ({"isSuccess": True, "payload": "p"}, "event.data.payload: expected object, got str"),
        (
            {"isSuccess": True, "payload": {"toolCalling": 1}},
            "event.data.payload.toolCalling: expected object, got int",
        ),
        (
            {"isSuccess": True, "payload": {"toolCalling": {"id": 2}}},
            "event.data.payload.toolCalling.id: expected str, got int",
        ),
    ],
)
def test_tool_end_errors(data: Any, message: str) -> None:
    """tool_end requires isSuccess; its payload path is named in full."""
    assert parse_error("tool_end", data) == message


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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "event.data.toolCallId: missing required field (expected str)"),
        (None, "event.data.toolCallId: missing required field (expected str)"),
        ({"toolCallId": 1}, "event.data.toolCallId: expected str, got int"),
        (
            {"toolCallId": "c", "executionTimeoutMs": "30s"},
            "event.data.executionTimeoutMs: expected int, got str",
        ),
        (
            {"toolCallId": "c", "arguments": {"a": 1}},
            "event.data.arguments: expected str, got object",
        ),
    ],
)
def test_tool_execute_errors(data: Any, message: str) -> None:
    """tool_execute requires a string toolCallId; arguments are JSON text, not an object."""
    assert parse_error("tool_execute", data) == message


# --------------------------------------------------------------------------- error


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"message": "boom"}, ErrorData(message="boom"), id="message"),
        pytest.param({"error": "boom"}, ErrorData(message="boom"), id="error-string"),
        pytest.param(
            {"type": "ProviderBizError", "body": {"code": 500}, "message": "boom"},
            ErrorData(message="boom", kind="ProviderBizError"),
            id="structured",
        ),
        pytest.param(
            {
                "errorType": "InvalidProviderAPIKey",
                "error": {"message": "bad key"},
                "_responseBody": {"x": 1},
                "provider": "openai",
            },
            ErrorData(message="bad key", kind="InvalidProviderAPIKey"),
            id="model-runtime",
        ),
        pytest.param(
            {"errorType": "InvalidProviderAPIKey", "error": {"status": 401}},
            ErrorData(message="InvalidProviderAPIKey", kind="InvalidProviderAPIKey"),
            id="model-runtime-without-message",
        ),
    ],
)
def test_error_data_normalisation(data: dict[str, Any], expected: ErrorData) -> None:
    """All four upstream error shapes normalise to a message and an optional kind."""
    assert parse("error", data) == expected


@pytest.mark.parametrize("data", [None, {}, {"message": 5}, {"error": [1]}, {"type": 3}])
def test_error_data_never_fails(data: Any) -> None:
    """An error event's data always yields a string message, however odd its shape."""
    view = parse("error", data)
    assert isinstance(view, ErrorData)
    assert isinstance(view.message, str)
    assert view.kind is None


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
    assert view == RuntimeEndData(reason=reason)
    assert isinstance(view, RuntimeEndData)
    assert view.ended_status is status


def test_runtime_end_mistyped_reason() -> None:
    """A non-string reason names event.data.reason."""
    assert parse_error("agent_runtime_end", {"reason": 1}) == (
        "event.data.reason: expected str, got int"
    )
