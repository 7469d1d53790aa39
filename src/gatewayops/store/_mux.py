"""The user's v2 link as a whole: sessions joining it, and the news it hears.

Owns, for a v2 link (PROTOCOL.md 7.4-7.6): sessions joining it (`join`: the link dials,
or a `subscribe` goes out at once when the hub said `ready`; a held link's wait) and
subscribing again (`resubscribe`); the application holding the link (`hold`: the socket
closes, nothing dials, the sessions wait) and releasing it (`release`: it dials);
routing each hub frame by its envelope's operation to that session (`_link_v2` reads
it; a frame for an operation the link does not carry is dropped);
`ready` (every session subscribes again from its own cursor, then every queued tool
result goes out, then the link counts as connected; the failure counts start again);
heartbeats, quiet and bad frames, failed writes; the link's timers (the watchdog, the
heartbeat, the backoff's end, and a lazy link's idle close); and sorting out the
socket's news (a close, a failure) for `_mux_loss`, which decides what a loss means.
If handling link-wide news raises, every session ends as failed. Must not know:
sockets, clocks, or how frames are encoded; what a loss, a 4401 or an unavailable v2
does to the sessions (`_mux_loss`).
"""

from __future__ import annotations

import attrs

from gatewayops.protocol import HeartbeatAck
from gatewayops.protocol._v2_messages import (
    HubError,
    MuxAgentEvent,
    MuxClientMessage,
    Ready,
    Unsubscribe,
)
from gatewayops.store._actions import (
    Action,
    BadMessageReceived,
    MessageReceived,
    SendFailed,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    TimerFired,
)
from gatewayops.store._commit import commit, fail_internally, internal_error_detail
from gatewayops.store._delivery import NO_EFFECTS
from gatewayops.store._effects import Effect
from gatewayops.store._lifecycle import CONNECTION_TABLE, ConnectionEvent, transition
from gatewayops.store._link import (
    acked,
    authenticated,
    carries,
    closed,
    dialled,
    healthy,
    heard,
    opened,
    quieted,
    redialled,
    ticked,
)
from gatewayops.store._link_v1 import PairStep, heartbeat
from gatewayops.store._link_v2 import (
    OperationFrame,
    is_subscribed,
    mux_link,
    mux_link_id,
    on_operation_frame,
    sends,
    subscribed,
    wrapped,
)
from gatewayops.store._mux_loss import (
    NO_SESSIONS,
    UNAUTHORIZED,
    Placed,
    each_session,
    lost_socket,
    moved_to_v1,
    refused,
    unavailable,
    with_link,
)
from gatewayops.store._resources import TimerKind, link_resources
from gatewayops.store._state import (
    ConnectionStatus,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
)
from gatewayops.store._tools import tool_write_failed

__all__ = ["UNAUTHORIZED", "hold", "join", "on_news", "release", "resubscribe"]

_RUNNING = OperationStatus.RUNNING
_CONNECTED = ConnectionStatus.CONNECTED


def _add_session(link: Link, op: Operation) -> Link:
    return attrs.evolve(link, sessions=link.sessions.set(op.id, True))


# --------------------------------------------------------------------------- sessions


def _fresh_dial(link: Link, event: ConnectionEvent) -> Link:
    """A disconnected link dials as if new: the backoff and the failure counts too."""
    fresh = attrs.evolve(link, unavailable=False, attempt=0, failed_dials=0, auth_failures=0)
    dial = dialled(fresh, event)
    assert dial is not None  # DIAL and RELEASE apply to a disconnected link
    return dial


def join(state: GatewayState, op: Operation, gateway_url: str) -> Placed:
    """`op` (not yet in `state`, or not followed) is followed over the user's link to
    `gateway_url`: subscribed now if the hub said `ready`, else when it does (the link
    dials if it is idle, unless the application holds it). With v2 unavailable and the
    fallback on, over v1 instead.

    Raises:
        InvalidGatewayUrl: the gateway URL is not a gateway's base URL.
    """
    link = state.links.get(mux_link_id(gateway_url)) or mux_link(gateway_url)
    if link.unavailable and state.config.v2_fallback:
        return moved_to_v1(state, link, op)
    op = attrs.evolve(op, link_id=link.id)
    effects: tuple[Effect, ...] = NO_EFFECTS
    if link.held:
        pass  # the application disconnected the link: the session waits for `release`
    elif link.status is ConnectionStatus.DISCONNECTED:
        link = _fresh_dial(link, ConnectionEvent.DIAL)
    elif link.status is _CONNECTED:
        op, frame, queued = subscribed(op)
        effects = sends(link, (frame, *queued))
    link = _add_session(link, op)
    state = attrs.evolve(
        state, operations=state.operations.set(op.id, op), links=state.links.set(link.id, link)
    )
    return state, effects


