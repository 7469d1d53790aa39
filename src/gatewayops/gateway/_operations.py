"""The operation registry of the reference gateway: every operation and every socket.

Owns: `OperationRegistry` (operations by id and by topic, every open socket by operation
id, publishing events, replaying them on `resume`, ending operations, delivering
`tool_result`s, persisting status changes) and the one reading of a cursor
(`cursor_number`). One operation's state is an `Operation` (`_operation_state`). Every
change is also told to the `watchers` (protocol v2's hub), as it happens.

Ordering rule: publishing, replaying and subscribing are synchronous and push whole
frames into each peer's outbox, so a `resume` replay can never interleave with a live
event and a terminal event always precedes its `session_complete`.

Must not know: WebSockets, JWTs, scripts or faults. It is told what to publish.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationAlreadyExists, OperationNotFound
from gatewayops.gateway._operation_state import (
    Operation,
    OperationWatcher,
    Peer,
    ToolOutcome,
    ToolWaiter,
)
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.gateway._user_tokens import DEFAULT_USER
from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    ResumeComplete,
    SessionComplete,
    SessionStatus,
    ToolResult,
    encode,
)

__all__ = ["OperationRegistry", "cursor_number"]

_log = get_logger("gatewayops.gateway")


def cursor_number(last_event_id: str) -> int:
    """The event number a client's cursor stands for (``""`` and non-numeric: 0, all)."""
    if not last_event_id:
        return 0
    try:
        return int(last_event_id)
    except ValueError:
        _log.warning("resume: cursor %r is not numeric; replaying everything", last_event_id)
        return 0


