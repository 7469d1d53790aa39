"""What an operation shows: streamed messages, snapshots, tool calls, the terminal latch.

PROTOCOL.md 1.4 (event data), 4.4 and invariant 15 (nothing after the first terminal),
and the decoding rules of DESIGN.md 4 (a bad frame is reported, the socket stays up).
"""

from __future__ import annotations

from typing import Any

from gatewayops.protocol import SessionStatus, UnknownMessage
from gatewayops.store import (
    AssistantMessage,
    BadMessageReceived,
    ConnectionStatus,
    ErrorEntry,
    GatewayState,
    OperationStatus,
    Reasoning,
    Streaming,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
    transcript,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    MEMBER,
    OP,
    TRANSCRIPT,
    chunk,
    connected_store,
    event,
    fold,
    link_of,
    op_of,
    path,
    received,
    resume_complete,
    runtime_end,
    tool_execute,
)


def _start(message_id: str | None = "msg-1") -> Any:
    data = {} if message_id is None else {"assistantMessage": {"id": message_id}}
    return received(event("stream_start", data))


def _chunk(kind: str, text: str, seq: int | None = None) -> Any:
    data: dict[str, Any] = {"chunkType": kind, "content" if kind == "text" else "reasoning": text}
    if seq is not None:
        data.update(snapshotMode="replace", snapshotSeq=seq)
    return received(event("stream_chunk", data))


def _shown(*actions: Any) -> Transcript:
    state = fold(connected_store().state, *actions)
    found = transcript(state, OP)
    assert found is not None
    return found


# --------------------------------------------------------------------------- messages


def test_stream_start_opens_a_streaming_message() -> None:
    """`stream_start` makes the producer's message the streaming one; its entries appear
    with its first content."""
    store = connected_store()
    store.send(
        _start(),
        {TRANSCRIPT: Transcript(streaming=Streaming(message_id="msg-1"), events=1)},
        effects=[],
    )
    store.finish()


def test_stream_start_without_id_names_the_step() -> None:
    """A hetero producer's `stream_start` with no id gets a step-derived id."""
    shown = _shown(_start(None), _chunk("text", "hi"))
    assert shown.messages == (AssistantMessage(id="step-0", text_pieces=("hi",)),)


def test_text_chunks_append() -> None:
    """Text chunks append to the current message's text."""
    shown = _shown(_start(), _chunk("text", "Hel"), _chunk("text", "lo"))
    assert shown.messages == (AssistantMessage(id="msg-1", text_pieces=("Hello",)),)
    assert shown.events == 3


def test_reasoning_chunks_append_separately() -> None:
    """Reasoning chunks accumulate in a thinking entry of their own, apart from the text."""
    shown = _shown(_start(), _chunk("reasoning", "think "), _chunk("reasoning", "more"))
    assert shown.entries == (
        Reasoning(id="msg-1.reasoning.0", parent_message_id="msg-1", text_pieces=("think more",)),
    )
    assert shown.messages == ()


def test_chunk_without_stream_start_goes_to_an_implicit_message() -> None:
    """Chunks before any `stream_start` are still shown (in an unnamed message)."""
    assert _shown(received(chunk("orphan"))).text == "orphan"


def test_replace_snapshot_replaces_the_text() -> None:
    """A `snapshotMode: replace` chunk replaces the text and records its seq."""
    shown = _shown(_start(), _chunk("text", "draft"), _chunk("text", "Final text", seq=3))
    assert shown.messages == (AssistantMessage(id="msg-1", text_pieces=("Final text",)),)
    assert shown.streaming is not None
    assert shown.streaming.text_seq == 3


def test_replace_snapshot_at_or_below_the_watermark_is_dropped() -> None:
    """A snapshot whose seq is not above the last applied one is ignored (late/out of order)."""
    shown = _shown(
        _start(),
        _chunk("text", "v5", seq=5),
        _chunk("text", "v4", seq=4),
        _chunk("text", "v5 again", seq=5),
    )
    assert shown.messages[0].text == "v5"
    assert shown.streaming is not None
    assert shown.streaming.text_seq == 5


def test_replace_snapshots_without_seq_always_apply() -> None:
    """Replace snapshots that carry no `snapshotSeq` each replace the text (no watermark)."""
    shown = _shown(
        _start(),
        _chunk("text", "first"),
        received(
            event("stream_chunk", {"chunkType": "text", "content": "v1", "snapshotMode": "replace"})
        ),
        received(
            event("stream_chunk", {"chunkType": "text", "content": "v2", "snapshotMode": "replace"})
        ),
    )
    assert shown.messages[0].text == "v2"


