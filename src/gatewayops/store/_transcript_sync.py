"""Adopting the server's message list as the transcript (PROTOCOL.md 8.6, 7.8).

Owns: `adopt_messages`, which replaces the transcript's messages with the server's
(`uiMessages` of `step_start` and `agent_runtime_end`: the server is the source of
truth), keeping what only this client knows, and `entries_of`, how one server message
reads as entries:

| server message | entries, in order |
|---|---|
| `user` | a `UserMessage` |
| `assistant` | its `Reasoning`, its text, each of its tool calls, its `ErrorEntry` (if any) |
| `tool` | none: its content is the result of the call it answers, shown on that call |
| any other role | none |

What only this client knows, and is kept: for a call in both lists that the server has
no result for, the status, result and error this client saw (a `tool_end`, say); that
it ran a call here (`client_executed`); a call it still runs that the server's list
does not name yet (it is owed a result, shown after the server's messages); and the
streaming message with its replace-snapshot watermarks, so a late snapshot at or below
them is still dropped.

`apply_patch` applies v2's `message_patch` revisions (PROTOCOL.md 7.8): the transcript
keeps the last revision it holds (`revision`; none yet counts as 0); a patch at or below
it is dropped; the next one is applied (its deletes, then each upsert placed after the
message `afterId` names, `null` = at the head); a gap, a patch that did not read whole,
or an anchor no message has sets `needs_refetch` instead, and the patch is not applied
(never a guess). While a refetch is needed, patches wait for the server's list; a
`uiMessages` snapshot or a fetched list (`adopt_messages`) is that list, and clears it
(and whatever a fetch of it was at: `_refetch`'s). Must not know:
events, sockets, timers, the lifecycle.
"""

from __future__ import annotations

import attrs
import immutables

from gatewayops._persistent import Vector, append_piece
from gatewayops.protocol import MessagePatchData, UiMessage
from gatewayops.store._transcript import (
    AssistantMessage,
    Entry,
    ErrorEntry,
    Reasoning,
    RefetchStatus,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
    UserMessage,
)

__all__ = ["adopt_messages", "apply_patch", "entries_of"]


def entries_of(message: UiMessage, answers: dict[str, UiMessage]) -> list[Entry]:
    """The entries one server message reads as; `answers` are the `tool` messages of
    the list, by the call they answer."""
    if message.role == "user":
        return [
            UserMessage(id=message.id, text=message.content, parent_message_id=message.parent_id)
        ]
    if message.role != "assistant":
        return []
    entries: list[Entry] = []
    if message.reasoning:
        entries.append(
            Reasoning(
                id=f"{message.id}.reasoning",
                parent_message_id=message.id,
                text_pieces=append_piece((), message.reasoning),
            )
        )
    if message.content:
        entries.append(
            AssistantMessage(
                id=message.id,
                parent_message_id=message.parent_id,
                text_pieces=append_piece((), message.content),
            )
        )
    for calling in message.tools:
        answer = answers.get(calling.id)
        entries.append(
            ToolCallEntry(
                id=calling.id,
                parent_message_id=message.id,
                identifier=calling.identifier,
                api_name=calling.api_name,
                arguments=calling.arguments,
                status=ToolCallStatus.RUNNING if answer is None else ToolCallStatus.SUCCEEDED,
                result=None if answer is None else answer.content,
            )
        )
    if message.error is not None:
        error = message.error
        entries.append(
            ErrorEntry(
                id=f"{message.id}.error",
                message=error.message,
                parent_message_id=message.id,
                kind=error.kind,
                body=error.body,
            )
        )
    return entries


def _kept(server: ToolCallEntry, known: ToolCallEntry | None, answered: bool) -> ToolCallEntry:
    """The server's call, with what this client knows of it that the server's list lacks."""
    if known is None:
        return server
    if answered:
        return attrs.evolve(server, client_executed=known.client_executed)
    return attrs.evolve(
        server,
        status=known.status,
        result=known.result,
        error=known.error,
        client_executed=known.client_executed,
    )


