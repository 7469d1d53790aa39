"""What an operation has shown so far: assistant messages, tool calls, the inline error.

Owns: folding one own agent event into a `Transcript` (stream_start / stream_chunk with
replace-snapshot watermarks / stream_end / tool_start / tool_end / tool_execute /
error / agent_runtime_end), and the terminal latch of PROTOCOL.md 4.4: after the first
own `agent_runtime_end` or `error` every later event is ignored. Must not know: sockets,
timers or the operation's lifecycle.
"""

from __future__ import annotations

import enum

import attrs

from gatewayops._frozen import copier
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
    """One streamed assistant message; `*_seq` are the replace-snapshot watermarks."""

    id: str
    text: str = ""
    reasoning: str = ""
    text_seq: int = -1
    reasoning_seq: int = -1
    ended: bool = False


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
        error: the inline error of an `error` event, if any.
        ended: the terminal latch; once set, later events change nothing.
        events: own events applied (duplicates never reach here).
        member_events: forwarded events of other operations (delivered, not rendered).
    """

    messages: tuple[AssistantMessage, ...] = ()
    tool_calls: tuple[ToolCallEntry, ...] = ()
    error: str | None = None
    ended: bool = False
    events: int = 0
    member_events: int = 0

    @property
    def text(self) -> str:
        """All assistant text, messages joined by blank lines."""
        return "\n\n".join(message.text for message in self.messages if message.text)


# The changes a streamed event makes (see gatewayops._frozen); rarer ones use attrs.evolve.
_counted = copier(Transcript, "events")
_with_messages = copier(Transcript, "messages", "events")
_with_calls = copier(Transcript, "tool_calls", "events")
_with_text = copier(AssistantMessage, "text")
_with_reasoning = copier(AssistantMessage, "reasoning")
_with_text_snapshot = copier(AssistantMessage, "text", "text_seq")
_with_reasoning_snapshot = copier(AssistantMessage, "reasoning", "reasoning_seq")


def _with_last_message(transcript: Transcript, message: AssistantMessage) -> Transcript:
    """Replace (or, when `transcript` has none streaming, append) the current message."""
    messages = transcript.messages
    if messages and not messages[-1].ended:
        messages = messages[:-1]
    return _with_messages(transcript, (*messages, message), transcript.events + 1)


def _current_message(transcript: Transcript) -> AssistantMessage:
    """The message chunks go to; an implicit one when none is streaming."""
    if transcript.messages and not transcript.messages[-1].ended:
        return transcript.messages[-1]
    return AssistantMessage(id="")


_TEXT = ChunkType.TEXT.value
_REASONING = ChunkType.REASONING.value


def _apply_chunk(transcript: Transcript, chunk: StreamChunkData) -> Transcript:
    is_text = chunk.chunk_type == _TEXT
    if not is_text and chunk.chunk_type != _REASONING:
        return _counted(transcript, transcript.events + 1)
    piece = chunk.content if is_text else (chunk.reasoning or chunk.content)
    message = _current_message(transcript)
    if piece is None:
        return _counted(transcript, transcript.events + 1)
    if chunk.snapshot_mode == "replace":
        watermark = message.text_seq if is_text else message.reasoning_seq
        seq = chunk.snapshot_seq
        if seq is None:  # an unnumbered snapshot cannot be stale: apply it, keep the mark
            seq = watermark
        elif seq <= watermark:
            return _counted(transcript, transcript.events + 1)
        if is_text:
            updated = _with_text_snapshot(message, piece, seq)
        else:
            updated = _with_reasoning_snapshot(message, piece, seq)
    elif is_text:
        updated = _with_text(message, message.text + piece)
    else:
        updated = _with_reasoning(message, message.reasoning + piece)
    return _with_last_message(transcript, updated)


def _set_tool_status(
    transcript: Transcript, tool_call_id: str | None, status: ToolCallStatus
) -> tuple[ToolCallEntry, ...]:
    return tuple(
        attrs.evolve(call, status=status) if call.id == tool_call_id else call
        for call in transcript.tool_calls
    )


def _shown_call(transcript: Transcript, tool_call_id: str) -> ToolCallEntry | None:
    for call in transcript.tool_calls:
        if call.id == tool_call_id:
            return call
    return None


def _apply_tool_event(transcript: Transcript, data: EventData) -> Transcript:
    match data:
        case ToolStartData(tool_calling=calling):
            if _shown_call(transcript, calling.id) is not None:
                return transcript  # a repeat (replay without envelope ids): shown once
            entry = ToolCallEntry(
                id=calling.id, identifier=calling.identifier, api_name=calling.api_name
            )
            calls = (*transcript.tool_calls, entry)
        case ToolExecuteData():
            shown = _shown_call(transcript, data.tool_call_id)
            if shown is not None:
                if shown.client_executed:
                    return transcript  # a repeat: the call is shown (and run) once
                calls = tuple(
                    attrs.evolve(call, client_executed=True) if call is shown else call
                    for call in transcript.tool_calls
                )
                return _with_calls(transcript, calls, transcript.events + 1)
            entry = ToolCallEntry(
                id=data.tool_call_id,
                identifier=data.identifier,
                api_name=data.api_name,
                client_executed=True,
            )
            calls = (*transcript.tool_calls, entry)
        case ToolEndData(is_success=ok, tool_call_id=call_id):
            status = ToolCallStatus.SUCCEEDED if ok else ToolCallStatus.FAILED
            calls = _set_tool_status(transcript, call_id, status)
        case _:  # pragma: no cover - callers pass tool events only
            calls = transcript.tool_calls
    return _with_calls(transcript, calls, transcript.events + 1)


def _end(transcript: Transcript, error: str) -> Transcript:
    return attrs.evolve(transcript, error=error, ended=True, events=transcript.events + 1)


def apply_event(transcript: Transcript, event: AgentEvent, data: EventData | None) -> Transcript:
    """Fold one own event (with its parsed data, if any) into the transcript."""
    if transcript.ended:
        return transcript
    match data:
        case StreamChunkData():
            return _apply_chunk(transcript, data)
        case StreamStartData(assistant_message_id=message_id):
            message = AssistantMessage(id=message_id or f"step-{event.step_index}")
            return _with_messages(
                transcript, (*transcript.messages, message), transcript.events + 1
            )
        case StreamEndData(final_content=final):
            if not transcript.messages:
                return _counted(transcript, transcript.events + 1)
            last = transcript.messages[-1]
            text = last.text if final is None else final
            ended = attrs.evolve(last, text=text, ended=True)
            messages = (*transcript.messages[:-1], ended)
            return _with_messages(transcript, messages, transcript.events + 1)
        case ToolStartData() | ToolEndData() | ToolExecuteData():
            return _apply_tool_event(transcript, data)
        case ErrorData(message=message):
            return _end(transcript, message)
    if event.type == EventType.ERROR:  # its data did not parse: still an inline error
        return _end(transcript, "the agent reported an error (its details were unreadable)")
    if event.type == EventType.AGENT_RUNTIME_END:
        return attrs.evolve(transcript, ended=True, events=transcript.events + 1)
    return _counted(transcript, transcript.events + 1)
