"""Typed views of what a chat shows beyond text: streamed tool calls, both `tool_end`
payload shapes, the message a stream or a tool belongs to, an error's body, the server's
message list (`uiMessages`) and the revision a v2 run settles at.

PROTOCOL.md 1.4 (event data) and 6.1 (tool_execute's context). A detail that does not
read is degraded and named, never the event.
"""

from __future__ import annotations

from typing import Any

from gatewayops.protocol import (
    AgentEvent,
    ErrorData,
    MessagePatchData,
    RuntimeEndData,
    StepStartData,
    StreamChunkData,
    StreamStartData,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    UiMessage,
    UnreadableData,
    Upsert,
    parse_event_data,
)


def parse(event_type: str, data: Any) -> object:
    """parse_event_data of an event of `event_type` carrying `data`."""
    return parse_event_data(AgentEvent(type=event_type, operation_id="op-1", data=data))


def test_tools_calling_chunk_lists_its_calls() -> None:
    """A `tools_calling` chunk carries every call of its `toolsCalling` list, arguments
    as their JSON string."""
    data = {
        "chunkType": "tools_calling",
        "toolsCalling": [
            {"id": "c1", "identifier": "web", "apiName": "search", "arguments": '{"q":'},
            {"id": "c2", "apiName": "fetch", "arguments": {"url": "x"}},
        ],
    }
    assert parse("stream_chunk", data) == StreamChunkData(
        chunk_type="tools_calling",
        tools_calling=(
            ToolCalling(id="c1", identifier="web", api_name="search", arguments='{"q":'),
            ToolCalling(id="c2", api_name="fetch", arguments='{"url":"x"}'),
        ),
    )


def test_tools_calling_item_without_id_is_left_out_and_named() -> None:
    """An item of `toolsCalling` that is not a call with an id is skipped, and named by
    its index; the others are kept."""
    data = {"chunkType": "tools_calling", "toolsCalling": [{"apiName": "x"}, 3, {"id": "c"}]}
    assert parse("stream_chunk", data) == StreamChunkData(
        chunk_type="tools_calling",
        tools_calling=(ToolCalling(id="c"),),
        problems=(
            "event.data.toolsCalling[0].id: missing required field (expected str)",
            "event.data.toolsCalling[1]: expected object, got int",
        ),
    )


def test_tools_calling_not_a_list_is_named() -> None:
    """A `toolsCalling` that is not an array gives no calls and a problem."""
    assert parse("stream_chunk", {"chunkType": "tools_calling", "toolsCalling": "c"}) == (
        StreamChunkData(
            chunk_type="tools_calling",
            problems=("event.data.toolsCalling: expected array, got str",),
        )
    )


def test_flat_tool_end_payload_names_its_call() -> None:
    """A `tool_end` whose payload is the call itself (`{id, identifier, apiName,
    arguments}`) ends that call, as the wrapped shape does."""
    payload = {"id": "c1", "identifier": "web", "apiName": "search", "arguments": "{}"}
    view = parse("tool_end", {"isSuccess": False, "payload": payload, "error": "timeout"})
    assert view == ToolEndData(
        is_success=False,
        tool_calling=ToolCalling(id="c1", identifier="web", api_name="search", arguments="{}"),
        error="timeout",
    )
    assert isinstance(view, ToolEndData)
    assert view.tool_call_id == "c1"


def test_flat_tool_end_with_a_mistyped_id_names_it() -> None:
    """A flat payload whose id is not a string names no call, and says so."""
    assert parse("tool_end", {"isSuccess": True, "payload": {"id": 4}}) == ToolEndData(
        is_success=True, problems=("event.data.payload.id: expected str, got int",)
    )


def test_stream_start_keeps_the_message_it_replies_to() -> None:
    """`stream_start` reads `assistantMessage.parentId`; a mistyped one is named."""
    assert parse("stream_start", {"assistantMessage": {"id": "m2", "parentId": "u1"}}) == (
        StreamStartData(assistant_message_id="m2", parent_id="u1")
    )
    assert parse("stream_start", {"assistantMessage": {"id": "m2", "parentId": 1}}) == (
        StreamStartData(
            assistant_message_id="m2",
            problems=("event.data.assistantMessage.parentId: expected str, got int",),
        )
    )


