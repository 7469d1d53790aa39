"""Protocol v2: one WebSocket per user, carrying every followed operation (PROTOCOL.md 7).

Owns: what a v2 link is (`mux_link`: one per gateway base URL, id ``v2:<base>``, its
sessions the operations it carries), the frames a session puts on it (`subscribe` with
the session's own cursor and executor flag, then its queued tool results wrapped as v2
`tool_result`s; `unsubscribe` when it leaves), and turning one operation-scoped v2 frame
into the protocol-neutral session signals of `_session`:

* per-operation dedup (7.4): a frame whose envelope id is numeric and not after the
  cursor is dropped; a numeric id moves the cursor; no id, or a non-numeric one,
  bypasses dedup and leaves the cursor;
* `agent_event`: delivered (the envelope's operation restored by the codec); an own
  terminal ends the run, a foreign one owes an echo; `tool_execute` only for an
  executor session;
* `session_complete` and a terminal `status_change`: the end, unless an owed echo;
* `resume_complete`: the replay is done; a terminal status ends the run unless it is
  stale or the operation is `pending`; a gap asks for the server's list;
* `subscribe_failed`: an authentication failure; a hub `error`: reported, not an end.

A frame's unreadable fields count against its session. Must not know: sockets, timers,
the topic map, or the other sessions (what concerns the whole link -- `ready`, losses,
4401, the dial budget, the fallback to v1 -- is `_mux`'s).
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from gatewayops.protocol import (
    AgentEventMessage,
    ClientMessage,
    EventType,
    ToolResult,
    mux_url,
)
from gatewayops.protocol._v2_human import InputRequest, ToolConfirmationRequest
from gatewayops.protocol._v2_messages import (
    HubError,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxSessionComplete,
    MuxToolResult,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    Unsubscribe,
)
from gatewayops.store._config import Protocol
from gatewayops.store._delivery import NO_EFFECTS, OpStep, note_problems
from gatewayops.store._effects import Effect, SendMessage
from gatewayops.store._endings import consume_echo, finish, status_outcome
from gatewayops.store._session import (
    id_follows,
    on_auth_rejected,
    on_event,
    on_session_end,
    on_status,
)
from gatewayops.store._state import (
    CLEAR_ECHO,
    ConnectionStatus,
    FinishSource,
    Link,
    Operation,
    mux_link_id,
)
from gatewayops.store._tools import queued_results

__all__ = [
    "OperationFrame",
    "dedup_id",
    "is_subscribed",
    "mux_link",
    "mux_link_id",
    "on_operation_frame",
    "released",
    "sends",
    "subscribed",
    "wrapped",
]

OperationFrame: TypeAlias = (
    MuxAgentEvent
    | MuxSessionComplete
    | StatusChange
    | MuxResumeComplete
    | SubscribeFailed
    | ToolConfirmationRequest
    | InputRequest
)
"""Hub frames that always belong to one operation (a hub `error` may, or not)."""

_TOOL_EXECUTE = EventType.TOOL_EXECUTE.value
_SEQUENCED = frozenset({MuxAgentEvent, MuxSessionComplete, StatusChange})
"""The frames whose envelope id the per-operation dedup counts."""


def mux_link(gateway_url: str) -> Link:
    """A new, disconnected v2 link to the gateway at `gateway_url`.

    Raises:
        InvalidGatewayUrl: the base URL is empty, has a wrong scheme, no host, a bad
            port, or is a socket URL already.
    """
    mux_url(gateway_url, "checked", "checked")  # the same checks as every dial's URL
    return Link(
        id=mux_link_id(gateway_url),
        url=gateway_url.rstrip("/"),
        operation_id="",
        protocol=Protocol.V2,
    )


def sends(link: Link, frames: tuple[MuxClientMessage, ...]) -> tuple[Effect, ...]:
    """The effects that write `frames` on the link's current socket, in order."""
    return tuple(
        SendMessage(link_id=link.id, generation=link.generation, message=frame) for frame in frames
    )


def wrapped(op: Operation, frames: tuple[ClientMessage, ...]) -> tuple[MuxToolResult, ...]:
    """A session's v1-shaped frames as v2 sends them (a tool result names its operation)."""
    return tuple(
        MuxToolResult(operation_id=op.id, result=frame)
        for frame in frames
        if isinstance(frame, ToolResult)
    )


def is_subscribed(link: Link, op: Operation) -> bool:
    """Whether `op`'s `subscribe` went out on the link's socket and the hub said `ready`
    (so frames of the operation may be sent now)."""
    return link.status is ConnectionStatus.CONNECTED and link.sessions.get(op.id, False)