def adopt_messages(transcript: Transcript, messages: tuple[UiMessage, ...]) -> Transcript:
    """The transcript with its messages replaced by the server's list (see the module)."""
    answers = {m.tool_call_id: m for m in messages if m.role == "tool" and m.tool_call_id}
    entries: list[Entry] = []
    for message in messages:
        for entry in entries_of(message, answers):
            if isinstance(entry, ToolCallEntry):
                entry = _kept(entry, transcript.tool_call(entry.id), entry.id in answers)
            entries.append(entry)
    named = {entry.id for entry in entries if isinstance(entry, ToolCallEntry)}
    entries += (
        call
        for call in transcript.tool_calls
        if call.client_executed and call.status is ToolCallStatus.RUNNING and call.id not in named
    )
    tool_messages = immutables.Map({m.id: call for call, m in answers.items()})
    adopted = _rebuilt(
        transcript, entries, tool_messages=tool_messages, revision=None, needs_refetch=False
    )
    return attrs.evolve(
        adopted,
        pending_revision=None,
        refetch=RefetchStatus.IDLE,
        fetch_attempts=0,
        refetch_problem=None,
    )


def _rebuilt(
    transcript: Transcript,
    entries: list[Entry],
    *,
    tool_messages: immutables.Map[str, str],
    revision: int | None,
    needs_refetch: bool,
) -> Transcript:
    """The transcript holding `entries`: the call positions and the streaming message's
    place among them found again (its watermarks kept, its thinking pass closed)."""
    calls: immutables.Map[str, int] = immutables.Map(
        {entry.id: at for at, entry in enumerate(entries) if isinstance(entry, ToolCallEntry)}
    )
    streaming = transcript.streaming
    if streaming is not None:
        text_at = next(
            (
                at
                for at, entry in enumerate(entries)
                if isinstance(entry, AssistantMessage) and entry.id == streaming.message_id
            ),
            None,
        )
        streaming = attrs.evolve(streaming, text_at=text_at, reasoning_at=None)
    return attrs.evolve(
        transcript,
        entries=Vector(entries),
        calls=calls,
        streaming=streaming,
        tool_messages=tool_messages,
        revision=revision,
        needs_refetch=needs_refetch,
    )


def _owner(entry: Entry) -> str | None:
    """The server message an entry comes from."""
    if isinstance(entry, UserMessage | AssistantMessage):
        return entry.id
    return entry.parent_message_id


def _anchor(entries: list[Entry], after_id: str, tool_messages: immutables.Map[str, str]) -> int:
    """Where a message placed after `after_id` goes; -1 when no message has that id."""
    owner = tool_messages.get(after_id, after_id)
    owned = [at for at, entry in enumerate(entries) if _owner(entry) == owner or entry.id == owner]
    return owned[-1] + 1 if owned else -1


def apply_patch(transcript: Transcript, patch: MessagePatchData) -> Transcript:
    """Apply a `message_patch` (PROTOCOL.md 7.8; see the module)."""
    last = transcript.revision or 0
    if patch.revision <= last or transcript.needs_refetch:
        return transcript  # already held, or the server's list is awaited
    if patch.revision != last + 1 or patch.problems:
        return attrs.evolve(transcript, needs_refetch=True)  # a gap, or not whole
    deleted = set(patch.deletes)
    entries = [entry for entry in transcript.entries if _owner(entry) not in deleted]
    tool_messages = transcript.tool_messages
    for message_id in deleted & set(tool_messages.keys()):
        tool_messages = tool_messages.delete(message_id)
    for upsert in patch.upserts:
        message = upsert.message
        known = {
            e.id: e for e in entries if isinstance(e, ToolCallEntry) and _owner(e) == message.id
        }
        entries = [entry for entry in entries if _owner(entry) != message.id]
        at = 0 if upsert.after_id is None else _anchor(entries, upsert.after_id, tool_messages)
        if at < 0:
            return attrs.evolve(transcript, needs_refetch=True)  # an unknown anchor: no guess
        if message.role == "tool" and message.tool_call_id:
            tool_messages = tool_messages.set(message.id, message.tool_call_id)
            entries = [_answered(entry, message) for entry in entries]
        entries[at:at] = (
            _kept(entry, known.get(entry.id), False) if isinstance(entry, ToolCallEntry) else entry
            for entry in entries_of(message, {})
        )
    return _rebuilt(
        transcript,
        entries,
        tool_messages=tool_messages,
        revision=patch.revision,
        needs_refetch=False,
    )


def _answered(entry: Entry, answer: UiMessage) -> Entry:
    """`entry`, succeeded with `answer`'s content if it is the call `answer` answers."""
    if not isinstance(entry, ToolCallEntry) or entry.id != answer.tool_call_id:
        return entry
    return attrs.evolve(entry, status=ToolCallStatus.SUCCEEDED, result=answer.content)
