"""What an operation has shown so far: assistant messages, tool calls, the inline error.

Owns: folding one own agent event into a `Transcript` (stream_start / stream_chunk with
replace-snapshot watermarks / stream_end / tool_start / tool_end / tool_execute /
error / agent_runtime_end), and the terminal latch of PROTOCOL.md 4.4: after the first
own `agent_runtime_end` or `error` every later event is ignored. Must not know: sockets,
timers or the operation's lifecycle.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs
import immutables

from gatewayops._frozen import copier
from gatewayops._persistent import Vector, append_piece, join_pieces, tail_of_pieces
from gatewayops.protocol import (
    AgentEvent,
    ChunkType,
    ErrorData,
    EventData,
    EventType,
    StreamChunkData,
    StreamEndData,
    StreamStartData,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
)

__all__ = ["AssistantMessage", "ToolCallEntry", "ToolCallStatus", "Transcript", "apply_event"]


class ToolCallStatus(enum.StrEnum):
    """Where a tool call shown in the transcript stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@attrs.frozen(kw_only=True, weakref_slot=False)
class AssistantMessage:
    """One streamed assistant message; `*_seq` are the replace-snapshot watermarks.

    Its text is kept as a few pieces (see `gatewayops._persistent`), so appending a
    chunk costs the same at any length; `text` joins them. Two messages with the same
    text are equal however it was split.
    """

    id: str
    text_pieces: tuple[str, ...] = attrs.field(default=(), eq=join_pieces)
    reasoning_pieces: tuple[str, ...] = attrs.field(default=(), eq=join_pieces)
    text_seq: int = -1
    reasoning_seq: int = -1
    ended: bool = False

    @property
    def text(self) -> str:
        """The message's text so far."""
        return join_pieces(self.text_pieces)

    @property
    def reasoning(self) -> str:
        """The message's reasoning so far."""
        return join_pieces(self.reasoning_pieces)

    def text_tail(self, chars: int) -> str:
        """The last `chars` characters of the text, without joining all of it."""
        return tail_of_pieces(self.text_pieces, chars)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCallEntry:
    """A tool call as the transcript shows it (server-side or client-executed)."""

    id: str
    identifier: str = ""
    api_name: str = ""
    status: ToolCallStatus = ToolCallStatus.RUNNING
    client_executed: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class Transcript:
    """Everything an operation's own events have shown, in order.

    Attributes:
        messages: assistant messages, oldest first.
        tool_calls: tool calls, oldest first.
        tool_call_index: position of each tool call in `tool_calls`, by id.
        error: the inline error of an `error` event, if any.
        ended: the terminal latch; once set, later events change nothing.
        events: own events delivered (a repeated tool call counts, but is shown once).
        member_events: forwarded events of other operations (delivered, not rendered).
    """

    messages: Vector[AssistantMessage] = Vector()
    tool_calls: Vector[ToolCallEntry] = Vector()
    tool_call_index: immutables.Map[str, int] = attrs.field(
        default=immutables.Map(), eq=False, repr=False
    )
    error: str | None = None
    ended: bool = False
    events: int = 0
    member_events: int = 0

    @property
    def text(self) -> str:
        """All assistant text, messages joined by blank lines."""
        return "\n\n".join(message.text for message in self.messages if message.text_pieces)

    def tool_call(self, tool_call_id: str) -> ToolCallEntry | None:
        """The tool call with this id, if shown."""
        index = self.tool_call_index.get(tool_call_id)
        return None if index is None else self.tool_calls[index]


# The changes a streamed event makes (see gatewayops._frozen); rarer ones use attrs.evolve.
# mypy checks each call like attrs.evolve.
if TYPE_CHECKING:
    from attrs import evolve as _counted
    from attrs import evolve as _with_messages
    from attrs import evolve as _with_reasoning
    from attrs import evolve as _with_reasoning_snapshot
    from attrs import evolve as _with_text
    from attrs import evolve as _with_text_snapshot
else:
    _counted = copier(Transcript, "events")
    _with_messages = copier(Transcript, "messages", "events")
    _with_text = copier(AssistantMessage, "text_pieces")
    _with_reasoning = copier(AssistantMessage, "reasoning_pieces")
    _with_text_snapshot = copier(AssistantMessage, "text_pieces", "text_seq")
    _with_reasoning_snapshot = copier(AssistantMessage, "reasoning_pieces", "reasoning_seq")


_TEXT = ChunkType.TEXT.value
_REASONING = ChunkType.REASONING.value


