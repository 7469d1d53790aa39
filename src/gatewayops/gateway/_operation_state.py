"""One operation of the reference gateway, as its durable object would keep it.

Owns: `Operation` (the persisted status, event buffer and id counter, the topic and the
owning user, the live subscribers, the waiting tool calls and questions, the message
list), `ToolOutcome`, `ToolWaiter`, the `Peer` interface an open v1 socket offers the
registry, and the `OperationWatcher` interface through which protocol v2's hub hears of
every change.

Must not know: WebSockets, JWTs, scripts or faults, or how operations are found (that is
the registry's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from gatewayops.protocol import AgentEventMessage, SessionStatus, ToolResult

if TYPE_CHECKING:
    from gatewayops.gateway._asking import HumanWaiter, InterventionOutcome

__all__ = ["Operation", "OperationWatcher", "Peer", "ToolOutcome", "ToolWaiter"]


def _with_appended(
    message: dict[str, Any], appended: dict[tuple[str, str], list[str]]
) -> dict[str, Any]:
    """`message` with the pieces appended to its content and reasoning (itself if none)."""
    content = appended.get((message["id"], "content"))
    reasoning = appended.get((message["id"], "reasoning"))
    if content is None and reasoning is None:
        return message
    joined = dict(message)
    if content is not None:
        joined["content"] = message["content"] + "".join(content)
    if reasoning is not None:
        held = message.get("reasoning", {}).get("content", "")
        joined["reasoning"] = {"content": held + "".join(reasoning)}
    return joined


class Peer(Protocol):
    """What the registry needs from an open socket (implemented by the server).

    `operation_id` is the one in the socket's URL; `authenticated` is true after
    `auth_success` until `auth_expired`; `send_frame` queues a text frame and never
    blocks (a socket whose queue is full closes itself instead); `expire` sends
    `auth_expired` and de-authenticates; `abort` closes the TCP connection at once,
    without a WebSocket close frame; `go_away` closes with 1001 (shutting down).
    `queued_frames` and `queued_chars` say how much the socket has queued but not yet
    written (for the gateway's statistics).
    """

    @property
    def operation_id(self) -> str: ...

    @property
    def authenticated(self) -> bool: ...

    @property
    def queued_frames(self) -> int: ...

    @property
    def queued_chars(self) -> int: ...

    def send_frame(self, frame: str) -> None: ...

    def expire(self) -> None: ...

    def abort(self) -> None: ...

    def go_away(self) -> None: ...


class OperationWatcher(Protocol):
    """What the registry tells a watcher (the v2 hub), synchronously, as it happens.

    `created` and `forgotten` bracket an operation's life in the registry; `published`
    is every buffered event; `status_changed` and `session_completed` are the persisted
    status changing and a `session_complete` being sent (the mirror fault's echo
    included), each numbered in the operation's event sequence (`number`).
    """

    def created(self, operation: Operation) -> None: ...

    def published(self, operation: Operation, message: AgentEventMessage) -> None: ...

    def status_changed(self, operation: Operation, number: int) -> None: ...

    def session_completed(self, operation: Operation, number: int) -> None: ...

    def forgotten(self, operation: Operation) -> None: ...


@attrs.frozen(kw_only=True)
class ToolOutcome:
    """How one `tool_execute` ended on the gateway side.

    Attributes:
        tool_call_id: the correlation key.
        result: the client's `tool_result`, or ``None`` when the deadline passed first.
    """

    tool_call_id: str
    result: ToolResult | None

    @property
    def timed_out(self) -> bool:
        """Whether no `tool_result` arrived before the deadline."""
        return self.result is None


@attrs.frozen(kw_only=True)
class _Buffered:
    number: int
    message: AgentEventMessage
    frame: str


class ToolWaiter:
    """A `tool_execute` call waiting for its `tool_result`."""

    def __init__(self) -> None:
        self.arrived = trio.Event()
        self.result: ToolResult | None = None


class Operation:
    """One operation's mutable state, as the gateway's durable object would keep it.

    Attributes:
        operation_id: the operation id.
        topic_id: the topic the operation runs on.
        user_id: the user who owns it (who may follow it over protocol v2).
        status: the persisted status `resume_complete` reports (survives hibernation).
        last_event_number: the id counter (events, and v2's status changes and
            `session_complete`s); survives hibernation.
        lost_through: the highest event number lost to hibernation (0: none lost); a
            v2 cursor below it has a gap.
        ended: whether the operation's own terminal event was published.
        tokens_expired_through: tokens of this generation or older count as expired.
        subscribers: authenticated sockets that sent `resume` and receive live events.
        run_scope: the cancel scope of the scripted run, while it is live.
        run_done: set when the scripted run's task has finished.
        pending_tools: `tool_execute` calls waiting for a `tool_result`, by `toolCallId`.
        tool_outcomes: how each finished `tool_execute` wait ended, in order.
        questions: the agent's requests for the user, by `toolCallId` (kept after
            they end, so a repeated answer is acknowledged again).
        intervention_outcomes: how each request ended, in order.
        messages: the run's message list as the server keeps it: by its patches
            (`_patches`), or by its events when it sends none (`_kept_messages`). Text
            streamed into a message (`append_text`) is kept as pieces and joined into
            the list when it is next read, so a chunk costs the same at any length.
        message_revision: the `message_patch` revision the list stands at.
        patches_to_skip: how many of the next patches are not sent (a fault).
    """

    def __init__(self, *, operation_id: str, topic_id: str, user_id: str) -> None:
        self.operation_id = operation_id
        self.topic_id = topic_id
        self.user_id = user_id
        self.status = SessionStatus.RUNNING
        self.last_event_number = 0
        self.lost_through = 0
        self.ended = False
        self.tokens_expired_through = 0
        self.subscribers: set[Peer] = set()
        self.run_scope: trio.CancelScope | None = None
        self.run_done = trio.Event()
        self.tool_outcomes: list[ToolOutcome] = []
        self._buffer: list[_Buffered] = []
        self.pending_tools: dict[str, ToolWaiter] = {}
        self.questions: dict[str, HumanWaiter] = {}
        self.intervention_outcomes: list[InterventionOutcome] = []
        self._messages: list[dict[str, Any]] = []
        self._appended: dict[tuple[str, str], list[str]] = {}
        self.message_revision = 0
        self.patches_to_skip = 0

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message list, with the text appended since the last read joined in (new
        dicts: a list handed out earlier never changes under its holder)."""
        if self._appended:
            self._messages = [_with_appended(m, self._appended) for m in self._messages]
            self._appended = {}
        return self._messages

    @messages.setter
    def messages(self, messages: list[dict[str, Any]]) -> None:
        self._messages, self._appended = messages, {}

    def has_message(self, message_id: str) -> bool:
        """Whether the list holds a message of that id (without joining any text)."""
        return any(message["id"] == message_id for message in self._messages)

    def append_text(self, message_id: str, field: str, piece: str) -> None:
        """Append `piece` to a message's ``"content"`` or its ``"reasoning"``'s content,
        in O(1): the text is joined when the list is next read."""
        self._appended.setdefault((message_id, field), []).append(piece)

    @property
    def events(self) -> tuple[AgentEventMessage, ...]:
        """The buffered events, oldest first (what a `resume` from ``""`` replays)."""
        return tuple(item.message for item in self._buffer)

    def messages_after(self, number: int) -> list[AgentEventMessage]:
        """The buffered events whose id is greater than `number`, oldest first."""
        return [item.message for item in self._buffer if item.number > number]

    def frames_after(self, number: int) -> list[str]:
        """The encoded frames of the buffered events whose id is greater than `number`."""
        return [item.frame for item in self._buffer if item.number > number]

    def append(self, message: AgentEventMessage, frame: str) -> None:
        """Buffer a published event (its envelope id is `last_event_number`)."""
        self._buffer.append(_Buffered(number=self.last_event_number, message=message, frame=frame))

    def drop_buffer(self) -> int:
        """Forget the buffered events, keeping status and id counter; returns how many."""
        dropped = len(self._buffer)
        if self._buffer:
            self.lost_through = self._buffer[-1].number
        self._buffer.clear()
        return dropped

    def __repr__(self) -> str:
        return (
            f"Operation(operation_id={self.operation_id!r}, topic_id={self.topic_id!r}, "
            f"status={self.status.value!r}, events={len(self._buffer)})"
        )
