"""The transcript: what an operation has shown, as a chat renders it.

Owns: the entries of a transcript, in event order -- `UserMessage` (a prompt, where the
server's list names it), `AssistantMessage`, `Reasoning` (one thinking pass),
`ToolCallEntry`, `ErrorEntry` --, each with its id and the message it belongs to
(`parent_message_id`: for a tool call, reasoning or error the assistant message; for a
user or assistant message the message it replies to, when known); `Streaming`, where
the message being streamed stands; and `Transcript`, their plain frozen container with
its read-only views. Folding events into a transcript is `_transcript_fold`'s; adopting
the server's list is `_transcript_sync`'s. Must not know: events, sockets, timers, or
the operation's lifecycle.

Streamed text is kept as a rope of a few pieces (`gatewayops._persistent`), so
appending a chunk costs the same at any length, and the entries are a `Vector`, so
changing the streaming one costs the same however many came before. Both compare with
``==`` as plain data: two messages with the same text are equal however it was split.
"""

from __future__ import annotations

import enum
from typing import Any, TypeAlias

import attrs
import immutables

from gatewayops._persistent import Vector, join_pieces, tail_of_pieces

__all__ = [
    "AssistantMessage",
    "Entry",
    "ErrorEntry",
    "Reasoning",
    "RefetchStatus",
    "Streaming",
    "ToolCallEntry",
    "ToolCallStatus",
    "Transcript",
    "UserMessage",
]


class ToolCallStatus(enum.StrEnum):
    """Where a tool call shown in the transcript stands.

    | status | entered by |
    |---|---|
    | calling | a `tools_calling` chunk: the model is still writing the call |
    | running | `tool_start`, or `tool_execute` (the client runs it) |
    | succeeded / failed | `tool_end` (`isSuccess`), or the server's list |
    """

    CALLING = "calling"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefetchStatus(enum.StrEnum):
    """Where the fetch of the server's message list stands (`_refetch` moves it)."""

    IDLE = "idle"
    """None is asked (or the last one brought the list)."""
    ASKED = "asked"
    """A `FetchMessages` is out; its answer is awaited."""
    GAVE_UP = "gave_up"
    """Every attempt failed: `needs_refetch` stays set until the server's list comes."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class UserMessage:
    """A user's prompt, as the server's message list keeps it."""

    id: str
    text: str = ""
    parent_message_id: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class AssistantMessage:
    """The visible text of one assistant message (its reasoning and calls are entries
    of their own, with this message's id as their parent)."""

    id: str
    parent_message_id: str | None = None
    text_pieces: tuple[str, ...] = attrs.field(default=(), eq=join_pieces)

    @property
    def text(self) -> str:
        """The message's text so far."""
        return join_pieces(self.text_pieces)

    def text_tail(self, chars: int) -> str:
        """The last `chars` characters of the text, without joining all of it."""
        return tail_of_pieces(self.text_pieces, chars)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Reasoning:
    """One thinking pass of an assistant message, closed by its text, a tool call, the
    message's end, the next message or the run's end."""

    id: str
    parent_message_id: str | None = None
    text_pieces: tuple[str, ...] = attrs.field(default=(), eq=join_pieces)

    @property
    def text(self) -> str:
        """The reasoning so far."""
        return join_pieces(self.text_pieces)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCallEntry:
    """A tool call as the transcript shows it (server-side or client-executed).

    `arguments` is the call's JSON string as the producer wrote it; `result` and
    `error` are kept raw, as the producer sent them.
    """

    id: str
    parent_message_id: str | None = None
    identifier: str = ""
    api_name: str = ""
    arguments: str = ""
    status: ToolCallStatus = ToolCallStatus.RUNNING
    result: Any = None
    error: Any = None
    client_executed: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class ErrorEntry:
    """The inline error that ended the run: what to show, its type, its structured body
    (raw JSON: an install command, a budget, a provider's response)."""

    id: str
    message: str
    parent_message_id: str | None = None
    kind: str | None = None
    body: Any = None


Entry: TypeAlias = UserMessage | AssistantMessage | Reasoning | ToolCallEntry | ErrorEntry


@attrs.frozen(kw_only=True, weakref_slot=False)
class Streaming:
    """The assistant message being streamed: its id, the message it replies to, where its
    text and its open reasoning pass are among the entries, and the replace-snapshot
    watermarks (the last `snapshotSeq` applied to its text and to its reasoning)."""

    message_id: str
    reply_to: str | None = None
    text_at: int | None = None
    reasoning_at: int | None = None
    text_seq: int = -1
    reasoning_seq: int = -1


@attrs.frozen(kw_only=True, weakref_slot=False)
class Transcript:
    """Everything an operation's own events have shown, in event order.

    Attributes:
        entries: what a chat renders, oldest first.
        calls: the position of each tool call among the entries, by id.
        streaming: the message being streamed, if any.
        tool_messages: the server's `tool` messages, by id: the call each answers (an
            anchor a patch may name).
        revision: the last `message_patch` revision the entries hold (v2), if any.
        needs_refetch: a patch could not be applied (a gap, an unknown anchor), the
            run ended (or a step began) at a revision not held, or a resume replay had a
            gap: the entries wait for the server's list.
        pending_revision: the revision the run ended at when the entries do not hold
            it (its final list is pending); None once the list came.
        refetch: where the fetch of the server's list stands.
        fetch_attempts: the attempts of the current fetch so far.
        refetch_problem: what went wrong with the last fetch (a failure, a list that
            did not read whole, a list behind the run's end), if anything.
        ended: the terminal latch; once set, later events change nothing.
        events: own events delivered (a repeated tool call counts, but is shown once).
        member_events: forwarded events of other operations (delivered, not rendered).
    """

    entries: Vector[Entry] = Vector()
    calls: immutables.Map[str, int] = attrs.field(default=immutables.Map(), eq=False, repr=False)
    streaming: Streaming | None = None
    tool_messages: immutables.Map[str, str] = attrs.field(
        default=immutables.Map(), eq=False, repr=False
    )
    revision: int | None = None
    needs_refetch: bool = False
    pending_revision: int | None = None
    refetch: RefetchStatus = RefetchStatus.IDLE
    fetch_attempts: int = 0
    refetch_problem: str | None = None
    ended: bool = False
    events: int = 0
    member_events: int = 0

    @property
    def messages(self) -> tuple[AssistantMessage, ...]:
        """The assistant messages, oldest first."""
        return tuple(entry for entry in self.entries if isinstance(entry, AssistantMessage))

    @property
    def tool_calls(self) -> tuple[ToolCallEntry, ...]:
        """The tool calls, oldest first."""
        return tuple(entry for entry in self.entries if isinstance(entry, ToolCallEntry))

    @property
    def error(self) -> ErrorEntry | None:
        """The inline error the run ended with, if it did (always the last entry)."""
        last = self.entries.last if self.entries else None
        return last if isinstance(last, ErrorEntry) else None

    @property
    def text(self) -> str:
        """All assistant text, messages joined by blank lines."""
        return "\n\n".join(message.text for message in self.messages if message.text_pieces)

    def tool_call(self, tool_call_id: str) -> ToolCallEntry | None:
        """The tool call with this id, if shown."""
        index = self.calls.get(tool_call_id)
        if index is None:
            return None
        entry = self.entries[index]
        return entry if isinstance(entry, ToolCallEntry) else None