def _apply_chunk(transcript: Transcript, chunk: StreamChunkData) -> Transcript:
    is_text = chunk.chunk_type == _TEXT
    if not is_text and chunk.chunk_type != _REASONING:
        return _counted(transcript, events=transcript.events + 1)
    piece = chunk.content if is_text else (chunk.reasoning or chunk.content)
    if piece is None:
        return _counted(transcript, events=transcript.events + 1)
    messages = transcript.messages
    streaming = messages.last if messages else None  # the message still streaming, if any
    if streaming is not None and streaming.ended:
        streaming = None
    message = AssistantMessage(id="") if streaming is None else streaming  # implicit one
    if chunk.snapshot_mode == "replace":
        watermark = message.text_seq if is_text else message.reasoning_seq
        seq = chunk.snapshot_seq
        if seq is None:  # an unnumbered snapshot cannot be stale: apply it, keep the mark
            seq = watermark
        elif seq <= watermark:
            return _counted(transcript, events=transcript.events + 1)
        if is_text:
            updated = _with_text_snapshot(
                message, text_pieces=append_piece((), piece), text_seq=seq
            )
        else:
            updated = _with_reasoning_snapshot(
                message, reasoning_pieces=append_piece((), piece), reasoning_seq=seq
            )
    elif is_text:
        updated = _with_text(message, text_pieces=append_piece(message.text_pieces, piece))
    else:
        updated = _with_reasoning(
            message, reasoning_pieces=append_piece(message.reasoning_pieces, piece)
        )
    messages = messages.append(updated) if streaming is None else messages.replace_last(updated)
    return _with_messages(transcript, messages=messages, events=transcript.events + 1)


def _add_call(transcript: Transcript, entry: ToolCallEntry) -> Transcript:
    return attrs.evolve(
        transcript,
        tool_calls=transcript.tool_calls.append(entry),
        tool_call_index=transcript.tool_call_index.set(entry.id, len(transcript.tool_calls)),
        events=transcript.events + 1,
    )


def _replace_call(transcript: Transcript, entry: ToolCallEntry) -> Transcript:
    index = transcript.tool_call_index[entry.id]
    return attrs.evolve(
        transcript,
        tool_calls=transcript.tool_calls.set(index, entry),
        events=transcript.events + 1,
    )


def _apply_tool_event(
    transcript: Transcript, data: ToolStartData | ToolEndData | ToolExecuteData
) -> Transcript:
    match data:
        case ToolStartData(tool_calling=calling):
            if calling.id in transcript.tool_call_index:
                return _counted(transcript, events=transcript.events + 1)  # a repeat: shown once
            entry = ToolCallEntry(
                id=calling.id, identifier=calling.identifier, api_name=calling.api_name
            )
            return _add_call(transcript, entry)
        case ToolExecuteData():
            shown = transcript.tool_call(data.tool_call_id)
            if shown is None:
                entry = ToolCallEntry(
                    id=data.tool_call_id,
                    identifier=data.identifier,
                    api_name=data.api_name,
                    client_executed=True,
                )
                return _add_call(transcript, entry)
            if shown.client_executed:
                return _counted(transcript, events=transcript.events + 1)  # a repeat: run once
            return _replace_call(transcript, attrs.evolve(shown, client_executed=True))
        case ToolEndData(is_success=ok, tool_call_id=call_id):
            shown = None if call_id is None else transcript.tool_call(call_id)
            if shown is None:
                return _counted(transcript, events=transcript.events + 1)
            status = ToolCallStatus.SUCCEEDED if ok else ToolCallStatus.FAILED
            return _replace_call(transcript, attrs.evolve(shown, status=status))


def _end(transcript: Transcript, error: str) -> Transcript:
    return attrs.evolve(transcript, error=error, ended=True, events=transcript.events + 1)


def apply_event(transcript: Transcript, event: AgentEvent, data: EventData | None) -> Transcript:
    """Fold one own event (with its parsed data, if any) into the transcript.

    Unreadable data (`UnreadableData`) shows nothing, but the event still counts for
    what its type decides: an `error` is an inline error, `agent_runtime_end` latches.
    """
    if transcript.ended:
        return transcript
    match data:
        case StreamChunkData():
            return _apply_chunk(transcript, data)
        case StreamStartData(assistant_message_id=message_id):
            message = AssistantMessage(id=message_id or f"step-{event.step_index}")
            return _with_messages(
                transcript,
                messages=transcript.messages.append(message),
                events=transcript.events + 1,
            )
        case StreamEndData(final_content=final):
            if not transcript.messages:
                return _counted(transcript, events=transcript.events + 1)
            last = transcript.messages[-1]
            pieces = last.text_pieces if final is None else append_piece((), final)
            ended = attrs.evolve(last, text_pieces=pieces, ended=True)
            return _with_messages(
                transcript,
                messages=transcript.messages.set(-1, ended),
                events=transcript.events + 1,
            )
        case ToolStartData() | ToolEndData() | ToolExecuteData():
            return _apply_tool_event(transcript, data)
        case ErrorData(message=message):
            return _end(transcript, message)
    if event.type == EventType.ERROR:  # its data did not parse: still an inline error
        return _end(transcript, "the agent reported an error (its details were unreadable)")
    if event.type == EventType.AGENT_RUNTIME_END:
        return attrs.evolve(transcript, ended=True, events=transcript.events + 1)
    return _counted(transcript, events=transcript.events + 1)