def resubscribe(state: GatewayState, op: Operation) -> Placed:
    """The application asked for `op` afresh (upstream's `reconnect`): subscribed again
    from its cursor on a ready link (the hub replays what came after it), or the link
    dials now, its backoff started again (a held link stays held: the session waits)."""
    link = state.links[op.link_id]
    if op.id not in link.sessions:
        return join(state, op, link.url)
    if link.status is _CONNECTED:
        op, frame, queued = subscribed(op)
        effects = sends(link, (Unsubscribe(operation_id=op.id), frame, *queued))
        return attrs.evolve(state, operations=state.operations.set(op.id, op)), effects
    if not link.held and link.status in (
        ConnectionStatus.RECONNECTING,
        ConnectionStatus.DISCONNECTED,
    ):
        link = redialled(link)
    return with_link(state, link), NO_EFFECTS


def hold(state: GatewayState, gateway_url: str) -> Placed:
    """The application disconnected the link to `gateway_url` (PROTOCOL.md 7.6): its
    socket closes (a user token still being fetched for it is dropped with it), nothing
    dials until `release`, and every session stays, running, with its cursor and its
    queued tool results. A link not made yet is made held: sessions joining it wait.

    Raises:
        InvalidGatewayUrl: the gateway URL is not a gateway's base URL.
    """
    link = state.links.get(mux_link_id(gateway_url)) or mux_link(gateway_url)
    if link.held:
        return state, NO_EFFECTS
    status = transition(CONNECTION_TABLE, link.status, ConnectionEvent.HOLD)
    link = attrs.evolve(link, status=status, held=True, quiet=False, missed_heartbeats=0)
    return with_link(state, link), NO_EFFECTS


def release(state: GatewayState, gateway_url: str) -> Placed:
    """The application connected the link to `gateway_url` again: a held link dials
    now (a new socket generation, with a fresh user token) if it carries a session or
    is kept alive; on `ready` each session subscribes from its own cursor. A link not
    held is left as it is."""
    link = state.links.get(mux_link_id(gateway_url))
    if link is None or not link.held:
        return state, NO_EFFECTS
    link = attrs.evolve(link, held=False)
    if link.sessions or state.config.v2_keep_alive:
        link = _fresh_dial(link, ConnectionEvent.RELEASE)
    return with_link(state, link), NO_EFFECTS


# --------------------------------------------------------------------------- the socket


def _on_timer(state: GatewayState, link: Link, action: TimerFired) -> Placed:
    timer = action.timer
    if timer not in link_resources(link, state.config):
        return state, NO_EFFECTS
    match timer.kind:
        case TimerKind.CONNECT_WATCHDOG:
            return lost_socket(state, link, action, f"no ready within {timer.delay_ms} ms")
        case TimerKind.HEARTBEAT:
            beating = ticked(link, state.config)
            if beating is None:
                problem = f"{link.missed_heartbeats} heartbeats unanswered"
                return lost_socket(state, link, action, problem)
            return with_link(state, beating), (heartbeat(beating),)
        case TimerKind.BACKOFF:
            dial = dialled(link, ConnectionEvent.BACKOFF_ELAPSED)
            assert dial is not None  # the backoff timer exists only while reconnecting
            return with_link(state, dial), NO_EFFECTS
        case TimerKind.IDLE_CLOSE:
            return with_link(state, closed(link)), NO_EFFECTS
        case _:  # pragma: no cover - `timer.of_link` routed only link timers here
            raise AssertionError(f"not a link timer: {timer.kind}")


def _send_failed(state: GatewayState, link: Link, action: SendFailed) -> Placed:
    """A v2 tool result whose write failed is queued again (sent again at once if a newer
    socket is ready); a lost `subscribe` or heartbeat is redone by the next `ready`."""
    message = action.message
    operation_id = getattr(message, "operation_id", None)
    result = getattr(message, "result", None)
    op = None if operation_id is None else state.operations.get(operation_id)
    if op is None or result is None or op.status is not _RUNNING:
        return state, NO_EFFECTS
    resend = action.generation != link.generation and is_subscribed(link, op)
    new_op, frames = tool_write_failed(op, result, resend=resend)
    return commit(state, link, op, link, new_op, sends(link, wrapped(new_op, frames)))