def test_tool_execute_keeps_its_assistant_message() -> None:
    """`tool_execute` reads the assistant message its call belongs to (PROTOCOL.md 6.1)."""
    view = parse("tool_execute", {"toolCallId": "c", "assistantMessageId": "m1"})
    assert isinstance(view, ToolExecuteData)
    assert view.assistant_message_id == "m1"


def test_error_without_detail_has_no_body() -> None:
    """A plain `{message}` error has no body; a `budget` alone is kept as the body."""
    assert parse("error", {"message": "m"}) == ErrorData(message="m")
    data = {"errorType": "InsufficientBudget", "message": "m", "budget": {"left": 0}}
    assert parse("error", data) == ErrorData(
        message="m", kind="InsufficientBudget", body={"budget": {"left": 0}}
    )


def test_ui_messages_read_what_a_chat_shows() -> None:
    """A `uiMessages` snapshot keeps each message's id, role, text, parent, reasoning,
    tool calls, the call a tool message answers, and its error."""
    messages = [
        {"id": "u1", "role": "user", "content": "hi"},
        {
            "id": "a1",
            "role": "assistant",
            "content": "Let me look.",
            "parentId": "u1",
            "reasoning": {"content": "search"},
            "tools": [{"id": "c1", "identifier": "web", "apiName": "search", "arguments": "{}"}],
        },
        {"id": "t1", "role": "tool", "content": "3 hits", "tool_call_id": "c1"},
        {"id": "a2", "role": "assistant", "error": {"type": "X", "message": "boom"}},
    ]
    view = parse("step_start", {"uiMessages": messages})
    assert view == StepStartData(
        ui_messages=(
            UiMessage(id="u1", role="user", content="hi"),
            UiMessage(
                id="a1",
                role="assistant",
                content="Let me look.",
                parent_id="u1",
                reasoning="search",
                tools=(ToolCalling(id="c1", identifier="web", api_name="search", arguments="{}"),),
            ),
            UiMessage(id="t1", role="tool", content="3 hits", tool_call_id="c1"),
            UiMessage(id="a2", role="assistant", error=ErrorData(message="boom", kind="X")),
        )
    )


def test_a_ui_message_without_id_is_left_out_and_named() -> None:
    """An item of `uiMessages` without a string id is skipped and named; a list that is
    not a list is no snapshot at all (None), and named."""
    view = parse("agent_runtime_end", {"uiMessages": [{"role": "user"}, {"id": "a"}]})
    assert view == RuntimeEndData(
        ui_messages=(UiMessage(id="a"),),
        problems=("event.data.uiMessages[0].id: missing required field (expected str)",),
    )
    assert parse("step_start", {"uiMessages": "x"}) == StepStartData(
        problems=("event.data.uiMessages: expected array, got str",)
    )


def test_runtime_end_in_patch_mode_names_its_revision() -> None:
    """v2's `agent_runtime_end` says the run settles at `messageRevision` (PROTOCOL.md 7.8)."""
    view = parse("agent_runtime_end", {"messagePatchMode": True, "messageRevision": 7})
    assert view == RuntimeEndData(message_patch_mode=True, message_revision=7)


def test_a_message_patch_reads_its_revision_deletes_and_upserts() -> None:
    """`message_patch` reads `{revision, deletes, upserts: [{afterId, message}]}`; one
    without an integer revision cannot be placed (UnreadableData)."""
    data = {
        "revision": 3,
        "deletes": ["m0"],
        "upserts": [{"afterId": None, "message": {"id": "m1", "role": "user", "content": "q"}}],
    }
    assert parse("message_patch", data) == MessagePatchData(
        revision=3,
        deletes=("m0",),
        upserts=(Upsert(after_id=None, message=UiMessage(id="m1", role="user", content="q")),),
    )
    assert parse("message_patch", {"deletes": []}) == UnreadableData(
        problems=("event.data.revision: missing required field (expected int)",)
    )
