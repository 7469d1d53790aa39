"""Server snapshots: `uiMessages` on `step_start` and `agent_runtime_end` become the
transcript's messages (the server is the source of truth), keeping what only this
client knows (PROTOCOL.md 8.6); replace-mode text snapshots keep their `snapshotSeq`
rule across it.
"""

from __future__ import annotations

from typing import Any

from gatewayops.store import (
    AssistantMessage,
    OperationStatus,
    Reasoning,
    Result,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
    UserMessage,
)

from .helpers import connected_store, event, fold, op_of, received, tool_execute

CALL = {"id": "c1", "identifier": "web", "apiName": "search", "arguments": "{}"}
SERVER_LIST: list[dict[str, Any]] = [
    {"id": "u1", "role": "user", "content": "What is Trio?"},
    {
        "id": "a1",
        "role": "assistant",
        "parentId": "u1",
        "content": "Let me look.",
        "reasoning": {"content": "search it"},
        "tools": [CALL],
    },
    {"id": "t1", "role": "tool", "content": "3 hits", "tool_call_id": "c1"},
]


def _shown(*actions: Any) -> Transcript:
    return op_of(fold(connected_store().state, *actions)).transcript


def _step_start(messages: list[dict[str, Any]]) -> Any:
    return received(event("step_start", {"uiMessages": messages}))


def _text(text: str, seq: int | None = None) -> Any:
    data: dict[str, Any] = {"chunkType": "text", "content": text}
    if seq is not None:
        data.update(snapshotMode="replace", snapshotSeq=seq)
    return received(event("stream_chunk", data))


def test_a_step_start_snapshot_replaces_the_messages() -> None:
    """The server's list replaces what streamed: prompt, reasoning, text, the call with
    the result its tool message gives."""
    shown = _shown(
        received(event("stream_start", {"assistantMessage": {"id": "a1"}})),
        _text("Let me lo"),
        _step_start(SERVER_LIST),
    )
    assert shown.entries == (
        UserMessage(id="u1", text="What is Trio?"),
        Reasoning(id="a1.reasoning", parent_message_id="a1", text_pieces=("search it",)),
        AssistantMessage(id="a1", parent_message_id="u1", text_pieces=("Let me look.",)),
        ToolCallEntry(
            id="c1",
            parent_message_id="a1",
            identifier="web",
            api_name="search",
            arguments="{}",
            status=ToolCallStatus.SUCCEEDED,
            result="3 hits",
        ),
    )
    assert shown.events == 3


def test_an_interrupted_run_shows_what_the_server_kept() -> None:
    """`agent_runtime_end{interrupted, uiMessages}` shows the server's list, and the run
    still ends once, interrupted."""
    state = fold(
        connected_store().state,
        received(event("agent_runtime_end", {"reason": "interrupted", "uiMessages": SERVER_LIST})),
    )
    op = op_of(state)
    assert [entry.id for entry in op.transcript.entries] == ["u1", "a1.reasoning", "a1", "c1"]
    assert op.transcript.ended
    assert op.status is OperationStatus.FINISHED
    assert op.outcome is not None
    assert op.outcome.result is Result.INTERRUPTED


def test_what_only_this_client_knows_is_kept() -> None:
    """A call the server has no result for keeps the status and result this client saw,
    and a call run here that the server does not name yet stays, after the list."""
    ended = {"isSuccess": False, "payload": CALL, "error": "timeout"}
    shown = _shown(
        received(event("tool_start", {"toolCalling": CALL})),
        received(event("tool_end", ended)),
        received(tool_execute("c9")),
        _step_start(SERVER_LIST[:2]),
    )
    calls = shown.tool_calls
    assert [(call.id, call.status, call.error) for call in calls] == [
        ("c1", ToolCallStatus.FAILED, "timeout"),
        ("c9", ToolCallStatus.RUNNING, None),
    ]
    assert calls[1].client_executed
    assert shown.tool_call("c9") == calls[1]


def test_a_stale_text_snapshot_after_a_server_list_is_still_dropped() -> None:
    """The streaming message keeps its replace-snapshot watermark across the server's
    list: a later snapshot at or below it changes nothing, one above it replaces the text."""
    streamed = (
        received(event("stream_start", {"assistantMessage": {"id": "a1"}})),
        _text("Let me look.", seq=5),
        _step_start(SERVER_LIST[:2]),
    )
    stale = _shown(*streamed, _text("Let", seq=4))
    assert stale.messages[0].text == "Let me look."
    assert len(stale.messages) == 1
    newer = _shown(*streamed, _text("Let me look it up.", seq=6))
    assert [message.text for message in newer.messages] == ["Let me look it up."]


def test_a_step_start_without_a_list_changes_nothing_shown() -> None:
    """A `step_start` carrying no `uiMessages` (v1 without a snapshot, or v2's revision)
    only counts."""
    before = _shown(_text("hello"))
    after = _shown(_text("hello"), received(event("step_start", {"messageRevision": 3})))
    assert after.entries == before.entries
    assert after.events == before.events + 1
