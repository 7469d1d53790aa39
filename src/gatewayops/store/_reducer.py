"""`reduce(state, action) -> Step`: the one pure function every decision goes through.

Owns: routing each action to the link and the operation (session) it concerns --
transport news and link timers by link, everything else by operation -- and dropping
stale news (a transport action of an old generation, a timer no longer in the resources,
anything for a finished operation but the answer to its transcript's fetch); the
socket's life common to every protocol (opened, closed, failed, quiet, a bad frame, the
watchdog, heartbeats, backoff, and the dial budget of a gateway never reached) with the
protocol's frames handed to its link module (`_link_v1`); the results of effects
(interventions' answers to `_interventions`, the server's message list to `_refetch`,
even for a finished operation, whose transcript alone it may change); the commit, where
a transcript that has come to need the server's list asks for it, an operation that is
no longer followed has its link closed and a finished one clears its topic's marker if
the marker still names it and is retired (kept among the last `retain_finished`
finished, see `_retention`); and the safety net of PROTOCOL.md 11.24: if handling an
action raises anyway, its operation ends once as failed
(`FinishSource.INTERNAL_ERROR`) and `reduce` returns normally. Only the application's
misuse raises (`LocalUsageError`), before anything changes. Must not know: clocks,
randomness, I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

import attrs

from gatewayops._frozen import copier
from gatewayops.protocol import ClientMessage
from gatewayops.store import _app, _interventions, _link_v1, _link_v2, _mux, _retention
from gatewayops.store._actions import (
    Action,
    BadMessageReceived,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    LinkConnectRequested,
    LinkDisconnectRequested,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    NetworkRestored,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    ReconnectRequested,
    SendFailed,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    TimerFired,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
    is_about_a_link,
    subject,
)
from gatewayops.store._commit import Step, fail_internally, internal_error_detail
from gatewayops.store._commit import commit as _commit
from gatewayops.store._commit import new_step as _new_step
from gatewayops.store._config import Protocol, StoreConfig, out_of_dials
from gatewayops.store._delivery import NO_EFFECTS, flush
from gatewayops.store._effects import Effect
from gatewayops.store._endings import finish, stop_following
from gatewayops.store._lifecycle import ConnectionEvent
from gatewayops.store._link import carries, dialled, heard, lost, quieted, ticked
from gatewayops.store._link_v1 import PairStep, heartbeat, sends
from gatewayops.store._refetch import on_fetch_answer
from gatewayops.store._refresh import on_refresh_failed, on_refresh_retry, on_token_refreshed
from gatewayops.store._resources import (
    TimerKind,
    link_resources,
    operation_resources,
)
from gatewayops.store._session import on_link_lost
from gatewayops.store._state import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Result,
)
from gatewayops.store._tools import tool_deadline_passed, tool_finished, tool_write_failed
from gatewayops.store._transcript import RefetchStatus

__all__ = ["Step", "internal_error_detail", "reduce"]

if TYPE_CHECKING:  # mypy checks the copy like attrs.evolve (see gatewayops._frozen)
    from attrs import evolve as _with_operations
else:
    _with_operations = copier(GatewayState, "operations")
_FINISHED = OperationStatus.FINISHED
_RUNNING = OperationStatus.RUNNING
_DISCONNECTED = ConnectionStatus.DISCONNECTED
_V2 = Protocol.V2


# --------------------------------------------------------------------------- the socket


def _is_current(link: Link, op: Operation, generation: int) -> bool:
    """Whether transport news of `generation` is about a followed link's live socket."""
    return op.status is _RUNNING and carries(link, generation)


def _lose(link: Link, op: Operation, config: StoreConfig, problem: str) -> PairStep:
    """The socket is gone: back off and redial; or, with `auto_reconnect` off, stop
    following (detached, not finished: nothing here says how the run ended)."""
    if not config.auto_reconnect:
        op, effects = stop_following(op, OperationStatus.DETACHED, last_problem=problem)
        return link, op, effects
    op, effects = on_link_lost(attrs.evolve(op, last_problem=problem))
    return lost(link), op, effects