class OperationRegistry:
    """Every operation and every open socket of one gateway.

    Args:
        clock: stamps published events.
    """

    def __init__(self, clock: GatewayClock) -> None:
        self._clock = clock
        self._operations: dict[str, Operation] = {}
        self._by_topic: dict[str, str] = {}
        self._peers: dict[str, set[Peer]] = {}
        self._changed = trio.Event()
        self.watchers: list[OperationWatcher] = []

    # ------------------------------------------------------------------ operations

    def create(self, operation_id: str, topic_id: str, user_id: str = DEFAULT_USER) -> Operation:
        """Register a new running operation of `user_id`; it becomes its topic's current one.

        Raises:
            OperationAlreadyExists: the id is taken (forgotten ids may be reused).
        """
        if operation_id in self._operations:
            raise OperationAlreadyExists(f"operation {operation_id!r} already exists")
        operation = Operation(operation_id=operation_id, topic_id=topic_id, user_id=user_id)
        self._operations[operation_id] = operation
        self._by_topic[topic_id] = operation_id
        for watcher in self.watchers:
            watcher.created(operation)
        self.notify()
        return operation

    def get(self, operation_id: str) -> Operation | None:
        """The operation, or ``None`` when it is unknown or was forgotten."""
        return self._operations.get(operation_id)

    def require(self, operation_id: str) -> Operation:
        """The operation; raises `OperationNotFound` if it is unknown or was forgotten."""
        operation = self._operations.get(operation_id)
        if operation is None:
            raise OperationNotFound(f"operation {operation_id!r} not found")
        return operation

    def current_for_topic(self, topic_id: str) -> Operation:
        """The topic's most recently started operation.

        Raises:
            OperationNotFound: the topic has none, or it was forgotten.
        """
        operation_id = self._by_topic.get(topic_id)
        if operation_id is None:
            raise OperationNotFound(f"topic {topic_id!r} has no operation")
        return self.require(operation_id)

    def forget(self, operation_id: str) -> Operation:
        """Drop an operation as a GC would (`OperationNotFound` if unknown); returns it."""
        operation = self._operations.pop(operation_id, None)
        if operation is None:
            raise OperationNotFound(f"operation {operation_id!r} not found")
        operation.subscribers.clear()
        for watcher in self.watchers:
            watcher.forgotten(operation)
        self.notify()
        return operation

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every known operation."""
        return tuple(self._operations.values())

    # ------------------------------------------------------------------ peers

    def add_peer(self, peer: Peer) -> None:
        """Record an open socket."""
        self._peers.setdefault(peer.operation_id, set()).add(peer)
        self.notify()

    def remove_peer(self, peer: Peer) -> None:
        """Forget a closed socket and its subscription."""
        group = self._peers.get(peer.operation_id, set())
        group.discard(peer)
        if not group:
            self._peers.pop(peer.operation_id, None)
        self.unsubscribe(peer)
        self.notify()

    def peers(self, operation_id: str | None = None) -> tuple[Peer, ...]:
        """Open sockets of `operation_id`, or of every operation when ``None``."""
        if operation_id is not None:
            return tuple(self._peers.get(operation_id, ()))
        return tuple(peer for group in self._peers.values() for peer in group)

    def subscribe(self, peer: Peer, last_event_id: str, want_status: bool) -> int:
        """Answer a `resume`: replay, report status, then deliver live events to `peer`.

        Args:
            peer: an authenticated socket of an existing operation.
            last_event_id: the client's cursor (``""`` = replay everything buffered).
            want_status: whether to end the replay with `resume_complete`.

        Returns:
            How many events were replayed.

        Raises:
            OperationNotFound: the operation was forgotten.
        """
        operation = self.require(peer.operation_id)
        replay = operation.frames_after(cursor_number(last_event_id))
        for frame in replay:
            peer.send_frame(frame)
        if want_status:
            peer.send_frame(encode(ResumeComplete(status=operation.status)))
        elif operation.ended:
            peer.send_frame(encode(SessionComplete()))
        operation.subscribers.add(peer)
        self.notify()
        return len(replay)

    def unsubscribe(self, peer: Peer) -> None:
        """Stop delivering live events to `peer` (no-op when it was not subscribed)."""
        operation = self._operations.get(peer.operation_id)
        if operation is not None and peer in operation.subscribers:
            operation.subscribers.discard(peer)
            self.notify()

    # ------------------------------------------------------------------ events

    def now_ms(self) -> int:
        """The gateway's epoch time in ms (what the next event's `timestamp` will be)."""
        return self._clock.now_ms()

    def publish(
        self,
        operation: Operation,
        event_type: str,
        data: Any,
        step_index: int,
        *,
        event_operation_id: str | None = None,
    ) -> AgentEventMessage | None:
        """Give an event the next id, buffer it and send it to the live subscribers.

        Args:
            operation: where the event goes.
            event_type: the `AgentEvent.type`.
            data: JSON-serialisable event data.
            step_index: the agent step the event belongs to.
            event_operation_id: `event.operationId` when it is not the operation's own
                (a mirrored member event).

        Returns:
            The envelope, or ``None`` when the operation already ended (late events of
            an interrupted run are dropped, as a terminal latch would).
        """
        if operation.ended:
            _log.debug(
                "%s: dropped %s after the terminal event", operation.operation_id, event_type
            )
            return None
        operation.last_event_number += 1
        number = operation.last_event_number
        event = AgentEvent(
            type=str(event_type),
            operation_id=event_operation_id or operation.operation_id,
            step_index=step_index,
            timestamp=self._clock.now_ms(),
            data=data,
        )
        message = AgentEventMessage(event=event, id=str(number))
        frame = encode(message)
        operation.append(message, frame)
        self.broadcast(operation.subscribers, frame)
        for watcher in self.watchers:
            watcher.published(operation, message)
        return message

    def finish(
        self,
        operation: Operation,
        *,
        event_type: str,
        data: Any,
        step_index: int,
        status: SessionStatus,
    ) -> bool:
        """Publish the operation's own terminal event, persist `status`, send `session_complete`.

        Returns:
            Whether this call ended the operation (``False`` if it had already ended).
        """
        if self.publish(operation, event_type, data, step_index) is None:
            return False
        operation.ended = True
        _log.info("%s ended: %s (%s)", operation.operation_id, status, event_type)
        self.set_status(operation, status)
        self.complete_session(operation)
        self.notify()
        return True

    def set_status(self, operation: Operation, status: SessionStatus) -> None:
        """Persist `status` (what `resume_complete` reports) and tell the watchers."""
        operation.status = status
        operation.last_event_number += 1
        for watcher in self.watchers:
            watcher.status_changed(operation, operation.last_event_number)

    def complete_session(self, operation: Operation) -> None:
        """Send `session_complete` to the operation's subscribers, v1's and the watchers'."""
        self.broadcast(operation.subscribers, encode(SessionComplete()))
        operation.last_event_number += 1
        for watcher in self.watchers:
            watcher.session_completed(operation, operation.last_event_number)

    @staticmethod
    def broadcast(peers: Iterable[Peer], frame: str) -> int:
        """Queue `frame` on every peer in `peers`; returns how many."""
        targets = tuple(peers)
        for peer in targets:
            peer.send_frame(frame)
        return len(targets)

    # ------------------------------------------------------------------ tools

    async def wait_tool_result(
        self, operation: Operation, tool_call_id: str, timeout_seconds: float
    ) -> ToolOutcome:
        """Wait up to `timeout_seconds` for the `tool_result` of `tool_call_id`."""
        waiter = ToolWaiter()
        operation.pending_tools[tool_call_id] = waiter
        try:
            with trio.move_on_after(timeout_seconds):
                await waiter.arrived.wait()
        finally:
            operation.pending_tools.pop(tool_call_id, None)
        outcome = ToolOutcome(tool_call_id=tool_call_id, result=waiter.result)
        operation.tool_outcomes.append(outcome)
        return outcome

    def deliver_tool_result(self, operation_id: str, result: ToolResult) -> bool:
        """Hand a client's `tool_result` to the run waiting for it.

        Returns:
            Whether a run was waiting for that `toolCallId` (late, duplicate or unknown
            results are dropped, as the server's BLPOP would).
        """
        operation = self._operations.get(operation_id)
        waiter = None if operation is None else operation.pending_tools.get(result.tool_call_id)
        if waiter is None or waiter.arrived.is_set():
            return False
        waiter.result = result
        waiter.arrived.set()
        return True

    # ------------------------------------------------------------------ change signal

    def notify(self) -> None:
        """Wake every `wait_changed` caller (sockets, subscriptions or runs changed)."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Block until the next `notify`."""
        await self._changed.wait()