def test_reasoning_snapshots_have_their_own_watermark() -> None:
    """Text and reasoning snapshots are watermarked independently."""
    shown = _shown(_start(), _chunk("text", "t", seq=7), _chunk("reasoning", "r", seq=1))
    assert shown.streaming == Streaming(
        message_id="msg-1", text_at=0, reasoning_at=1, text_seq=7, reasoning_seq=1
    )


def test_other_chunk_kinds_are_counted_not_rendered() -> None:
    """Non-text chunk kinds (e.g. grounding) do not change the text."""
    shown = _shown(
        _start(), received(event("stream_chunk", {"chunkType": "grounding", "content": "x"}))
    )
    assert shown.text == ""
    assert shown.events == 2


def test_stream_end_final_content_replaces_the_text() -> None:
    """`stream_end` with `finalContent` sets the message's final text and ends it."""
    shown = _shown(
        _start(),
        _chunk("text", "partial"),
        received(event("stream_end", {"finalContent": "Done."})),
    )
    assert shown.messages == (AssistantMessage(id="msg-1", text_pieces=("Done.",)),)
    assert shown.streaming is None


def test_a_message_is_its_text_however_it_was_streamed() -> None:
    """Text is kept as a few pieces; two messages with the same text are equal, and the
    tail reads only what it needs."""
    one = _shown(_start(), *(_chunk("text", piece) for piece in ("He", "l", "lo, ", "world")))
    other = _shown(_start(), _chunk("text", "Hello, world"))
    assert one.messages == other.messages
    assert one.messages[0].text_tail(5) == "world"
    assert one.messages[0].text_tail(100) == "Hello, world"


def test_many_chunks_keep_few_pieces() -> None:
    """Appending n chunks leaves at most log2(n)+1 pieces (no whole-text copy per chunk)."""
    shown = _shown(_start(), *(_chunk("text", "x") for _ in range(1_000)))
    message = shown.messages[0]
    assert message.text == "x" * 1_000
    assert len(message.text_pieces) <= 11


def test_stream_end_without_final_content_keeps_the_text() -> None:
    """`stream_end` without `finalContent` keeps the streamed text and ends the message."""
    shown = _shown(_start(), _chunk("text", "kept"), received(event("stream_end", {})))
    assert shown.messages == (AssistantMessage(id="msg-1", text_pieces=("kept",)),)
    assert shown.streaming is None


def test_next_stream_start_opens_a_second_message() -> None:
    """Messages accumulate; the transcript text joins them with a blank line."""
    shown = _shown(
        _start("m1"),
        _chunk("text", "one"),
        received(event("stream_end", {})),
        _start("m2"),
        _chunk("text", "two"),
    )
    assert [message.id for message in shown.messages] == ["m1", "m2"]
    assert shown.text == "one\n\ntwo"


# --------------------------------------------------------------------------- tool calls


def _tool_start(call_id: str = "t1") -> Any:
    calling = {"id": call_id, "identifier": "web", "apiName": "search"}
    return received(event("tool_start", {"toolCalling": calling, "parentMessageId": "msg-1"}))


def _tool_end(call_id: str = "t1", ok: bool = True) -> Any:
    payload = {"toolCalling": {"id": call_id}}
    return received(event("tool_end", {"isSuccess": ok, "payload": payload}))


def test_tool_start_shows_a_running_tool_call() -> None:
    """`tool_start` adds a running server-side tool call on its parent message."""
    assert _shown(_tool_start()).tool_calls == (
        ToolCallEntry(id="t1", parent_message_id="msg-1", identifier="web", api_name="search"),
    )


def test_tool_end_marks_success_or_failure() -> None:
    """`tool_end` settles the matching tool call as succeeded or failed."""
    shown = _shown(_tool_start("t1"), _tool_start("t2"), _tool_end("t1"), _tool_end("t2", False))
    assert [call.status for call in shown.tool_calls] == [
        ToolCallStatus.SUCCEEDED,
        ToolCallStatus.FAILED,
    ]


def test_repeated_tool_start_shows_the_call_once() -> None:
    """A `tool_start` repeated without a new envelope id (replay race) is not shown twice."""
    store = TestStore(fold(connected_store().state, _tool_start()))
    store.send(_tool_start(), {path("transcript.events"): 2}, effects=[])
    assert len(op_of(store.state).transcript.tool_calls) == 1
    store.finish()


def test_tool_execute_of_a_started_call_marks_it_client_executed() -> None:
    """A `tool_execute` for a call already shown by `tool_start` updates it (with what the
    executor names), not duplicates it."""
    shown = _shown(_tool_start("call-1"), received(tool_execute("call-1")))
    assert shown.tool_calls == (
        ToolCallEntry(
            id="call-1",
            parent_message_id="msg-1",
            identifier="calc",
            api_name="add",
            arguments='{"a": 1, "b": 2}',
            client_executed=True,
        ),
    )
    assert shown.events == 2