def _on_socket(
    link: Link,
    op: Operation,
    config: StoreConfig,
    action: SocketOpened | SocketClosed | SocketFailed | SocketWentQuiet | BadMessageReceived,
) -> PairStep:
    match action:
        case SocketOpened():
            return _link_v1.on_opened(link, op)
        case SocketWentQuiet():
            return quieted(link), op, NO_EFFECTS
        case SocketClosed(code=code, reason=reason):
            return _lose(link, op, config, f"socket closed (code {code}, {reason!r})")
        case SocketFailed(error=error, retryable=True):
            failed = link.attempt + 1
            if out_of_dials(config, ever_opened=link.ever_opened, failed_dials=failed):
                detail = f"{error} ({failed} attempt{'' if failed == 1 else 's'})"
                op, effects = finish(op, Result.UNREACHABLE, FinishSource.DIAL_BUDGET, detail)
                return link, op, effects
            return _lose(link, op, config, error)
        case SocketFailed(error=error):
            op, effects = finish(op, Result.REJECTED, FinishSource.CONNECTION_REJECTED, error)
            return link, op, effects
        case BadMessageReceived(error=error):
            op = attrs.evolve(op, bad_frames=op.bad_frames + 1, last_problem=error)
            return heard(link), op, NO_EFFECTS
        case _:
            assert_never(action)


def _on_link_timer(link: Link, op: Operation, config: StoreConfig, action: TimerFired) -> PairStep:
    timer = action.timer
    if timer not in link_resources(link, config):
        return link, op, NO_EFFECTS
    match timer.kind:
        case TimerKind.CONNECT_WATCHDOG:
            return _lose(link, op, config, f"no auth_success within {timer.delay_ms} ms")
        case TimerKind.HEARTBEAT:
            beating = ticked(link, config)
            if beating is None:
                problem = f"{link.missed_heartbeats} heartbeats unanswered"
                return _lose(link, op, config, problem)
            return beating, op, (heartbeat(beating),)
        case TimerKind.BACKOFF:
            dial = dialled(link, ConnectionEvent.BACKOFF_ELAPSED)
            assert dial is not None  # the backoff timer exists only while reconnecting
            op, effects = flush(op)
            return dial, op, effects
        case _:  # pragma: no cover - `timer.of_link` routed only the kinds above here
            raise AssertionError(f"not a link timer: {timer.kind}")


def _on_operation_timer(
    op: Operation, config: StoreConfig, action: TimerFired
) -> tuple[Operation, tuple[Effect, ...]]:
    timer = action.timer
    if timer not in operation_resources(op, config):
        return op, NO_EFFECTS
    match timer.kind:
        case TimerKind.RESUME_FLUSH:
            return flush(op)
        case TimerKind.REFRESH_RETRY:
            return on_refresh_retry(op)
        case TimerKind.REFRESH_TIMEOUT:
            problem = f"token refresh did not answer within {timer.delay_ms} ms"
            return on_refresh_failed(op, config, problem, not_found=False)
        case TimerKind.TOOL_DEADLINE:
            return tool_deadline_passed(op, timer.tool_call_id), NO_EFFECTS
        case TimerKind.INTERVENTION_DEADLINE:
            return _interventions.intervention_deadline_passed(op, timer.tool_call_id), NO_EFFECTS
        case _:  # pragma: no cover - link timers are routed to `_on_link_timer`
            raise AssertionError(f"not an operation timer: {timer.kind}")


# --------------------------------------------------------------------------- the news


def _online(link: Link, op: Operation) -> bool:
    """Whether frames of `op` may go out on its link now (authenticated; on v2, once the
    hub said `ready`, when every session it carries is subscribed)."""
    if link.protocol is _V2:
        return _link_v2.is_subscribed(link, op)
    return link.status is ConnectionStatus.CONNECTED


def _put(link: Link, op: Operation, frames: tuple[ClientMessage, ...]) -> tuple[Effect, ...]:
    """The effects that write a session's frames on its link, as its protocol has them."""
    if link.protocol is _V2:
        return _link_v2.sends(link, _link_v2.wrapped(op, frames))
    return sends(link, frames)


