"""`reduce(state, action) -> Step`: the one pure function every decision goes through.

Owns: routing each action to its operation, the application actions (start, attach,
stop, detach, token replacement, reconnect) with the misuse errors they raise, dropping
stale news (a transport action of an old generation, a timer no longer in the
operation's resources, anything for a finished operation), the topic markers (set on
start, cleared on finish only if they still name the finishing operation), and the
safety net of PROTOCOL.md 11.24: if handling an action for an operation raises anyway,
that operation ends once as failed (`FinishSource.INTERNAL_ERROR`) and `reduce` returns
normally. Only the application's misuse raises (`LocalUsageError`), before anything
changes. Must not know: clocks, randomness, I/O.
"""

from __future__ import annotations

import os
import traceback
from typing import NamedTuple, assert_never

import attrs

from gatewayops._frozen import copier
from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import (
    OperationAlreadyExists,
    OperationFinished,
    TopicBusy,
    UnknownOperation,
)
from gatewayops.protocol import operation_url
from gatewayops.store._actions import (
    Action,
    BadMessageReceived,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    MessageReceived,
    OperationAttached,
    OperationDetached,
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
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._connection import (
    connection_lost,
    dial,
    heard_from_server,
    on_heartbeat_tick,
    on_refresh_failed,
    on_refresh_retry,
    on_socket_opened,
    on_token_refreshed,
    reconnect,
    went_quiet,
)
from gatewayops.store._delivery import NO_EFFECTS, OpStep, finish, flush, stop_following
from gatewayops.store._effects import Effect, RequestInterrupt
from gatewayops.store._inbound import on_message
from gatewayops.store._lifecycle import (
    OPERATION_TABLE,
    ConnectionEvent,
    OperationEvent,
    transition,
)
from gatewayops.store._resources import SOCKET_STATUSES, TimerKind, operation_resources
from gatewayops.store._state import (
    FinishSource,
    GatewayState,
    Operation,
    OperationStatus,
    Result,
    ResumeState,
    Topic,
)
from gatewayops.store._tools import on_send_failed, on_tool_deadline, on_tool_finished

__all__ = ["Step", "internal_error_detail", "reduce"]

_with_operations = copier(GatewayState, "operations")  # see gatewayops._frozen
_new_step = tuple.__new__  # Step(...) without NamedTuple's Python-level __new__
_FINISHED = OperationStatus.FINISHED
_RUNNING = OperationStatus.RUNNING


class Step(NamedTuple):
    """The result of one `reduce`: the next state and the effects to carry out, in order.

    A named tuple rather than an attrs class: one is built per action, and a tuple
    costs a fraction of a frozen attrs instance on the streaming hot path.
    """

    state: GatewayState
    effects: tuple[Effect, ...] = ()


def _commit(state: GatewayState, old: Operation, step: OpStep) -> Step:
    op, effects = step
    if op is old:
        return _new_step(Step, (state, effects))
    state = _with_operations(state, state.operations.set(op.id, op))
    if op.status is _FINISHED and old.status is not _FINISHED:
        topic = state.topics.get(op.topic_id)
        if topic is not None and topic.running_operation == op.id:
            topic = attrs.evolve(topic, running_operation=None)
            state = attrs.evolve(state, topics=state.topics.set(topic.id, topic))
    return _new_step(Step, (state, effects))


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


def _start(state: GatewayState, action: OperationStarted) -> Step:
    if action.operation_id in state.operations:
        raise OperationAlreadyExists(f"operation {action.operation_id!r} is already known")
    op = Operation(
        id=action.operation_id,
        topic_id=action.topic_id,
        url=operation_url(action.gateway_url, action.operation_id),
        token=action.token,
    )
    state = _claim_topic(state, action.topic_id, op.id)
    op, effects = dial(op, ConnectionEvent.DIAL)
    return Step(
        state=attrs.evolve(state, operations=state.operations.set(op.id, op)), effects=effects
    )


def _attach(state: GatewayState, action: OperationAttached) -> Step:
    existing = state.operations.get(action.operation_id)
    if existing is not None and existing.is_finished:
        raise OperationFinished(f"operation {existing.id!r} already finished: {existing.outcome}")
    if existing is not None and existing.status is OperationStatus.RUNNING:
        return Step(state=state)  # already followed: a second attach is skipped
    if existing is None:
        op = Operation(
            id=action.operation_id,
            topic_id=action.topic_id,
            url=operation_url(action.gateway_url, action.operation_id),
            token=action.token,
            last_event_id=action.last_event_id,
        )
    else:
        status = transition(OPERATION_TABLE, existing.status, OperationEvent.ATTACH)
        assert status is not None  # DETACHED -> RUNNING
        op = attrs.evolve(
            existing,
            status=status,
            token=action.token,
            last_event_id=existing.last_event_id or action.last_event_id,
        )
    op = attrs.evolve(op, resume=ResumeState(on_connect=True))
    state = _claim_topic(state, op.topic_id, op.id)
    op, effects = dial(op, ConnectionEvent.DIAL)
    return Step(
        state=attrs.evolve(state, operations=state.operations.set(op.id, op)), effects=effects
    )


def _reconnect(state: GatewayState, action: ReconnectRequested) -> Step:
    op = _known(state, action.operation_id)
    if op.is_finished:
        raise OperationFinished(f"operation {op.id!r} already finished: {op.outcome}")
    if op.status is OperationStatus.DETACHED:  # followed again: it claims its topic
        state = _claim_topic(state, op.topic_id, op.id)
    op, effects = reconnect(op)
    return Step(
        state=attrs.evolve(state, operations=state.operations.set(op.id, op)), effects=effects
    )


def _known(state: GatewayState, operation_id: str) -> Operation:
    op = state.operations.get(operation_id)
    if op is None:
        raise UnknownOperation(f"no operation {operation_id!r} is known to the store")
    return op


def _stop(op: Operation) -> OpStep:
    if op.is_finished or op.stop_requested:
        return op, NO_EFFECTS
    interrupt = RequestInterrupt(operation_id=op.id, topic_id=op.topic_id)
    return attrs.evolve(op, stop_requested=True), (interrupt,)


def _detach(op: Operation) -> OpStep:
    status = transition(OPERATION_TABLE, op.status, OperationEvent.DETACH)
    if status is None:
        return op, NO_EFFECTS
    return stop_following(op, status)


def _is_current(op: Operation, generation: int) -> bool:
    """Whether transport news of `generation` is about the operation's live socket."""
    connection = op.connection
    return (
        generation == connection.generation
        and connection.status in SOCKET_STATUSES
        and op.status is _RUNNING
    )


def _on_socket(
    op: Operation,
    config: StoreConfig,
    action: SocketOpened | SocketClosed | SocketFailed | SocketWentQuiet | BadMessageReceived,
) -> OpStep:
    match action:
        case SocketOpened():
            return on_socket_opened(op)
        case SocketWentQuiet():
            return went_quiet(op)
        case SocketClosed(code=code, reason=reason):
            return connection_lost(op, config, f"socket closed (code {code}, {reason!r})")
        case SocketFailed(error=error, retryable=True):
            return connection_lost(op, config, error)
        case SocketFailed(error=error):
            return finish(op, Result.REJECTED, FinishSource.CONNECTION_REJECTED, error)
        case BadMessageReceived(error=error):
            op = heard_from_server(op)
            return attrs.evolve(op, bad_frames=op.bad_frames + 1, last_problem=error), NO_EFFECTS
        case _:
            assert_never(action)


def _on_timer(op: Operation, config: StoreConfig, action: TimerFired) -> OpStep:
    timer = action.timer
    if timer not in operation_resources(op, config):
        return op, NO_EFFECTS
    match timer.kind:
        case TimerKind.CONNECT_WATCHDOG:
            return connection_lost(op, config, f"no auth_success within {timer.delay_ms} ms")
        case TimerKind.HEARTBEAT:
            return on_heartbeat_tick(op, config)
        case TimerKind.BACKOFF:
            return dial(op, ConnectionEvent.BACKOFF_ELAPSED)
        case TimerKind.RESUME_FLUSH:
            return flush(op)
        case TimerKind.REFRESH_RETRY:
            return on_refresh_retry(op)
        case TimerKind.REFRESH_TIMEOUT:
            problem = f"token refresh did not answer within {timer.delay_ms} ms"
            return on_refresh_failed(op, config, problem, not_found=False)
        case TimerKind.TOOL_DEADLINE:
            return on_tool_deadline(op, timer.tool_call_id)
        case _:
            assert_never(timer.kind)


def _on_operation(op: Operation, config: StoreConfig, action: Action) -> OpStep:
    """Actions that are news about an existing, unfinished operation."""
    match action:
        case MessageReceived(generation=generation, message=message):  # the hot path first
            if not _is_current(op, generation):
                return op, NO_EFFECTS
            return on_message(op, config, message)
        case (
            SocketOpened()
            | SocketClosed()
            | SocketFailed()
            | SocketWentQuiet()
            | BadMessageReceived()
        ):
            if not _is_current(op, action.generation):
                return op, NO_EFFECTS
            return _on_socket(op, config, action)
        case SendFailed(generation=generation, message=message):
            return on_send_failed(op, generation, message)
        case TimerFired():
            return _on_timer(op, config, action)
        case TokenRefreshed(token=token):
            return on_token_refreshed(op, token)
        case TokenRefreshFailed(error=error, not_found=not_found):
            return on_refresh_failed(op, config, error, not_found=not_found)
        case ToolFinished(result=result):
            return on_tool_finished(op, result)
        case InterruptConfirmed():
            if not op.stop_requested:
                return op, NO_EFFECTS
            return finish(op, Result.INTERRUPTED, FinishSource.INTERRUPT_CONFIRMED)
        case InterruptFailed(error=error):
            return attrs.evolve(op, stop_requested=False, last_problem=error), NO_EFFECTS
        case HandlingFailed(error=error):
            return finish(op, Result.FAILED, FinishSource.INTERNAL_ERROR, error)
        case StopRequested():
            return _stop(op)
        case OperationDetached():
            return _detach(op)
        case TokenReplaced(token=token):
            return attrs.evolve(op, token=token), NO_EFFECTS
        case OperationStarted() | OperationAttached() | ReconnectRequested():  # pragma: no cover
            raise AssertionError("start, attach and reconnect are handled by reduce")
        case _:
            assert_never(action)


def internal_error_detail(what: str, error: BaseException) -> str:
    """The outcome detail of an operation ended by an internal error: what failed, the
    exception, and where it was raised (``file.py:line``), with secrets redacted."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"
    return redact_secrets(f"internal error {what}: {type(error).__name__}: {error} (at {where})")


def _fail_internally(op: Operation, action: Action, error: Exception) -> OpStep:
    """End `op` as failed because handling `action` raised (PROTOCOL.md 11.24)."""
    detail = internal_error_detail(f"handling {type(action).__name__}", error)
    try:
        return finish(op, Result.FAILED, FinishSource.INTERNAL_ERROR, detail)
    except Exception:  # even the replay buffer could not be shown: end without it
        return finish(
            attrs.evolve(op, resume=ResumeState()),
            Result.FAILED,
            FinishSource.INTERNAL_ERROR,
            detail,
        )


_ABOUT_A_KNOWN_OPERATION = frozenset({StopRequested, OperationDetached, TokenReplaced})
"""Application actions that name an operation the store must know."""


def reduce(state: GatewayState, action: Action) -> Step:
    """The next state and effects after `action`. Pure: no clock, no I/O.

    Never raises for what the network, timers or effects report: if handling such an
    action fails, its operation ends as failed instead (`FinishSource.INTERNAL_ERROR`).

    Raises:
        OperationAlreadyExists: `OperationStarted` for an id already known.
        TopicBusy: start or attach on a topic another running operation holds.
        OperationFinished: `OperationAttached` or `ReconnectRequested` for an operation
            that already finished.
        TopicBusy: also `ReconnectRequested` for a detached operation whose topic a
            newer running operation holds.
        UnknownOperation: an application action (stop, detach, token, reconnect) for
            an unknown id.
        InvalidGatewayUrl: start or attach with a gateway URL of the wrong scheme.
    """
    op: Operation | None
    if type(action) is MessageReceived:  # the hot path (one per frame) is tested first
        op = state.operations.get(action.operation_id)
    elif isinstance(action, OperationStarted):
        return _start(state, action)
    elif isinstance(action, OperationAttached):
        return _attach(state, action)
    elif isinstance(action, ReconnectRequested):
        return _reconnect(state, action)
    elif type(action) in _ABOUT_A_KNOWN_OPERATION:
        op = _known(state, action.operation_id)
    else:
        op = state.operations.get(action.operation_id)
    if op is None or op.status is _FINISHED:
        return _new_step(Step, (state, NO_EFFECTS))
    try:
        op_step = _on_operation(op, state.config, action)
    except Exception as error:
        op_step = _fail_internally(op, action, error)
    return _commit(state, op, op_step)
