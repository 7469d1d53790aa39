"""The message list the reference gateway keeps of a run that sends no patches
(`_kept_messages.MessageKeeper`): what a refetch returns is what the run's events
showed (PROTOCOL.md 8.6, 7.8), so a client that lost events gets them back.

Most tests publish events straight into a registry the keeper watches; the ready-made
scripts run on a real gateway (`gateway` fixture)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gatewayops.gateway import Gateway, clean_run, error_run, tool_run
from gatewayops.gateway._kept_messages import MessageKeeper
from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._patches import PatchMessage, message_list, publish_patch
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.protocol import EventType


def _run() -> tuple[OperationRegistry, Operation]:
    registry = OperationRegistry(GatewayClock())
    registry.watchers.append(MessageKeeper())
    return registry, registry.create("op", "t")


def _publish(registry: OperationRegistry, operation: Operation, *events: tuple[str, Any]) -> None:
    for event_type, data in events:
        registry.publish(operation, event_type, data, 0)


def _start(message_id: str, parent: str | None = None) -> tuple[str, Any]:
    message: dict[str, Any] = {"id": message_id, "role": "assistant"}
    if parent is not None:
        message["parentId"] = parent
    return EventType.STREAM_START, {"assistantMessage": message}


def _text(piece: str, **more: Any) -> tuple[str, Any]:
    return EventType.STREAM_CHUNK, {"chunkType": "text", "content": piece, **more}


def _reasoning(piece: str) -> tuple[str, Any]:
    return EventType.STREAM_CHUNK, {"chunkType": "reasoning", "reasoning": piece}


async def test_streamed_text_and_reasoning_are_kept_on_their_message(gateway: Gateway) -> None:
    """A clean run with reasoning leaves one assistant message holding the whole text
    and the whole reasoning, at revision 0 (no patch was ever counted)."""
    run = gateway.start_run(clean_run("One two three.", chunks=3, reasoning="Hmm, let me see."))
    await gateway.wait_finished(run.operation_id)
    listed = gateway.messages(run.operation_id)
    (message,) = listed["messages"]
    assert (message["role"], message["content"]) == ("assistant", "One two three.")
    assert message["reasoning"] == {"content": "Hmm, let me see."}
    assert listed["revision"] == 0


async def test_a_server_tool_run_keeps_the_call_its_answer_and_the_next_message(
    gateway: Gateway,
) -> None:
    """`tool_start`/`tool_end` file the call on the message that made it and put its
    result in a `tool` message right after it; the answer streamed next comes last."""
    run = gateway.start_run(tool_run(client=False, answer="Found it."))
    await gateway.wait_finished(run.operation_id)
    first, answer, second = gateway.messages(run.operation_id)["messages"]
    (call,) = first["tools"]
    assert (first["content"], call["identifier"], call["apiName"]) == (
        "Let me look that up.",
        "web-search",
        "search",
    )
    assert answer == {
        "id": f"{call['id']}.result",
        "role": "tool",
        "content": "ok",
        "tool_call_id": call["id"],
    }
    assert (second["role"], second["content"]) == ("assistant", "Found it.")


async def test_an_error_is_kept_on_the_message_it_cut(gateway: Gateway) -> None:
    """An `error` mid-stream leaves the partial text and the error's data on the
    message being streamed."""
    run = gateway.start_run(error_run("provider said 500", text="Half"))
    await gateway.wait_finished(run.operation_id)
    (message,) = gateway.messages(run.operation_id)["messages"]
    assert (message["content"], message["error"]) == ("Half", {"message": "provider said 500"})


async def test_an_error_with_no_message_streaming_gets_a_message_of_its_own() -> None:
    """After `stream_end` no message is current: an `error` then is kept on a new
    assistant message named after the operation, after the one that ended."""
    registry, operation = _run()
    _publish(
        registry,
        operation,
        _start("m1"),
        _text("done"),
        (EventType.STREAM_END, {}),
        (EventType.ERROR, {"message": "late"}),
    )
    assert [(m["id"], m.get("error")) for m in operation.messages] == [
        ("m1", None),
        ("op.error", {"message": "late"}),
    ]


async def test_a_replace_snapshot_and_final_content_replace_the_text() -> None:
    """A `snapshotMode: replace` chunk replaces the text kept so far, later chunks
    append to it, and `stream_end`'s `finalContent` has the last word."""
    registry, operation = _run()
    _publish(
        registry,
        operation,
        _start("m1", parent="u1"),
        _text("draft"),
        _text("Clean", snapshotMode="replace", snapshotSeq=1),
        _text(" copy"),
    )
    assert operation.messages == [
        {"id": "m1", "role": "assistant", "content": "Clean copy", "parentId": "u1"}
    ]
    _publish(registry, operation, (EventType.STREAM_END, {"finalContent": "Final."}))
    assert operation.messages[0]["content"] == "Final."