def test_tool_execute_shows_a_client_executed_call() -> None:
    """`tool_execute` appears in the transcript as a client-executed tool call."""
    assert _shown(received(tool_execute())).tool_calls == (
        ToolCallEntry(
            id="call-1",
            identifier="calc",
            api_name="add",
            arguments='{"a": 1, "b": 2}',
            client_executed=True,
        ),
    )


# --------------------------------------------------------------------------- latch and members


def test_member_events_are_counted_not_rendered() -> None:
    """Forwarded member events are delivered (counted) but never enter the transcript."""
    shown = _shown(received(chunk("member text", operation_id=MEMBER)))
    assert shown == Transcript(member_events=1)


def test_events_after_the_terminal_are_ignored() -> None:
    """After the own terminal event nothing changes the transcript (latch, invariant 15)."""
    state = fold(
        connected_store().state,
        _start(),
        _chunk("text", "answer"),
        received(event("error", {"message": "boom"})),
    )
    final = op_of(state).transcript
    assert final.error == ErrorEntry(id="msg-1.error", message="boom", parent_message_id="msg-1")
    assert final.ended
    store = TestStore(state)
    for late in (
        _chunk("text", " late"),
        received(event("stream_end", {"finalContent": "overwritten"})),
        _tool_end(),
    ):
        store.send(late, {}, effects=[])
    assert op_of(store.state).transcript == final
    store.finish()


def test_replay_after_terminal_flush_keeps_the_final_snapshot() -> None:
    """A late snapshot after the terminal cannot overwrite the final text."""
    state = fold(
        connected_store().state,
        _start(),
        _chunk("text", "final", seq=2),
        received(runtime_end()),
        _chunk("text", "stale", seq=9),
    )
    assert op_of(state).transcript.text == "final"


# --------------------------------------------------------------------------- bad input


def test_bad_frame_is_counted_and_the_connection_lives() -> None:
    """An undecodable frame is counted with its problem; the socket stays connected."""
    store = connected_store()
    problem = "frame: malformed JSON (Expecting value)"
    store.send(
        BadMessageReceived(link_id=OP, generation=1, error=problem),
        {path("bad_frames"): 1, path("last_problem"): problem},
        effects=[],
    )
    assert link_of(store.state).status is ConnectionStatus.CONNECTED
    store.finish()


def test_bad_frame_from_a_stale_socket_is_ignored() -> None:
    """A bad frame of an old generation is not counted against the live socket."""
    store = connected_store()
    store.send(BadMessageReceived(link_id=OP, generation=0, error="x"), {}, effects=[])
    store.finish()


def test_malformed_event_data_is_reported_not_fatal() -> None:
    """A known event type with badly typed data is counted and named; the run goes on."""
    store = connected_store()
    store.send(
        received(event("stream_chunk", {"chunkType": 5}, id="1")),
        {
            path("last_event_id"): "1",
            path("problems"): 1,
            path("last_problem"): "event.data.chunkType: expected str, got int",
            path("transcript.events"): 1,
        },
        effects=[],
    )
    assert op_of(store.state).status is OperationStatus.RUNNING
    store.send(_chunk("text", "fine"), {TRANSCRIPT: ANY}, effects=[])
    assert op_of(store.state).transcript.text == "fine"
    store.finish()


def test_unknown_message_type_is_ignored() -> None:
    """A frame type this client does not handle changes nothing (forward compatibility)."""
    store = connected_store()
    store.send(received(UnknownMessage(type="status_change")), {}, effects=[])
    store.finish()


def test_unknown_event_type_is_counted() -> None:
    """An event type without a typed view is applied as an opaque event (counted only)."""
    shown = _shown(received(event("notify_update", {"anything": [1, 2]})))
    assert shown == Transcript(events=1)


def test_resume_status_does_not_touch_the_transcript() -> None:
    """A terminal resume status ends the run but leaves the transcript as streamed."""
    state = fold(connected_store().state, _chunk("text", "kept"))
    before = op_of(state).transcript
    state = fold(state, received(resume_complete(SessionStatus.COMPLETED)))
    assert op_of(state).transcript == before


def test_empty_state_has_no_transcript() -> None:
    """The transcript selector answers None for an unknown operation."""
    assert transcript(GatewayState(), OP) is None


def test_own_error_with_unreadable_data_still_shows_an_inline_error() -> None:
    """An own `error` event whose data is not an object still latches the transcript
    with an inline error, as well as failing the run."""
    state = fold(connected_store().state, received(event("error", data="boom", id="1")))
    transcript = op_of(state).transcript
    assert transcript.ended
    assert transcript.error is not None
    assert op_of(state).outcome is not None
