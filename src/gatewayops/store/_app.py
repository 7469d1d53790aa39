"""What the application asks for: start, attach, stop, detach, a new token, a reconnect.

Owns: the application actions' effect on state (a new operation and its link -- a v1
link of its own, or a session of the user's v2 link, `StoreConfig.protocol`; a
reattach, buffering the replay when there is no cursor on v1; a stop asking the server
to interrupt; a detach; a token replaced in place; an explicit reconnect with the backoff
started again; the network back, redialling every link waiting out a backoff; the v2
link disconnected and connected again), the
topic markers they claim (`TopicBusy` if a live operation holds the
topic), and the misuse errors they raise, before anything changes. Must not know: frames,
sockets, or timers.
"""

from __future__ import annotations

import attrs

from gatewayops.exceptions import (
    OperationAlreadyExists,
    OperationFinished,
    ProtocolV2Required,
    TokenRequired,
    TopicBusy,
    UnknownOperation,
)
from gatewayops.store import _mux
from gatewayops.store._actions import (
    LinkConnectRequested,
    LinkDisconnectRequested,
    OperationAttached,
    OperationDetached,
    OperationStarted,
    ReconnectRequested,
    StopRequested,
    TokenReplaced,
)
from gatewayops.store._config import Protocol
from gatewayops.store._delivery import NO_EFFECTS, OpStep, flush
from gatewayops.store._effects import Effect, RequestInterrupt
from gatewayops.store._endings import stop_following
from gatewayops.store._lifecycle import OPERATION_TABLE, ConnectionEvent, OperationEvent, transition
from gatewayops.store._link import dialled, redialled
from gatewayops.store._link_v1 import v1_link
from gatewayops.store._state import (
    ConnectionStatus,
    GatewayState,
    Operation,
    OperationStatus,
    ResumeState,
    Topic,
)

__all__ = [
    "attach",
    "connect_link",
    "detach",
    "disconnect_link",
    "known",
    "network_restored",
    "reconnect",
    "replace_token",
    "start",
    "stop",
]

_Placed = tuple[GatewayState, tuple[Effect, ...]]


def known(state: GatewayState, operation_id: str) -> Operation:
    """The operation with this id (`UnknownOperation` if there is none)."""
    op = state.operations.get(operation_id)
    if op is None:
        raise UnknownOperation(f"no operation {operation_id!r} is known to the store")
    return op


def _claim_topic(state: GatewayState, topic_id: str, operation_id: str) -> GatewayState:
    """Point the topic's marker at `operation_id`, unless a live operation holds it."""
    topic = state.topics.get(topic_id) or Topic(id=topic_id)
    holder = state.operations.get(topic.running_operation or "")
    if (
        holder is not None
        and holder.id != operation_id
        and holder.status is OperationStatus.RUNNING
    ):
        raise TopicBusy(f"topic {topic_id!r} is busy with running operation {holder.id!r}")
    topic = attrs.evolve(topic, running_operation=operation_id)
    return attrs.evolve(state, topics=state.topics.set(topic_id, topic))


def _followed(state: GatewayState, op: Operation, url: str | None = None) -> _Placed:
    """`state` with `op` followed: its topic claimed and its link dialling (v2: the
    session joins the user's link, and may subscribe at once)."""
    state = _claim_topic(state, op.topic_id, op.id)
    link = state.links.get(op.link_id)
    if link is None and url is not None and state.config.protocol is Protocol.V2:
        return _mux.join(state, op, url)
    if link is not None and link.protocol is Protocol.V2:
        return _mux.join(state, op, link.url)
    if link is None:
        assert url is not None  # a new operation comes with its gateway URL
        link = v1_link(op.id, url)
    dial = dialled(link, ConnectionEvent.DIAL)
    assert dial is not None  # an operation not followed has a disconnected link
    state = attrs.evolve(
        state,
        operations=state.operations.set(op.id, op),
        links=state.links.set(dial.id, dial),
    )
    return state, NO_EFFECTS


def _check_token(state: GatewayState, action: OperationStarted | OperationAttached) -> None:
    if not action.token and state.config.protocol is Protocol.V1:
        raise TokenRequired(
            f"operation {action.operation_id!r}: protocol v1 needs the run's token "
            "(token=...; only protocol v2 authenticates with the user token)"
        )


def start(state: GatewayState, action: OperationStarted) -> _Placed:
    """A new run, followed from its first event."""
    _check_token(state, action)
    if action.operation_id in state.operations:
        raise OperationAlreadyExists(f"operation {action.operation_id!r} is already known")
    op = Operation(
        id=action.operation_id,
        topic_id=action.topic_id,
        link_id=action.operation_id,
        token=action.token,
        executor=action.executor,
    )
    return _followed(state, op, action.gateway_url)


