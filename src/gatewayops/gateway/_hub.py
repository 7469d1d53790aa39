"""The protocol v2 hub of the reference gateway: who follows which operation, per user.

Owns: `Hub`, the registry's `OperationWatcher` for v2: the open v2 sockets by user, the
subscriptions by operation, and the routing of PROTOCOL.md 7.3-7.4:

| a socket asks (or the registry tells)  | the hub sends                                     |
|----------------------------------------|---------------------------------------------------|
| `subscribe` an unknown operation       | `subscribe_failed{invalid}`                       |
| `subscribe` another user's operation   | `subscribe_failed{forbidden}`                     |
| `subscribe{lastEventId}`               | buffered events after it, then `resume_complete`  |
|                                        | `{status, gap}`, then live events                 |
| `unsubscribe`                          | nothing; live events stop                         |
| `tool_result` while subscribed         | nothing; the run waiting for it gets it           |
| `tool_result` while not subscribed     | `error{not_subscribed}`                           |
| `tool_confirmation`, `user_input`      | nothing; the asking agent takes it as its answer  |
|                                        | (else `error{answer_refused}`; not subscribed:    |
|                                        | `error{not_subscribed}`)                          |
| an event is published                  | `agent_event` to each subscriber (`tool_execute`  |
|                                        | only to executors)                                |
| the status is persisted                | `status_change` to subscribers; `op_lifecycle`    |
|                                        | to the owner's sockets                            |
| `session_complete` is sent             | `session_complete` to subscribers                 |
| an operation is created / forgotten    | `op_lifecycle{running}` / `{gone}` to the owner;  |
|                                        | a forgotten one's subscriptions end silently      |

A socket holds at most one subscription per operation: a repeated `subscribe` (the
client resubscribes each local subscription with its own cursor) replays again from
its cursor and answers `resume_complete` again, while live events still go once; it
stays an executor if any of its subscribes asked to be. Everything is synchronous, so a
replay never interleaves with a live event. `resume_complete.pending` is sent only when
the `answer_pending` fault asks for it (`pending_subscribes`): an operation exists here
from the moment it is started. Each status change and
`session_complete` takes the next number of the operation's event sequence, so the
client's per-operation dedup accepts it. A `tool_confirmation{approved}` answers the
agent's request `toolCallId` with ``{"approved": true}`` or declines it; `user_input`
answers the request `requestId` with its `content`; both carry the resolution id
``v2:<id>``, so a repeat is acknowledged again, as #14's agent does for any answer (the
answer faults of `Faults` apply to `Gateway.submit_intervention`, not to these frames).

Must not know: WebSockets, tokens, or how sockets are accepted.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from gatewayops._secrets import get_logger
from gatewayops.gateway._asking import offer_answer
from gatewayops.gateway._faults import Quota
from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry, cursor_number
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.protocol import (
    AgentEventMessage,
    EventType,
    HubError,
    MuxAgentEvent,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    MuxToolResult,
    OpLifecycle,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    SubscribeFailure,
    ToolConfirmation,
    UserInput,
    encode_mux,
)

__all__ = ["Hub", "HubStatistics", "MuxPeer"]

_log = get_logger("gatewayops.gateway")


class MuxPeer(Protocol):
    """What the hub needs from an open v2 socket (implemented by `_v2_socket`).

    `user_id` is the one its token named; `send_frame` queues a text frame and never
    blocks; `abort` drops the TCP connection at once, without a close frame; `go_away`
    closes with 1001 (the gateway is shutting down).
    """

    @property
    def name(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    def send_frame(self, frame: str) -> None: ...

    def abort(self) -> None: ...

    def go_away(self) -> None: ...


@attrs.frozen(kw_only=True)
class HubStatistics:
    """What the hub holds now.

    Attributes:
        sockets: open v2 sockets (ready or not).
        users: users with at least one open v2 socket.
        subscriptions: (socket, operation) subscriptions, live now.
        executors: those of them that receive `tool_execute`.
    """

    sockets: int
    users: int
    subscriptions: int
    executors: int


def _summary(operation: Operation) -> dict[str, Any]:
    return {"status": operation.status.value, "lastEventId": str(operation.last_event_number)}


class Hub:
    """Subscriptions and routing of protocol v2; registers itself as a registry watcher.

    Args:
        registry: the gateway's operations.
        clock: stamps `op_lifecycle.at`.
    """

    def __init__(self, registry: OperationRegistry, clock: GatewayClock) -> None:
        self._registry = registry
        self._clock = clock
        self._users: dict[str, set[MuxPeer]] = {}
        self._subscribers: dict[str, dict[MuxPeer, bool]] = {}
        self._held_by: dict[MuxPeer, dict[str, None]] = {}
        self.pending_subscribes = Quota()
        """How many more subscribes are answered as pending (armed by `MuxFaults`)."""
        registry.watchers.append(self)

    # ------------------------------------------------------------------ sockets

    def add(self, peer: MuxPeer) -> None:
        """Record an open v2 socket of `peer.user_id`."""
        self._users.setdefault(peer.user_id, set()).add(peer)
        self._registry.notify()

    def remove(self, peer: MuxPeer) -> None:
        """Forget a closed socket and every subscription it held."""
        group = self._users.get(peer.user_id, set())
        group.discard(peer)
        if not group:
            self._users.pop(peer.user_id, None)
        for operation_id in self.subscriptions_of(peer):
            self._drop(operation_id, peer)
        self._registry.notify()

    def peers(self, user_id: str | None = None) -> tuple[MuxPeer, ...]:
        """Open v2 sockets of `user_id`, or of every user when ``None``."""
        if user_id is not None:
            return tuple(self._users.get(user_id, ()))
        return tuple(peer for group in self._users.values() for peer in group)

    def subscriptions_of(self, peer: MuxPeer) -> tuple[str, ...]:
        """The operations `peer` is subscribed to now."""
        return tuple(self._held_by.get(peer, ()))

    def subscription_count(self, peer: MuxPeer) -> int:
        """How many operations `peer` is subscribed to now."""
        return len(self._held_by.get(peer, ()))

    def statistics(self) -> HubStatistics:
        """A snapshot of sockets and subscriptions."""
        subscriptions = [flag for peers in self._subscribers.values() for flag in peers.values()]
        return HubStatistics(
            sockets=sum(len(group) for group in self._users.values()),
            users=len(self._users),
            subscriptions=len(subscriptions),
            executors=sum(subscriptions),
        )

    # ------------------------------------------------------------------ what sockets ask

    def subscribe(self, peer: MuxPeer, request: Subscribe) -> None:
        """Answer `subscribe`: refuse it, or replay, report the status, then go live."""
        operation = self._registry.get(request.operation_id)
        if operation is None or operation.user_id != peer.user_id:
            reason = SubscribeFailure.INVALID if operation is None else SubscribeFailure.FORBIDDEN
            _log.info("%s: subscribe %s refused (%s)", peer.name, request.operation_id, reason)
            self._send(peer, SubscribeFailed(operation_id=request.operation_id, reason=reason))
            return
        subscribers = self._subscribers.setdefault(operation.operation_id, {})
        executor = subscribers.get(peer, False) or request.executor
        cursor = cursor_number(request.last_event_id)
        pending = self.pending_subscribes.take()
        replay = [] if pending else operation.messages_after(cursor)
        for message in replay:
            if executor or message.event.type != EventType.TOOL_EXECUTE:
                self._send(peer, _envelope(operation, message))
        done = MuxResumeComplete(
            operation_id=operation.operation_id,
            status=operation.status,
            gap=not pending and cursor < operation.lost_through,
            pending=pending,
        )
        self._send(peer, done)
        subscribers[peer] = executor
        self._held_by.setdefault(peer, {})[operation.operation_id] = None
        _log.debug("%s: subscribed %s, replayed %d", peer.name, operation.operation_id, len(replay))
        self._registry.notify()

    def unsubscribe(self, peer: MuxPeer, operation_id: str) -> bool:
        """Stop `peer`'s subscription of `operation_id`; whether it had one."""
        if peer not in self._subscribers.get(operation_id, {}):
            _log.info("%s: unsubscribe %s without a subscription", peer.name, operation_id)
            return False
        self._drop(operation_id, peer)
        self._registry.notify()
        return True

    def tool_result(self, peer: MuxPeer, frame: MuxToolResult) -> None:
        """Route a `tool_result` to its run; refuse it from a socket not subscribed."""
        if not self._subscribed(peer, frame.operation_id, "tool_result"):
            return
        if not self._registry.deliver_tool_result(frame.operation_id, frame.result):
            _log.warning(
                "%s: tool_result for %r had no waiting call", peer.name, frame.result.tool_call_id
            )

    def answer(self, peer: MuxPeer, frame: ToolConfirmation | UserInput) -> None:
        """Give the asking agent a confirmation or a text; refuse what it does not take."""
        kind = "tool_confirmation" if isinstance(frame, ToolConfirmation) else "user_input"
        if not self._subscribed(peer, frame.operation_id, kind):
            return
        operation = self._registry.require(frame.operation_id)
        result: Any
        if isinstance(frame, ToolConfirmation):
            key, result, cancelled = frame.tool_call_id, {"approved": True}, not frame.approved
        else:
            key, result, cancelled = frame.request_id, frame.content, False
        taken = offer_answer(
            self._registry,
            operation,
            key,
            resolution_request_id=f"v2:{key}",
            result=None if cancelled else result,
            cancelled=cancelled,
        )
        if not taken:
            message = f"{kind} for {key!r}: the agent takes no answer to it"
            error = HubError(
                code="answer_refused", message=message, operation_id=operation.operation_id
            )
            self._send(peer, error)

    def _subscribed(self, peer: MuxPeer, operation_id: str, kind: str) -> bool:
        """Whether `peer` follows `operation_id`; if not, it is told so (`not_subscribed`)."""
        if peer in self._subscribers.get(operation_id, {}):
            return True
        message = f"{kind} for {operation_id!r}: this socket is not subscribed to it"
        self._send(
            peer, HubError(code="not_subscribed", message=message, operation_id=operation_id)
        )
        return False

    # ------------------------------------------------------------------ what the registry tells

    def created(self, operation: Operation) -> None:
        self._feed(operation, status=operation.status, meta={"topicId": operation.topic_id})

    def published(self, operation: Operation, message: AgentEventMessage) -> None:
        subscribers = self._subscribers.get(operation.operation_id)
        if not subscribers:
            return
        frame = encode_mux(_envelope(operation, message))
        tool_call = message.event.type == EventType.TOOL_EXECUTE
        for peer, executor in subscribers.items():
            if executor or not tool_call:
                peer.send_frame(frame)

    def status_changed(self, operation: Operation, number: int) -> None:
        change = StatusChange(
            operation_id=operation.operation_id, status=operation.status, id=str(number)
        )
        self._broadcast(operation, change)
        summary = _summary(operation) if operation.status.is_terminal else None
        self._feed(operation, status=operation.status, summary=summary)

    def session_completed(self, operation: Operation, number: int) -> None:
        complete = MuxSessionComplete(
            operation_id=operation.operation_id, id=str(number), summary=_summary(operation)
        )
        self._broadcast(operation, complete)

    def forgotten(self, operation: Operation) -> None:
        for peer in tuple(self._subscribers.get(operation.operation_id, ())):
            self._drop(operation.operation_id, peer)
        self._feed(operation, status=None, gone=True)

    # ------------------------------------------------------------------ sending

    def _drop(self, operation_id: str, peer: MuxPeer) -> None:
        subscribers = self._subscribers.get(operation_id, {})
        subscribers.pop(peer, None)
        if not subscribers:
            self._subscribers.pop(operation_id, None)
        held = self._held_by.get(peer, {})
        held.pop(operation_id, None)
        if not held:
            self._held_by.pop(peer, None)

    def _broadcast(self, operation: Operation, message: MuxServerMessage) -> None:
        subscribers = self._subscribers.get(operation.operation_id)
        if subscribers:
            frame = encode_mux(message)
            for peer in subscribers:
                peer.send_frame(frame)

    def _feed(self, operation: Operation, **fields: Any) -> None:
        """Tell every socket of the operation's owner (the user-level lifecycle feed)."""
        peers = self._users.get(operation.user_id)
        if peers:
            entry = OpLifecycle(
                operation_id=operation.operation_id, at=self._clock.now_ms(), **fields
            )
            frame = encode_mux(entry)
            for peer in peers:
                peer.send_frame(frame)

    @staticmethod
    def _send(peer: MuxPeer, message: MuxServerMessage) -> None:
        peer.send_frame(encode_mux(message))

    def __repr__(self) -> str:
        stats = self.statistics()
        return f"Hub(sockets={stats.sockets}, subscriptions={stats.subscriptions})"


def _envelope(operation: Operation, message: AgentEventMessage) -> MuxAgentEvent:
    return MuxAgentEvent(operation_id=operation.operation_id, event=message.event, id=message.id)