def _on_news(link: Link, op: Operation, config: StoreConfig, action: Action) -> PairStep:
    """Actions other than frames that are news about an existing, unfinished operation
    and its link."""
    effects: tuple[Effect, ...]
    match action:
        case (
            SocketOpened()
            | SocketClosed()
            | SocketFailed()
            | SocketWentQuiet()
            | (BadMessageReceived())
        ):
            if not _is_current(link, op, action.generation):
                return link, op, NO_EFFECTS
            return _on_socket(link, op, config, action)
        case SendFailed(generation=generation, message=message):
            resend = generation != link.generation and _online(link, op)
            op, frames = tool_write_failed(op, message, resend=resend)  # type: ignore[arg-type]
            return link, op, sends(link, frames)
        case TimerFired(timer=timer) if timer.of_link:
            return _on_link_timer(link, op, config, action)
        case TimerFired():
            op, effects = _on_operation_timer(op, config, action)
        case TokenRefreshed(token=token):
            op, redial = on_token_refreshed(op, token)
            if redial and link.protocol is not _V2:  # v2 dials with the user's token
                event = ConnectionEvent.REDIAL
                if link.status is _DISCONNECTED:  # moved to v1 without a token: the first dial
                    event = ConnectionEvent.DIAL
                dial = dialled(link, event)
                if dial is not None:
                    op, effects = flush(op)
                    return dial, op, effects
            effects = NO_EFFECTS
        case TokenRefreshFailed(error=error, not_found=not_found):
            op, effects = on_refresh_failed(op, config, error, not_found=not_found)
        case ToolFinished(result=result):
            op, frames = tool_finished(op, result, online=_online(link, op))
            effects = _put(link, op, frames)
        case InterruptConfirmed():
            if not op.stop_requested:
                return link, op, NO_EFFECTS
            op, effects = finish(op, Result.INTERRUPTED, FinishSource.INTERRUPT_CONFIRMED)
        case InterruptFailed(error=error):
            op, effects = attrs.evolve(op, stop_requested=False, last_problem=error), NO_EFFECTS
        case InterventionAnswered() | InterventionDeclined():
            op, effects = _interventions.answer(op, action)
        case InterventionSubmitted():
            op, effects = _interventions.submitted(op, action), NO_EFFECTS
        case InterventionSubmitFailed():
            op, effects = _interventions.submission_failed(op, action), NO_EFFECTS
        case MessagesFetched() | MessagesFetchFailed():
            op, effects = on_fetch_answer(op, action)
        case HandlingFailed(error=error):
            op, effects = finish(op, Result.FAILED, FinishSource.INTERNAL_ERROR, error)
        case StopRequested():
            op, effects = _app.stop(op, action)
        case OperationDetached():
            op, effects = _app.detach(op, action)
        case TokenReplaced():
            op, effects = _app.replace_token(op, action)
        case (
            MessageReceived()
            | OperationStarted()
            | OperationAttached()
            | ReconnectRequested()
            | OperationForgotten()
            | NetworkRestored()
            | LinkDisconnectRequested()
            | LinkConnectRequested()
        ):  # pragma: no cover
            raise AssertionError(
                "frames (in `reduce`), start, attach, reconnect, forget, the network and"
                " the v2 link requests are handled above"
            )
        case _:
            assert_never(action)
    return link, op, effects


_FETCH_ANSWERS = frozenset({MessagesFetched, MessagesFetchFailed})
"""The one news a finished operation still hears: the answer to its transcript's fetch."""


def _fetched_after_the_end(
    state: GatewayState, op: Operation, action: MessagesFetched | MessagesFetchFailed
) -> tuple[GatewayState, tuple[Effect, ...]]:
    """The server's list for a finished operation: only its transcript changes (and a
    failure inside says so there: the run has ended already)."""
    try:
        new_op, effects = on_fetch_answer(op, action)
    except Exception as error:
        problem = internal_error_detail(f"handling {type(action).__name__}", error)
        transcript = attrs.evolve(
            op.transcript, refetch=RefetchStatus.GAVE_UP, refetch_problem=problem
        )
        new_op, effects = attrs.evolve(op, transcript=transcript), NO_EFFECTS
    if new_op is op:
        return state, effects
    return _with_operations(state, operations=state.operations.set(op.id, new_op)), effects