async def test_a_snapshot_list_replaces_what_the_events_built() -> None:
    """A `step_start` carrying `uiMessages` is the server's list: it replaces what was
    kept, and the next message streamed goes after it."""
    registry, operation = _run()
    listed = [{"id": "u1", "role": "user", "content": "hi"}]
    _publish(
        registry,
        operation,
        _start("m0"),
        _text("gone"),
        (EventType.STEP_START, {"uiMessages": listed}),
        _start("m1", parent="u1"),
        _text("hello"),
    )
    assert [(m["id"], m["content"]) for m in operation.messages] == [("u1", "hi"), ("m1", "hello")]


async def test_a_list_handed_out_never_changes_afterwards() -> None:
    """The list a refetch got mid-run (`message_list`) is a snapshot: the text,
    reasoning and calls the run adds later do not change it."""
    registry, operation = _run()
    _publish(registry, operation, _start("m1"), _text("so far"), _reasoning("a thought"))
    early = message_list(operation)
    frozen = repr(early)
    call = {"id": "c1", "identifier": "i", "apiName": "a", "arguments": "{}"}
    _publish(
        registry,
        operation,
        _text(" and more"),
        _reasoning(" and more"),
        (EventType.TOOL_START, {"parentMessageId": "m1", "toolCalling": call}),
    )
    assert repr(early) == frozen
    assert message_list(operation)["messages"][0]["content"] == "so far and more"


async def test_a_run_in_patch_mode_keeps_its_list_by_its_patches_alone() -> None:
    """Once a `message_patch` revision is counted, the run's own events change nothing
    of its list: the patches are what the server persisted."""
    registry, operation = _run()
    user = {"id": "u1", "role": "user", "content": "hi"}
    publish_patch(registry, operation, PatchMessage(message=user))
    _publish(registry, operation, _start("m1", parent="u1"), _text("streamed"))
    assert operation.messages == [user]


async def test_a_mirrored_members_event_is_not_this_runs_message() -> None:
    """An event whose `operationId` is a member's (mirrored onto a supervisor) is not
    kept in the supervisor's list."""
    registry, operation = _run()
    start_type, start = _start("member-msg")
    registry.publish(operation, start_type, start, 0, event_operation_id="member")
    assert operation.messages == []


async def test_a_call_is_filed_once_by_id_on_the_message_it_names() -> None:
    """A `tools_calling` chunk files the call on the current message; the
    `tool_execute` of the same id (naming that message) replaces it there, not twice;
    a failed `tool_end` leaves the call and writes no `tool` message (a `tool`
    message reads as a success)."""
    registry, operation = _run()
    calling = {"id": "c1", "identifier": "i", "apiName": "a", "arguments": '{"q"'}
    execute = {
        "toolCallId": "c1",
        "identifier": "i",
        "apiName": "a",
        "arguments": '{"q": 1}',
        "assistantMessageId": "m1",
    }
    failed = {"isSuccess": False, "payload": {"parentMessageId": "m1", "toolCalling": calling}}
    _publish(
        registry,
        operation,
        _start("m1"),
        (EventType.STREAM_CHUNK, {"chunkType": "tools_calling", "toolsCalling": [calling]}),
        (EventType.STREAM_END, {}),
        (EventType.TOOL_EXECUTE, execute),
    )
    (message,) = operation.messages
    assert message["tools"] == [{**calling, "arguments": '{"q": 1}'}]
    _publish(registry, operation, (EventType.TOOL_END, failed))
    assert [m["id"] for m in operation.messages] == ["m1"]


_STREAMED = st.lists(
    st.one_of(
        st.sampled_from(["m1", "m2"]).map(_start),
        st.text(max_size=3).map(_text),
        st.text(max_size=3).map(_reasoning),
        st.text(max_size=3).map(lambda piece: _text(piece, snapshotMode="replace", snapshotSeq=1)),
        st.just((EventType.STREAM_END, {})),
    ),
    max_size=12,
)


@given(_STREAMED)
async def test_text_kept_as_pieces_reads_as_if_joined_at_every_chunk(events: list[Any]) -> None:
    """Streamed text is joined only when the list is read, which nobody can tell: a
    run whose list is read after every event ends with the same list, and the same
    lists along the way, as one read only at the end."""
    registry, read_each_time = _run()
    read: list[tuple[list[dict[str, Any]], str]] = []  # each list read, and what it held
    for event in events:
        _publish(registry, read_each_time, event)
        read.append((read_each_time.messages, repr(read_each_time.messages)))
    other, read_at_the_end = _run()
    _publish(other, read_at_the_end, *events)
    assert read_at_the_end.messages == read_each_time.messages
    assert [repr(listed) for listed, _ in read] == [held for _, held in read]