def _on_socket(state: GatewayState, link: Link, action: Action) -> Placed:
    match action:
        case SendFailed():
            return _send_failed(state, link, action)
        case TimerFired():
            return _on_timer(state, link, action)
        case (
            SocketOpened()
            | SocketClosed()
            | SocketFailed()
            | SocketWentQuiet()
            | (BadMessageReceived())
        ) if not carries(link, action.generation):
            return state, NO_EFFECTS
        case SocketOpened():
            moved = opened(link)  # now wait for `ready`: nothing is sent before it
            return (state, NO_EFFECTS) if moved is None else (with_link(state, moved), NO_EFFECTS)
        case SocketWentQuiet():
            return with_link(state, quieted(link)), NO_EFFECTS
        case BadMessageReceived(error=error):
            return with_link(state, attrs.evolve(heard(link), last_problem=error)), NO_EFFECTS
        case SocketClosed(code=code, reason=reason) if code == UNAUTHORIZED:
            return refused(state, link, action, reason)
        case SocketClosed(code=code, reason=reason):
            return lost_socket(state, link, action, f"socket closed (code {code}, {reason!r})")
        case SocketFailed(error=error, retryable=True):
            return lost_socket(state, link, action, error)
        case SocketFailed(error=error):
            return unavailable(state, link, action, error)
        case _:  # pragma: no cover - the reducer routes only link news here
            raise AssertionError(f"not news of a link: {type(action).__name__}")


# --------------------------------------------------------------------------- frames


def _ready(state: GatewayState, link: Link) -> Placed:
    """The hub said `ready`: every session subscribes from its own cursor, then every
    queued tool result goes out (the hub refuses an operation's frames before its
    `subscribe`); the failure counts start again (the backoff only once healthy)."""
    moved = authenticated(link)
    if moved is None:
        return state, NO_EFFECTS
    link = attrs.evolve(moved, failed_dials=0, auth_failures=0, unavailable=False)
    operations = state.operations
    frames: list[MuxClientMessage] = []
    results: list[MuxClientMessage] = []
    for operation_id in link.sessions:
        op = operations[operation_id]
        new_op, frame, queued = subscribed(op)
        frames.append(frame)
        results.extend(queued)
        if new_op is not op:
            operations = operations.set(operation_id, new_op)
    state = attrs.evolve(state, operations=operations, links=state.links.set(link.id, link))
    return state, sends(link, (*frames, *results))


def _on_link_frame(state: GatewayState, link: Link, message: object) -> Placed:
    problems = getattr(message, "problems", ())
    if type(message) is not HeartbeatAck and link.quiet:
        link = heard(link)
    if problems:
        link = attrs.evolve(link, last_problem=problems[-1])
    match message:
        case Ready():
            return _ready(with_link(state, link), link)
        case HeartbeatAck():
            link = acked(link)
        case HubError(code=code, message=text):
            link = attrs.evolve(link, last_problem=f"hub error {code}: {text}")
        case _:
            pass  # the user's operation feed (`op_lifecycle`) and the unknown: listeners see them
    return with_link(state, link), NO_EFFECTS


def _on_operation(
    state: GatewayState, link: Link, action: MessageReceived, message: OperationFrame | HubError
) -> Placed:
    op = state.operations.get(message.operation_id or "")
    if op is None or op.id not in link.sessions or op.status is not _RUNNING:
        if type(message) is HubError:
            return _on_link_frame(state, link, message)
        return state, NO_EFFECTS  # for an operation this link does not carry: dropped
    moved = heard(link) if link.quiet else link
    if moved.attempt and type(message) is MuxAgentEvent:
        moved = healthy(moved)
    try:
        new_op, effects = on_operation_frame(op, message)
    except Exception as error:
        moved, new_op, effects = fail_internally(moved, op, action, error)
    return commit(state, link, op, moved, new_op, effects)


def on_news(state: GatewayState, link: Link, action: Action) -> Placed:
    """News of the v2 `link`: a hub frame, its socket's life, a link timer, a failed
    write. Never raises: if handling link-wide news fails, the sessions end as failed."""
    try:
        if type(action) is MessageReceived:
            if not carries(link, action.generation):
                return state, NO_EFFECTS
            message = action.message
            if isinstance(message, OperationFrame) or (
                isinstance(message, HubError) and message.operation_id
            ):
                return _on_operation(state, link, action, message)
            return _on_link_frame(state, link, message)
        return _on_socket(state, link, action)
    except Exception as error:
        failure = error
        detail = internal_error_detail(f"handling {type(action).__name__} on the v2 link", error)

        def failed(link: Link, op: Operation) -> PairStep:
            return fail_internally(link, op, action, failure)

        ids = tuple(link.sessions)
        link = attrs.evolve(closed(link), sessions=NO_SESSIONS, last_problem=detail)
        return each_session(with_link(state, link), link, action, failed, ids)
