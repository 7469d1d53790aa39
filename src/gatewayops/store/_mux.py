"""The user's v2 link as a whole: news that concerns every session it carries.

Owns, for a v2 link (PROTOCOL.md 7.4-7.6): sessions joining it (`join`: the link dials,
or a `subscribe` goes out at once when the hub said `ready`) and subscribing again
(`resubscribe`); routing each hub frame by its envelope's operation to that session
(`_link_v2` reads it; a frame for an operation the link does not carry is dropped);
`ready` (every session subscribes again from its own cursor, then every queued tool
result goes out, then the link counts as connected; the failure counts start again);
heartbeats, quiet and bad frames; losing the socket (backoff with full jitter; a lazy
link with no session left closes instead); a close with code 4401 (redialled at once
with a fresh user token, `MAX_AUTH_RETRIES` times in a row, then every session ends as
an authentication failure, or v2 counts as unavailable when the fallback is on); the
dial-failure budget (`StoreConfig.v2_dial_budget`: dials that never reached `ready`);
and v2 being unavailable: every live session moves to a v1 link of its own from its
cursor, carrying its queued tool results (`StoreConfig.v2_fallback`), or ends as
`Result.UNREACHABLE`. Every session changed is committed as `_commit` does for one.
Must not know: sockets, clocks, or how frames are encoded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import immutables

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
from gatewayops.store._config import MAX_AUTH_RETRIES
from gatewayops.store._delivery import NO_EFFECTS
from gatewayops.store._effects import Effect
from gatewayops.store._endings import finish, stop_following
from gatewayops.store._lifecycle import ConnectionEvent
from gatewayops.store._link import (
    acked,
    authenticated,
    carries,
    closed,
    dialled,
    healthy,
    heard,
    lost,
    opened,
    quieted,
    redialled,
    ticked,
)
from gatewayops.store._link_v1 import PairStep, heartbeat, v1_link
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
from gatewayops.store._refresh import on_token_expired
from gatewayops.store._resources import TimerKind, link_resources
from gatewayops.store._state import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Result,
)
from gatewayops.store._tools import tool_write_failed

__all__ = ["UNAUTHORIZED", "join", "on_news", "resubscribe"]

UNAUTHORIZED = 4401
"""The close code of a v2 socket whose user token the hub refused at the upgrade."""

_Placed = tuple[GatewayState, tuple[Effect, ...]]
_RUNNING = OperationStatus.RUNNING
_CONNECTED = ConnectionStatus.CONNECTED
_NO_SESSIONS: immutables.Map[str, bool] = immutables.Map()


def _with_link(state: GatewayState, link: Link) -> GatewayState:
    return attrs.evolve(state, links=state.links.set(link.id, link))


def _add_session(link: Link, op: Operation) -> Link:
    return attrs.evolve(link, sessions=link.sessions.set(op.id, True))


# --------------------------------------------------------------------------- sessions


def join(state: GatewayState, op: Operation, gateway_url: str) -> _Placed:
    """`op` (not yet in `state`, or not followed) is followed over the user's link to
    `gateway_url`: subscribed now if the hub said `ready`, else when it does (the link
    dials if it is idle). With v2 unavailable and the fallback on, over v1 instead.

    Raises:
        InvalidGatewayUrl: the gateway URL is not a gateway's base URL.
    """
    link = state.links.get(mux_link_id(gateway_url)) or mux_link(gateway_url)
    if link.unavailable and state.config.v2_fallback:
        return _moved_to_v1(state, link, op)
    op = attrs.evolve(op, link_id=link.id)
    effects: tuple[Effect, ...] = NO_EFFECTS
    if link.status is ConnectionStatus.DISCONNECTED:
        dial = dialled(attrs.evolve(link, unavailable=False), ConnectionEvent.DIAL)
        assert dial is not None  # DIAL applies to a disconnected link
        link = dial
    elif link.status is _CONNECTED:
        op, frame, queued = subscribed(op)
        effects = sends(link, (frame, *queued))
    link = _add_session(link, op)
    state = attrs.evolve(
        state, operations=state.operations.set(op.id, op), links=state.links.set(link.id, link)
    )
    return state, effects


def resubscribe(state: GatewayState, op: Operation) -> _Placed:
    """The application asked for `op` afresh (upstream's `reconnect`): subscribed again
    from its cursor on a ready link (the hub replays what came after it), or the link
    dials now, its backoff started again."""
    link = state.links[op.link_id]
    if op.id not in link.sessions:
        return join(state, op, link.url)
    if link.status is _CONNECTED:
        op, frame, queued = subscribed(op)
        effects = sends(link, (Unsubscribe(operation_id=op.id), frame, *queued))
        return attrs.evolve(state, operations=state.operations.set(op.id, op)), effects
    if link.status in (ConnectionStatus.RECONNECTING, ConnectionStatus.DISCONNECTED):
        link = redialled(link)
    return _with_link(state, link), NO_EFFECTS


def _each_session(
    state: GatewayState,
    link: Link,
    action: Action,
    change: Callable[[Link, Operation], PairStep],
    ids: Iterable[str],
) -> _Placed:
    """Apply `change` to every live session named in `ids`, committing each (a failure
    ends that session alone, PROTOCOL.md 11.24)."""
    effects: list[Effect] = []
    for operation_id in ids:
        op = state.operations.get(operation_id)
        if op is None or op.status is not _RUNNING:
            continue
        try:
            new_link, new_op, done = change(link, op)
        except Exception as error:
            new_link, new_op, done = fail_internally(link, op, action, error)
        state, committed = commit(state, link, op, new_link, new_op, done)
        effects.extend(committed)
    return state, tuple(effects)


def _moved_to_v1(state: GatewayState, mux: Link, op: Operation) -> _Placed:
    """`op` leaves v2 for a v1 link of its own, from its cursor; its queued tool results
    go out after that link's `auth_success`. Without a v1 token it asks for one first."""
    link = v1_link(op.id, mux.url)
    moved = attrs.evolve(op, link_id=link.id, status=_RUNNING)
    effects: tuple[Effect, ...] = NO_EFFECTS
    if moved.token:
        dial = dialled(link, ConnectionEvent.DIAL)
        assert dial is not None  # DIAL applies to a new link
        link = dial
    else:
        moved, effects = on_token_expired(moved, state.config)  # dials once the token came
    return commit(state, mux, op, link, moved, effects)


def _unavailable(state: GatewayState, link: Link, action: Action, problem: str) -> _Placed:
    """v2 cannot be had: the link stops dialling; each session moves to v1 (fallback)
    or ends as unreachable."""
    ids = tuple(link.sessions)
    link = attrs.evolve(
        closed(link),
        sessions=_NO_SESSIONS,
        unavailable=True,
        last_problem=problem,
        failed_dials=0,
        auth_failures=0,
    )
    state = _with_link(state, link)
    if state.config.v2_fallback:
        placed: list[Effect] = []
        for operation_id in ids:
            op = state.operations.get(operation_id)
            if op is not None and op.status is _RUNNING:
                state, moved = _moved_to_v1(state, link, op)
                placed.extend(moved)
        return state, tuple(placed)
    detail = f"protocol v2 unavailable: {problem}"

    def unreachable(link: Link, op: Operation) -> PairStep:
        return link, *finish(op, Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE, detail)

    return _each_session(state, link, action, unreachable, ids)


def _ended_all(
    state: GatewayState, link: Link, action: Action, result: Result, detail: str
) -> _Placed:
    ids = tuple(link.sessions)
    link = attrs.evolve(closed(link), sessions=_NO_SESSIONS, last_problem=detail)

    def ended(link: Link, op: Operation) -> PairStep:
        return link, *finish(op, result, FinishSource.AUTH_FAILED, detail)

    return _each_session(_with_link(state, link), link, action, ended, ids)


def _detached_all(state: GatewayState, link: Link, action: Action, problem: str) -> _Placed:
    ids = tuple(link.sessions)
    link = attrs.evolve(closed(link), sessions=_NO_SESSIONS, last_problem=problem)

    def detached(link: Link, op: Operation) -> PairStep:
        op, effects = stop_following(op, OperationStatus.DETACHED, last_problem=problem)
        return link, op, effects

    return _each_session(_with_link(state, link), link, action, detached, ids)


# --------------------------------------------------------------------------- the socket


def _idle(state: GatewayState, link: Link) -> bool:
    """A lazy link that carries nothing: it closes rather than redial."""
    return not link.sessions and not state.config.v2_keep_alive


def _lost(state: GatewayState, link: Link, action: Action, problem: str) -> _Placed:
    config = state.config
    link = attrs.evolve(link, last_problem=problem)
    if _idle(state, link):
        return _with_link(state, closed(link)), NO_EFFECTS
    if not config.auto_reconnect:
        return _detached_all(state, link, action, problem)
    if link.status is not _CONNECTED:  # this dial never reached `ready`
        failed = link.failed_dials + 1
        if failed >= config.v2_dial_budget:
            return _unavailable(state, link, action, f"{problem} ({failed} dials without ready)")
        link = attrs.evolve(link, failed_dials=failed)
    return _with_link(state, lost(link)), NO_EFFECTS


def _refused(state: GatewayState, link: Link, action: Action, reason: str) -> _Placed:
    """Close 4401: the hub refused the user token at the upgrade."""
    failures = link.auth_failures + 1
    problem = f"close 4401 {reason or 'auth_failed'} ({failures} in a row)"
    link = attrs.evolve(link, auth_failures=failures, last_problem=problem)
    if _idle(state, link):
        return _with_link(state, closed(link)), NO_EFFECTS
    if failures < MAX_AUTH_RETRIES:
        dial = dialled(link, ConnectionEvent.REDIAL)  # at once: the runtime fetches a token
        assert dial is not None  # REDIAL applies while a socket exists
        return _with_link(state, dial), NO_EFFECTS
    if state.config.v2_fallback:
        return _unavailable(state, link, action, problem)
    return _ended_all(state, link, action, Result.AUTH_FAILED, problem)


def _on_timer(state: GatewayState, link: Link, action: TimerFired) -> _Placed:
    timer = action.timer
    if timer not in link_resources(link, state.config):
        return state, NO_EFFECTS
    match timer.kind:
        case TimerKind.CONNECT_WATCHDOG:
            return _lost(state, link, action, f"no ready within {timer.delay_ms} ms")
        case TimerKind.HEARTBEAT:
            beating = ticked(link, state.config)
            if beating is None:
                problem = f"{link.missed_heartbeats} heartbeats unanswered"
                return _lost(state, link, action, problem)
            return _with_link(state, beating), (heartbeat(beating),)
        case TimerKind.BACKOFF:
            dial = dialled(link, ConnectionEvent.BACKOFF_ELAPSED)
            assert dial is not None  # the backoff timer exists only while reconnecting
            return _with_link(state, dial), NO_EFFECTS
        case TimerKind.IDLE_CLOSE:
            return _with_link(state, closed(link)), NO_EFFECTS
        case _:  # pragma: no cover - `timer.of_link` routed only link timers here
            raise AssertionError(f"not a link timer: {timer.kind}")


def _send_failed(state: GatewayState, link: Link, action: SendFailed) -> _Placed:
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


def _on_socket(state: GatewayState, link: Link, action: Action) -> _Placed:
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
            return (state, NO_EFFECTS) if moved is None else (_with_link(state, moved), NO_EFFECTS)
        case SocketWentQuiet():
            return _with_link(state, quieted(link)), NO_EFFECTS
        case BadMessageReceived(error=error):
            return _with_link(state, attrs.evolve(heard(link), last_problem=error)), NO_EFFECTS
        case SocketClosed(code=code, reason=reason) if code == UNAUTHORIZED:
            return _refused(state, link, action, reason)
        case SocketClosed(code=code, reason=reason):
            return _lost(state, link, action, f"socket closed (code {code}, {reason!r})")
        case SocketFailed(error=error, retryable=True):
            return _lost(state, link, action, error)
        case SocketFailed(error=error):
            return _unavailable(state, link, action, error)
        case _:  # pragma: no cover - the reducer routes only link news here
            raise AssertionError(f"not news of a link: {type(action).__name__}")


# --------------------------------------------------------------------------- frames


def _ready(state: GatewayState, link: Link) -> _Placed:
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


def _on_link_frame(state: GatewayState, link: Link, message: object) -> _Placed:
    problems = getattr(message, "problems", ())
    if type(message) is not HeartbeatAck and link.quiet:
        link = heard(link)
    if problems:
        link = attrs.evolve(link, last_problem=problems[-1])
    match message:
        case Ready():
            return _ready(_with_link(state, link), link)
        case HeartbeatAck():
            link = acked(link)
        case HubError(code=code, message=text):
            link = attrs.evolve(link, last_problem=f"hub error {code}: {text}")
        case _:
            pass  # the user's operation feed (`op_lifecycle`) and the unknown: listeners see them
    return _with_link(state, link), NO_EFFECTS


def _on_operation(
    state: GatewayState, link: Link, action: MessageReceived, message: OperationFrame | HubError
) -> _Placed:
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


def on_news(state: GatewayState, link: Link, action: Action) -> _Placed:
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
        link = attrs.evolve(closed(link), sessions=_NO_SESSIONS, last_problem=detail)
        return _each_session(_with_link(state, link), link, action, failed, ids)
