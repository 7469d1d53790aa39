"""The transcript as a chat renders it: entries in event order, tied to their message.

PROTOCOL.md 1.4 (event data: `tools_calling` chunks, both `tool_end` payload shapes,
structured errors) and 8.6 (reasoning closed by text, tools, `stream_end`,
`stream_start` and the terminal). A detail that does not parse degrades its entry and
is reported as a problem of the message, never the run's life (DESIGN.md 4).
"""

from __future__ import annotations

from typing import Any

import pytest

from gatewayops.store import (
    AssistantMessage,
    ErrorEntry,
    OperationStatus,
    Reasoning,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
)

from .helpers import connected_store, event, fold, op_of, received

CALL = {"id": "c1", "identifier": "web", "apiName": "search", "arguments": '{"q":"trio"}'}


def _shown(*actions: Any) -> Transcript:
    return op_of(fold(connected_store().state, *actions)).transcript


def _start(message_id: str) -> Any:
    return received(event("stream_start", {"assistantMessage": {"id": message_id}}))


def _text(text: str) -> Any:
    return received(event("stream_chunk", {"chunkType": "text", "content": text}))


def _think(text: str) -> Any:
    return received(event("stream_chunk", {"chunkType": "reasoning", "reasoning": text}))


def _calling(*calls: dict[str, Any]) -> Any:
    data = {"chunkType": "tools_calling", "toolsCalling": list(calls)}
    return received(event("stream_chunk", data))


def _tool_start(call: dict[str, Any] = CALL, parent: Any = "m1") -> Any:
    return received(event("tool_start", {"parentMessageId": parent, "toolCalling": call}))


def _tool_end(payload: dict[str, Any], ok: bool = True, **extra: Any) -> Any:
    return received(event("tool_end", {"isSuccess": ok, "payload": payload, **extra}))


def _kinds(transcript: Transcript) -> list[str]:
    return [type(entry).__name__ for entry in transcript.entries]


def test_a_tool_call_shows_where_it_ran() -> None:
    """Text, then a tool call, then the next message's answer: entries in that order, the
    call tied to the message that made it."""
    shown = _shown(
        _start("m1"),
        _text("Let me look that up."),
        _tool_start(),
        _tool_end({"parentMessageId": "m1", "toolCalling": CALL}, result={"hits": 3}),
        received(event("stream_end", {})),
        _start("m2"),
        _text("Trio is a library."),
    )
    assert shown.entries == (
        AssistantMessage(id="m1", text_pieces=("Let me look that up.",)),
        ToolCallEntry(
            id="c1",
            parent_message_id="m1",
            identifier="web",
            api_name="search",
            arguments='{"q":"trio"}',
            status=ToolCallStatus.SUCCEEDED,
            result={"hits": 3},
        ),
        AssistantMessage(id="m2", text_pieces=("Trio is a library.",)),
    )


def test_text_closes_a_thinking_pass() -> None:
    """Reasoning after text is a new thinking pass, shown after that text."""
    shown = _shown(_start("m1"), _think("a"), _text("b"), _think("c"), _think("d"))
    assert _kinds(shown) == ["Reasoning", "AssistantMessage", "Reasoning"]
    assert [entry.text for entry in shown.entries if isinstance(entry, Reasoning)] == ["a", "cd"]
    assert all(entry.parent_message_id == "m1" for entry in shown.entries[::2])


@pytest.mark.parametrize(
    "closer",
    [
        pytest.param(_tool_start(), id="tool_start"),
        pytest.param(_calling(CALL), id="tools_calling"),
        pytest.param(received(event("stream_end", {})), id="stream_end"),
        pytest.param(_start("m1"), id="stream_start"),
    ],
)
def test_tools_and_message_boundaries_close_a_thinking_pass(closer: Any) -> None:
    """A tool event, `stream_end` and `stream_start` each close the open thinking pass:
    the next reasoning opens another."""
    shown = _shown(_start("m1"), _think("first"), closer, _think("second"))
    thoughts = [entry.text for entry in shown.entries if isinstance(entry, Reasoning)]
    assert thoughts == ["first", "second"]


def test_the_terminal_closes_the_thinking_pass_and_the_message() -> None:
    """After `agent_runtime_end` nothing streams any more."""
    shown = _shown(_start("m1"), _think("hmm"), received(event("agent_runtime_end", {})))
    assert shown.streaming is None
    assert shown.ended


def test_streamed_tool_calls_are_shown_while_the_model_writes_them() -> None:
    """`tools_calling` chunks create calls (calling) on the streaming message and update
    their arguments; `tool_start` then runs the same entry, not a second one."""
    partial = {**CALL, "arguments": '{"q":'}
    shown = _shown(_start("m1"), _calling(partial), _calling(CALL))
    assert shown.entries == (
        ToolCallEntry(
            id="c1",
            parent_message_id="m1",
            identifier="web",
            api_name="search",
            arguments='{"q":"trio"}',
            status=ToolCallStatus.CALLING,
        ),
    )
    running = _shown(_start("m1"), _calling(partial), _calling(CALL), _tool_start())
    assert [(call.id, call.status) for call in running.tool_calls] == [
        ("c1", ToolCallStatus.RUNNING)
    ]


def test_a_flat_tool_end_ends_its_call() -> None:
    """A `tool_end` whose payload is the call itself (`{id, identifier, apiName,
    arguments}`) ends it; it no longer spins "running" until the run ends."""
    shown = _shown(_start("m1"), _tool_start(), _tool_end(CALL, result="3 hits"))
    (call,) = shown.tool_calls
    assert (call.status, call.result) == (ToolCallStatus.SUCCEEDED, "3 hits")


def test_a_failed_tool_end_keeps_its_error() -> None:
    """A failed call keeps the error the producer sent."""
    shown = _shown(_tool_start(), _tool_end(CALL, ok=False, error={"message": "timeout"}))
    (call,) = shown.tool_calls
    assert (call.status, call.error) == (ToolCallStatus.FAILED, {"message": "timeout"})


def test_a_tool_end_of_an_unseen_call_shows_it_ended() -> None:
    """A call whose start was never seen (say, before a reattach) is shown ended, with
    what its payload says of it."""
    shown = _shown(_start("m1"), _tool_end(CALL))
    assert shown.tool_calls == (
        ToolCallEntry(
            id="c1",
            parent_message_id="m1",
            identifier="web",
            api_name="search",
            arguments='{"q":"trio"}',
            status=ToolCallStatus.SUCCEEDED,
        ),
    )


def test_an_error_is_kept_whole_on_its_message() -> None:
    """An `error` keeps its message, type and structured body, on the message it cut."""
    body = {"installCommand": "npm i -g @anthropic-ai/claude-code"}
    data = {"type": "AgentRuntimeError", "message": "claude not found", "body": body}
    shown = _shown(_start("m1"), _text("Starting"), received(event("error", data)))
    assert shown.entries[-1] == ErrorEntry(
        id="m1.error",
        message="claude not found",
        parent_message_id="m1",
        kind="AgentRuntimeError",
        body=body,
    )
    assert shown.error == shown.entries[-1]


def test_an_unreadable_detail_degrades_only_its_entry() -> None:
    """A `tool_start` whose parentMessageId is not a string still shows the call (on the
    streaming message), reports the field as the operation's problem, and the run goes on."""
    state = fold(connected_store().state, _start("m1"), _tool_start(parent=5))
    op = op_of(state)
    assert op.transcript.tool_calls[0].parent_message_id == "m1"
    assert op.last_problem == "event.data.parentMessageId: expected str, got int"
    assert op.status is OperationStatus.RUNNING