def attach(state: GatewayState, action: OperationAttached) -> _Placed:
    """A run already going, followed again (a second attach of a followed one is skipped;
    one on another topic is refused: an operation runs on one topic)."""
    _check_token(state, action)
    existing = state.operations.get(action.operation_id)
    if existing is not None and existing.is_finished:
        raise OperationFinished(f"operation {existing.id!r} already finished: {existing.outcome}")
    if existing is not None and existing.topic_id != action.topic_id:
        raise OperationAlreadyExists(
            f"operation {existing.id!r} is followed on topic {existing.topic_id!r},"
            f" not {action.topic_id!r}"
        )
    if existing is not None and existing.status is OperationStatus.RUNNING:
        return state, NO_EFFECTS
    # v1 buffers a replay with no cursor; a v2 hub replays in order, the client dedups
    resume = ResumeState(on_connect=state.config.protocol is Protocol.V1)
    if existing is None:
        op = Operation(
            id=action.operation_id,
            topic_id=action.topic_id,
            link_id=action.operation_id,
            token=action.token,
            last_event_id=action.last_event_id,
            resume=resume,
            executor=action.executor,
        )
        return _followed(state, op, action.gateway_url)
    status = transition(OPERATION_TABLE, existing.status, OperationEvent.ATTACH)
    op = attrs.evolve(
        existing,
        status=status,
        token=action.token,
        last_event_id=existing.last_event_id or action.last_event_id,
        resume=resume,
        executor=action.executor,
    )
    return _followed(state, op)


def stop(op: Operation, action: StopRequested) -> OpStep:
    """The user pressed stop: ask the server to interrupt, once; keep following."""
    if op.stop_requested:
        return op, NO_EFFECTS
    interrupt = RequestInterrupt(operation_id=op.id, topic_id=op.topic_id)
    return attrs.evolve(op, stop_requested=True), (interrupt,)


def detach(op: Operation, action: OperationDetached) -> OpStep:
    """Stop following without finishing (no notification); the link closes."""
    status = transition(OPERATION_TABLE, op.status, OperationEvent.DETACH)
    if status is None:
        return op, NO_EFFECTS
    return stop_following(op, status)


def replace_token(op: Operation, action: TokenReplaced) -> OpStep:
    """A fresh token for the next `auth` frame; nothing is sent now."""
    return attrs.evolve(op, token=action.token), NO_EFFECTS


def reconnect(state: GatewayState, action: ReconnectRequested) -> _Placed:
    """A fresh socket now (upstream `reconnect()`): one at a time, the backoff started
    again, the cursor kept; a detached operation is followed again (it claims its topic).
    """
    op = known(state, action.operation_id)
    if op.is_finished:
        raise OperationFinished(f"operation {op.id!r} already finished: {op.outcome}")
    if op.status is OperationStatus.DETACHED:
        state = _claim_topic(state, op.topic_id, op.id)
        op = attrs.evolve(op, status=transition(OPERATION_TABLE, op.status, OperationEvent.ATTACH))
    op, effects = flush(op)  # a replay being buffered belongs to the socket that goes
    if state.links[op.link_id].protocol is Protocol.V2:
        state, resubscribed = _mux.resubscribe(state, op)
        return state, (*effects, *resubscribed)
    link = redialled(state.links[op.link_id])
    return (
        attrs.evolve(
            state, operations=state.operations.set(op.id, op), links=state.links.set(link.id, link)
        ),
        effects,
    )


def network_restored(state: GatewayState) -> _Placed:
    """The network came back: every link waiting out a backoff that still has something
    to carry dials now, its backoff started again (PROTOCOL.md 7.6). O(links)."""
    links = state.links
    for link in state.links.values():
        if link.status is not ConnectionStatus.RECONNECTING:
            continue
        if link.protocol is Protocol.V2 and not (link.sessions or state.config.v2_keep_alive):
            continue
        links = links.set(link.id, redialled(link))
    if links is state.links:
        return state, NO_EFFECTS
    return attrs.evolve(state, links=links), NO_EFFECTS


def _check_v2(state: GatewayState, action: LinkDisconnectRequested | LinkConnectRequested) -> None:
    if state.config.protocol is Protocol.V1:
        raise ProtocolV2Required(
            f"{type(action).__name__}: a v1 client has no link shared by its runs"
            " (detach or reconnect each run instead)"
        )


def disconnect_link(state: GatewayState, action: LinkDisconnectRequested) -> _Placed:
    """The application disconnected the user's v2 link (its sessions wait)."""
    _check_v2(state, action)
    return _mux.hold(state, action.gateway_url)


def connect_link(state: GatewayState, action: LinkConnectRequested) -> _Placed:
    """The application connected the user's v2 link again (it dials)."""
    _check_v2(state, action)
    return _mux.release(state, action.gateway_url)
