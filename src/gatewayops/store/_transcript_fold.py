"""Folding one own agent event into the transcript, in event order.

Owns: what each event shows (PROTOCOL.md 1.4, 8.6) and the terminal latch of 4.4
(after the first own `agent_runtime_end` or `error` every later event is ignored):

| event | shows |
|---|---|
| `stream_start` | a new streaming message (its entries appear with its first content) |
| `stream_chunk` text | the streaming message's text (a replace snapshot above its mark: all) |
| `stream_chunk` reasoning | the open thinking pass, or a new one (same rule, its own mark) |
| `stream_chunk` tools_calling | each call it lists, created or updated on the streaming message |
| `tool_start` / `tool_execute` | the call running (server-side / here) |
| `tool_end` (either payload shape) | the call succeeded or failed, with its result or error |
| `stream_end` | the message ends (`finalContent` replaces its text) |
| `step_start` with `uiMessages` | the server's list, adopted (`_transcript_sync`) |
| `message_patch` | the next revision applied, or `needs_refetch` (`_transcript_sync`) |
| `step_start` with a `messageRevision` above the one held | `needs_refetch` |
| `agent_runtime_end` with a `messageRevision` above the one held | `needs_refetch`; it is pending |
| `error` | an inline error entry (message, type, body); latches |
| `agent_runtime_end` | its `uiMessages`, if any, adopted; latches |

A thinking pass is closed by text, a tool event, `stream_end`, `stream_start` and the
terminal. Content with no message streaming goes to an implicit one named for its
step. Unreadable data (`UnreadableData`) shows nothing, but the event still counts
for what its type decides. Must not know: sockets, timers, the operation's lifecycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import attrs

from gatewayops._frozen import copier
from gatewayops._persistent import Vector, append_piece
from gatewayops.protocol import (
    AgentEvent,
    ChunkType,
    ErrorData,
    EventData,
    EventType,
    MessagePatchData,
    RuntimeEndData,
    StepStartData,
    StreamChunkData,
    StreamEndData,
    StreamStartData,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
)
from gatewayops.store._transcript import (
    AssistantMessage,
    Entry,
    ErrorEntry,
    Reasoning,
    Streaming,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
)
from gatewayops.store._transcript_sync import adopt_messages, apply_patch

__all__ = ["apply_event"]

UNREADABLE_ERROR = "the agent reported an error (its details were unreadable)"

# The changes a streamed chunk makes (see gatewayops._frozen); rarer ones use attrs.evolve.
# mypy checks each call like attrs.evolve.
if TYPE_CHECKING:
    from attrs import evolve as _counted
    from attrs import evolve as _with_entries
    from attrs import evolve as _with_stream
    from attrs import evolve as _with_text
    from attrs import evolve as _with_text_at
else:
    _counted = copier(Transcript, "events")
    _with_entries = copier(Transcript, "entries", "events")
    _with_stream = copier(Transcript, "entries", "streaming", "events")
    _with_text = copier(AssistantMessage, "text_pieces")
    _with_text_at = copier(Streaming, "text_at", "reasoning_at")

_E = TypeVar("_E", AssistantMessage, Reasoning, ToolCallEntry)
_TEXT = ChunkType.TEXT.value
_REASONING = ChunkType.REASONING.value
_TOOLS_CALLING = ChunkType.TOOLS_CALLING.value


def _count(transcript: Transcript) -> Transcript:
    return _counted(transcript, events=transcript.events + 1)


def _at(entries: Vector[Entry], position: int, kind: type[_E]) -> _E:
    entry = entries.last if position == len(entries) - 1 else entries[position]
    assert isinstance(entry, kind), f"entry {position} is a {type(entry).__name__}"
    return entry


def _implicit(event: AgentEvent) -> Streaming:
    """The message content goes to when none is streaming: one named for its step."""
    return Streaming(message_id=f"step-{event.step_index}")


def _closed(streaming: Streaming | None) -> Streaming | None:
    """`streaming` with its thinking pass closed."""
    if streaming is None or streaming.reasoning_at is None:
        return streaming
    return attrs.evolve(streaming, reasoning_at=None)


def _add_text(
    transcript: Transcript, streaming: Streaming, piece: str, seq: int | None
) -> Transcript:
    """Append `piece` to the streaming message's text (replace it when `seq` is a
    snapshot's), opening the message's entry with its first text."""
    entries, at = transcript.entries, streaming.text_at
    if at is None:
        at = len(entries)
        message = AssistantMessage(
            id=streaming.message_id,
            parent_message_id=streaming.reply_to,
            text_pieces=append_piece((), piece),
        )
        entries = entries.append(message)
    else:
        message = _at(entries, at, AssistantMessage)
        kept = () if seq is not None else message.text_pieces
        entries = entries.set(at, _with_text(message, text_pieces=append_piece(kept, piece)))
    if streaming.text_at != at or streaming.reasoning_at is not None:
        streaming = _with_text_at(streaming, text_at=at, reasoning_at=None)
    if seq is not None:
        streaming = attrs.evolve(streaming, text_seq=seq)
    events = transcript.events + 1
    return _with_stream(transcript, entries=entries, streaming=streaming, events=events)


def _add_reasoning(
    transcript: Transcript, streaming: Streaming, piece: str, seq: int | None
) -> Transcript:
    """Append `piece` to the open thinking pass (or replace it), opening one if none is."""
    entries, at = transcript.entries, streaming.reasoning_at
    if at is None:
        at = len(entries)
        thought = Reasoning(
            id=f"{streaming.message_id}.reasoning.{at}",
            parent_message_id=streaming.message_id,
            text_pieces=append_piece((), piece),
        )
        entries = entries.append(thought)
        streaming = attrs.evolve(streaming, reasoning_at=at)
    else:
        thought = _at(entries, at, Reasoning)
        kept = () if seq is not None else thought.text_pieces
        entries = entries.set(at, attrs.evolve(thought, text_pieces=append_piece(kept, piece)))
    if seq is not None:
        streaming = attrs.evolve(streaming, reasoning_seq=seq)
    events = transcript.events + 1
    return _with_stream(transcript, entries=entries, streaming=streaming, events=events)


def _apply_chunk(transcript: Transcript, chunk: StreamChunkData, event: AgentEvent) -> Transcript:
    kind = chunk.chunk_type
    if kind == _TOOLS_CALLING:
        return _show_calls(transcript, chunk.tools_calling)
    is_text = kind == _TEXT
    if not is_text and kind != _REASONING:
        return _count(transcript)
    piece = chunk.content if is_text else (chunk.reasoning or chunk.content)
    if piece is None:
        return _count(transcript)
    streaming = transcript.streaming or _implicit(event)
    seq = None
    if chunk.snapshot_mode == "replace":
        watermark = streaming.text_seq if is_text else streaming.reasoning_seq
        seq = chunk.snapshot_seq
        if seq is None:  # an unnumbered snapshot cannot be stale: apply it, keep the mark
            seq = watermark
        elif seq <= watermark:
            return _count(transcript)
    if is_text:
        return _add_text(transcript, streaming, piece, seq)
    return _add_reasoning(transcript, streaming, piece, seq)


def _put_call(
    transcript: Transcript, entry: ToolCallEntry, at: int | None, *, counted: bool = True
) -> Transcript:
    """`entry` shown at its position `at`, or appended when new; the thinking pass closes."""
    if at is None:
        entries = transcript.entries.append(entry)
        calls = transcript.calls.set(entry.id, len(transcript.entries))
    else:
        entries, calls = transcript.entries.set(at, entry), transcript.calls
    return attrs.evolve(
        transcript,
        entries=entries,
        calls=calls,
        streaming=_closed(transcript.streaming),
        events=transcript.events + int(counted),
    )


def _described(entry: ToolCallEntry, calling: ToolCalling) -> ToolCallEntry:
    """`entry` with what `calling` says of it (an empty field says nothing)."""
    return attrs.evolve(
        entry,
        identifier=calling.identifier or entry.identifier,
        api_name=calling.api_name or entry.api_name,
        arguments=calling.arguments or entry.arguments,
    )


def _new_call(transcript: Transcript, calling: ToolCalling, parent: str | None) -> ToolCallEntry:
    streaming = transcript.streaming
    if parent is None and streaming is not None:
        parent = streaming.message_id
    return _described(ToolCallEntry(id=calling.id, parent_message_id=parent), calling)


def _show_calls(transcript: Transcript, callings: tuple[ToolCalling, ...]) -> Transcript:
    """A `tools_calling` chunk: each call it lists, new ones calling, known ones updated."""
    result = attrs.evolve(
        transcript, streaming=_closed(transcript.streaming), events=transcript.events + 1
    )
    for calling in callings:
        at = result.calls.get(calling.id)
        if at is None:
            entry = attrs.evolve(_new_call(result, calling, None), status=ToolCallStatus.CALLING)
        else:
            entry = _described(_at(result.entries, at, ToolCallEntry), calling)
        result = _put_call(result, entry, at, counted=False)
    return result


def _apply_tool_event(
    transcript: Transcript, data: ToolStartData | ToolEndData | ToolExecuteData
) -> Transcript:
    match data:
        case ToolStartData(tool_calling=calling, parent_message_id=parent):
            at = transcript.calls.get(calling.id)
            if at is None:
                return _put_call(transcript, _new_call(transcript, calling, parent), None)
            shown = _at(transcript.entries, at, ToolCallEntry)
            if shown.status is not ToolCallStatus.CALLING:
                return _count(transcript)  # a repeat: shown once
            running = attrs.evolve(_described(shown, calling), status=ToolCallStatus.RUNNING)
            return _put_call(transcript, running, at)
        case ToolExecuteData():
            calling = ToolCalling(
                id=data.tool_call_id,
                identifier=data.identifier,
                api_name=data.api_name,
                arguments=data.arguments or "",
            )
            at = transcript.calls.get(calling.id)
            if at is None:
                shown = _new_call(transcript, calling, data.assistant_message_id)
            else:
                shown = _described(_at(transcript.entries, at, ToolCallEntry), calling)
                if shown.client_executed:
                    return _count(transcript)  # a repeat: run once
            entry = attrs.evolve(shown, status=ToolCallStatus.RUNNING, client_executed=True)
            return _put_call(transcript, entry, at)
        case ToolEndData(tool_calling=calling):
            if calling is None:
                return _count(transcript)
            at = transcript.calls.get(calling.id)
            if at is None:
                shown = _new_call(transcript, calling, data.parent_message_id)
            else:
                shown = _described(_at(transcript.entries, at, ToolCallEntry), calling)
            status = ToolCallStatus.SUCCEEDED if data.is_success else ToolCallStatus.FAILED
            ended = attrs.evolve(shown, status=status, result=data.result, error=data.error)
            return _put_call(transcript, ended, at)


def _start_message(transcript: Transcript, data: StreamStartData, event: AgentEvent) -> Transcript:
    message_id = data.assistant_message_id or f"step-{event.step_index}"
    streaming = Streaming(message_id=message_id, reply_to=data.parent_id)
    return attrs.evolve(transcript, streaming=streaming, events=transcript.events + 1)


def _end_message(transcript: Transcript, final: str | None) -> Transcript:
    streaming = transcript.streaming
    if streaming is None:
        return _count(transcript)
    if final is None:
        return attrs.evolve(transcript, streaming=None, events=transcript.events + 1)
    replaced = _add_text(transcript, streaming, final, streaming.text_seq)  # counts the event
    return attrs.evolve(replaced, streaming=None)


def _end(transcript: Transcript, error: ErrorData | None) -> Transcript:
    """The run's own terminal: the thinking pass and the message close, the latch sets,
    and an `error` shows inline on the message it interrupted."""
    entries = transcript.entries
    if error is not None:
        streaming = transcript.streaming
        parent = None if streaming is None else streaming.message_id
        entry = ErrorEntry(
            id="error" if parent is None else f"{parent}.error",
            message=error.message,
            parent_message_id=parent,
            kind=error.kind,
            body=error.body,
        )
        entries = entries.append(entry)
    return attrs.evolve(
        transcript, entries=entries, streaming=None, ended=True, events=transcript.events + 1
    )


def apply_event(transcript: Transcript, event: AgentEvent, data: EventData | None) -> Transcript:
    """Fold one own event (with its parsed data, if any) into the transcript."""
    if transcript.ended:
        return transcript
    match data:
        case StreamChunkData():
            return _apply_chunk(transcript, data, event)
        case StreamStartData():
            return _start_message(transcript, data, event)
        case StreamEndData(final_content=final):
            return _end_message(transcript, final)
        case ToolStartData() | ToolEndData() | ToolExecuteData():
            return _apply_tool_event(transcript, data)
        case ErrorData():
            return _end(transcript, data)
        case StepStartData(ui_messages=messages) if messages is not None:
            return _count(adopt_messages(transcript, messages))
        case (
            StepStartData(message_revision=revision) | RuntimeEndData(message_revision=revision)
        ) if revision is not None and revision > (transcript.revision or 0):
            behind = attrs.evolve(transcript, needs_refetch=True)  # patches were missed
            if isinstance(data, StepStartData):
                return _count(behind)
            return _end(attrs.evolve(behind, pending_revision=revision), None)
        case MessagePatchData():
            return _count(apply_patch(transcript, data))
        case RuntimeEndData(ui_messages=messages) if messages is not None:
            return _end(adopt_messages(transcript, messages), None)
    if event.type == EventType.ERROR:  # its data did not parse: still an inline error
        return _end(transcript, ErrorData(message=UNREADABLE_ERROR))
    if event.type == EventType.AGENT_RUNTIME_END:
        return _end(transcript, None)
    return _count(transcript)