_ABOUT_A_KNOWN_OPERATION = frozenset(
    {StopRequested, OperationDetached, TokenReplaced, InterventionAnswered, InterventionDeclined}
)
"""Application actions that name an operation the store must know."""


def reduce(state: GatewayState, action: Action) -> Step:
    """The next state and effects after `action`. Pure: no clock, no I/O.

    Never raises for what the network, timers or effects report: if handling such an
    action fails, its operation ends as failed instead (`FinishSource.INTERNAL_ERROR`).

    Raises:
        OperationAlreadyExists: `OperationStarted` for an id already known.
        TopicBusy: start or attach on a topic another running operation holds; also
            `ReconnectRequested` for a detached operation whose topic a newer running
            operation holds.
        OperationFinished: `OperationAttached` or `ReconnectRequested` for an operation
            that already finished.
        UnknownOperation: an application action (stop, detach, token, reconnect,
            forget, an answer) for an unknown id (never known, or forgotten).
        OperationNotFinished: `OperationForgotten` for an operation not finished.
        UnknownIntervention: an answer or decline for a tool call the operation was
            never asked about.
        InterventionClosed: an answer or decline for an intervention that ended, or
            one whose other answer is being resolved.
        InvalidGatewayUrl: start or attach with a gateway URL of the wrong scheme.
        TokenRequired: start or attach on protocol v1 with an empty token.
        ProtocolV2Required: a v2 link request (disconnect, connect) on protocol v1.
    """
    kind = type(action)
    link: Link | None
    op: Operation | None
    if kind is MessageReceived:  # the hot path (one per frame) is tested first
        link = state.links.get(action.link_id)  # type: ignore[union-attr]
        if link is not None and link.protocol is _V2:
            return _new_step(Step, _mux.on_news(state, link, action))
        op = None if link is None else state.operations.get(link.operation_id)
    elif is_about_a_link(action):
        link = state.links.get(subject(action))
        if link is not None and link.protocol is _V2:
            return _new_step(Step, _mux.on_news(state, link, action))
        op = None if link is None else state.operations.get(link.operation_id)
    elif kind is NetworkRestored:
        return _new_step(Step, _app.network_restored(state))
    elif isinstance(action, LinkDisconnectRequested):
        return _new_step(Step, _app.disconnect_link(state, action))
    elif isinstance(action, LinkConnectRequested):
        return _new_step(Step, _app.connect_link(state, action))
    elif isinstance(action, OperationStarted):
        return _new_step(Step, _app.start(state, action))
    elif isinstance(action, OperationAttached):
        return _new_step(Step, _app.attach(state, action))
    elif isinstance(action, ReconnectRequested):
        return _new_step(Step, _app.reconnect(state, action))
    elif isinstance(action, OperationForgotten):
        return _new_step(Step, _retention.forgotten(state, action))
    else:
        owner = subject(action)
        known = kind in _ABOUT_A_KNOWN_OPERATION
        op = _app.known(state, owner) if known else state.operations.get(owner)
        link = None if op is None else state.links.get(op.link_id)
        if isinstance(action, InterventionAnswered | InterventionDeclined):
            _interventions.check_answerable(op, action)  # type: ignore[arg-type]
    if op is None or link is None or op.status is _FINISHED:
        if op is not None and op.status is _FINISHED and kind in _FETCH_ANSWERS:
            return _new_step(Step, _fetched_after_the_end(state, op, action))  # type: ignore[arg-type]
        return _new_step(Step, (state, NO_EFFECTS))
    try:
        if kind is MessageReceived:  # a frame on its v1 link: the hot path, one per frame
            if not _is_current(link, op, action.generation):  # type: ignore[union-attr]
                return _new_step(Step, (state, NO_EFFECTS))
            message = action.message  # type: ignore[union-attr]
            new_link, new_op, effects = _link_v1.on_message(link, op, state.config, message)  # type: ignore[arg-type]
        else:
            new_link, new_op, effects = _on_news(link, op, state.config, action)
    except Exception as error:
        new_link, new_op, effects = fail_internally(link, op, action, error)
    return _commit(state, link, op, new_link, new_op, effects)