def subscribed(op: Operation) -> tuple[Operation, Subscribe, tuple[MuxToolResult, ...]]:
    """The session (re)subscribes on a link that said `ready`: its `subscribe` from its own
    cursor, and its queued tool results (sent after every session's `subscribe`). A
    resubscribe starts a new replay, so the echo guard forgets what it owed."""
    if op.echo != CLEAR_ECHO:
        op = attrs.evolve(op, echo=CLEAR_ECHO)
    op, results = queued_results(op)
    frame = Subscribe(operation_id=op.id, last_event_id=op.last_event_id, executor=op.executor)
    return op, frame, wrapped(op, results)


def released(link: Link, op: Operation) -> tuple[Link, tuple[Effect, ...]]:
    """`op` is no longer followed: it leaves the link, with an `unsubscribe` if the hub
    knows of it (its queued tool results are dropped with it)."""
    known = link.sessions.get(op.id)
    if known is None:
        return link, NO_EFFECTS
    link = attrs.evolve(link, sessions=link.sessions.delete(op.id))
    if not (known and link.status is ConnectionStatus.CONNECTED):
        return link, NO_EFFECTS
    return link, sends(link, (Unsubscribe(operation_id=op.id),))


# --------------------------------------------------------------------------- frames


def dedup_id(event_id: str | None) -> str | None:
    """The envelope id if dedup counts it (ASCII digits), else None (it bypasses dedup
    and leaves the cursor)."""
    if event_id and event_id.isascii() and event_id.isdecimal():
        return event_id
    return None


def _is_repeat(op: Operation, event_id: str | None) -> bool:
    """Whether a frame with this envelope id was seen already (numeric, not after the
    cursor; an empty cursor stands at 0). Compared as digit strings, so ids of any
    length work."""
    return event_id is not None and not id_follows(event_id, op.last_event_id or "0")


def _advanced(op: Operation, event_id: str | None) -> Operation:
    return op if event_id is None else attrs.evolve(op, last_event_id=event_id)


def _on_agent_event(op: Operation, message: MuxAgentEvent, event_id: str | None) -> OpStep:
    if message.event.type == _TOOL_EXECUTE and not op.executor:
        problem = "tool_execute for a subscription that is not the executor: not run"
        return note_problems(_advanced(op, event_id), (problem,)), NO_EFFECTS
    as_v1 = AgentEventMessage(event=message.event, id=event_id)
    return on_event(op, as_v1)


def _on_status_change(op: Operation, message: StatusChange) -> OpStep:
    status = message.status
    if status is None or not status.is_terminal:
        return op, NO_EFFECTS
    guard = consume_echo(op.echo)
    if guard is not None:  # the echo of a member's terminal, owed: not this run's end
        return attrs.evolve(op, echo=guard), NO_EFFECTS
    return finish(op, status_outcome(status), FinishSource.STATUS_CHANGE, status.value)


def on_operation_frame(op: Operation, message: OperationFrame | HubError) -> OpStep:
    """One hub frame of `op`, which the link carries (routed by its envelope). A repeat
    is dropped whole: the problems of its detail are not noted either."""
    event_id = None
    if type(message) in _SEQUENCED:
        event_id = dedup_id(message.id)  # type: ignore[union-attr]
        if _is_repeat(op, event_id):
            return op, NO_EFFECTS
    if message.problems:
        op = note_problems(op, message.problems)
    match message:
        case MuxAgentEvent() | MuxSessionComplete() | StatusChange():
            match message:
                case MuxAgentEvent():
                    return _on_agent_event(op, message, event_id)
                case MuxSessionComplete():
                    return on_session_end(_advanced(op, event_id))
                case _:
                    return _on_status_change(_advanced(op, event_id), message)
        case MuxResumeComplete(status=status, gap=gap, pending=pending):
            return on_status(op, None if pending else status, gap=gap)
        case SubscribeFailed(reason=reason):
            return on_auth_rejected(op, f"subscribe_failed: {reason}")
        case HubError(code=code, message=text):
            return attrs.evolve(op, last_problem=f"hub error {code}: {text}"), NO_EFFECTS
        case ToolConfirmationRequest() | InputRequest():
            return op, NO_EFFECTS  # the agent's question also arrives as its agent event
        case _:  # pragma: no cover - OPERATION_FRAMES routes only the kinds above here
            raise AssertionError(f"not an operation frame: {type(message).__name__}")
