"""Connection lifecycle of one operation: dial, open, authenticate, lose, refresh.

Owns: the handlers that move `Operation.connection` through `CONNECTION_TABLE`, the
heartbeat tick, the backoff (reset only on `auth_success`, PROTOCOL.md 12.4), the
connect watchdog (12.1) and the single-flight, budgeted token refresh (12.2, 12.3).
Leaving a connection while buffering a replay flushes the buffer: the cursor already
moved past those events, so dropping them (as upstream does) would lose them. Must
not know: agent-event semantics (see `_messages`) or the topic map.
"""

from __future__ import annotations

import attrs

from gatewayops.protocol import Auth, Heartbeat, Resume
from gatewayops.store._config import StoreConfig
from gatewayops.store._delivery import NO_EFFECTS, OpStep, finish, flush
from gatewayops.store._effects import Effect, RefreshToken, SendMessage
from gatewayops.store._lifecycle import CONNECTION_TABLE, ConnectionEvent, transition
from gatewayops.store._state import (
    Connection,
    ConnectionStatus,
    EchoGuard,
    FinishSource,
    Operation,
    OperationStatus,
    RefreshState,
    RefreshStatus,
    Result,
    ResumeState,
    ToolStatus,
)

__all__ = [
    "connection_lost",
    "dial",
    "is_connected",
    "on_auth_expired",
    "on_auth_success",
    "on_heartbeat_tick",
    "on_refresh_failed",
    "on_refresh_retry",
    "on_socket_opened",
    "on_token_refreshed",
]


def dial(op: Operation, event: ConnectionEvent) -> OpStep:
    """Start a new socket attempt (next generation); the old socket, if any, goes."""
    status = transition(CONNECTION_TABLE, op.connection.status, event)
    if status is None:
        return op, NO_EFFECTS
    op, effects = flush(op)
    connection = Connection(
        status=status, generation=op.connection.generation + 1, attempt=op.connection.attempt
    )
    return attrs.evolve(op, connection=connection), effects


def on_socket_opened(op: Operation) -> OpStep:
    """The handshake completed: authenticate with the current token."""
    status = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.OPENED)
    if status is None:
        return op, NO_EFFECTS
    op = attrs.evolve(op, connection=attrs.evolve(op.connection, status=status))
    auth = SendMessage(
        operation_id=op.id, generation=op.connection.generation, message=Auth(token=op.token)
    )
    return op, (auth,)


def connection_lost(op: Operation, problem: str) -> OpStep:
    """The socket is gone (closed, failed, watchdog, heartbeats): back off and retry."""
    status = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.LOST)
    if status is None:
        return op, NO_EFFECTS
    op, effects = flush(op)
    connection = attrs.evolve(
        op.connection, status=status, attempt=op.connection.attempt + 1, missed_heartbeats=0
    )
    return attrs.evolve(op, connection=connection, last_problem=problem), effects


def _send_queued_tool_results(op: Operation) -> OpStep:
    queued = sorted(
        (tool for tool in op.tools.values() if tool.status is ToolStatus.QUEUED),
        key=lambda tool: tool.order,
    )
    if not queued:
        return op, NO_EFFECTS
    tools = op.tools
    effects: list[Effect] = []
    for tool in queued:
        assert tool.result is not None  # a queued tool always holds its result
        effects.append(
            SendMessage(
                operation_id=op.id, generation=op.connection.generation, message=tool.result
            )
        )
        tools = tools.set(tool.id, attrs.evolve(tool, status=ToolStatus.SENT, result=None))
    return attrs.evolve(op, tools=tools), tuple(effects)


def on_auth_success(op: Operation) -> OpStep:
    """Authenticated: reset backoff and budgets, resume from the cursor, send queued results.

    A new subscription starts a new replay, so the echo guard forgets what it owed.
    Resume buffering starts only when attaching with no cursor (PROTOCOL.md 3.1).
    """
    status = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.AUTH_SUCCEEDED)
    if status is None:
        return op, NO_EFFECTS
    op, flushed = flush(op)
    resume = op.resume
    if resume.on_connect and not op.last_event_id:
        resume = ResumeState(on_connect=True, buffering=True)
    op = attrs.evolve(
        op,
        connection=attrs.evolve(op.connection, status=status, attempt=0, missed_heartbeats=0),
        refresh=attrs.evolve(op.refresh, attempts=0),
        echo=EchoGuard(),
        resume=resume,
    )
    resume_frame = SendMessage(
        operation_id=op.id,
        generation=op.connection.generation,
        message=Resume(last_event_id=op.last_event_id, want_status=True),
    )
    op, sent = _send_queued_tool_results(op)
    return op, (*flushed, resume_frame, *sent)


def _start_refresh(op: Operation) -> OpStep:
    refresh = RefreshState(status=RefreshStatus.IN_FLIGHT, attempts=op.refresh.attempts + 1)
    effect = RefreshToken(operation_id=op.id, topic_id=op.topic_id)
    return attrs.evolve(op, refresh=refresh), (effect,)


def on_auth_expired(op: Operation, config: StoreConfig) -> OpStep:
    """Only `exp` failed: refresh once (single-flight), within the budget of 12.2."""
    status = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.AUTH_EXPIRED)
    if status is None:
        return op, NO_EFFECTS
    op = attrs.evolve(op, connection=attrs.evolve(op.connection, status=status))
    if op.refresh.status is not RefreshStatus.IDLE:
        return op, NO_EFFECTS
    if op.refresh.attempts >= config.refresh_budget:
        detail = f"token still expired after {op.refresh.attempts} refreshes"
        return finish(op, Result.AUTH_FAILED, FinishSource.REFRESH_BUDGET, detail)
    return _start_refresh(op)


def on_token_refreshed(op: Operation, token: str) -> OpStep:
    """A fresh token: redial now, resuming from the same cursor (no duplicates)."""
    if op.refresh.status is not RefreshStatus.IN_FLIGHT:
        return op, NO_EFFECTS
    op = attrs.evolve(op, token=token, refresh=attrs.evolve(op.refresh, status=RefreshStatus.IDLE))
    if op.status is not OperationStatus.RUNNING:
        return op, NO_EFFECTS
    return dial(op, ConnectionEvent.REDIAL)


def on_refresh_failed(op: Operation, config: StoreConfig, error: str, *, not_found: bool) -> OpStep:
    """A failed refresh: "not found" ends cleanly; others retry within the budget."""
    if op.refresh.status is not RefreshStatus.IN_FLIGHT:
        return op, NO_EFFECTS
    if not_found:
        return finish(op, Result.GONE, FinishSource.REFRESH_NOT_FOUND, error)
    if op.refresh.attempts >= config.refresh_budget:
        return finish(op, Result.AUTH_FAILED, FinishSource.REFRESH_FAILED, error)
    refresh = attrs.evolve(op.refresh, status=RefreshStatus.RETRY_WAIT)
    return attrs.evolve(op, refresh=refresh, last_problem=error), NO_EFFECTS


def on_refresh_retry(op: Operation) -> OpStep:
    """The retry delay after a failed refresh elapsed: try again."""
    if op.refresh.status is not RefreshStatus.RETRY_WAIT:
        return op, NO_EFFECTS
    return _start_refresh(op)


def on_heartbeat_tick(op: Operation, config: StoreConfig) -> OpStep:
    """Count the tick as missed, then send a heartbeat or, past the limit, reconnect."""
    connection = op.connection
    missed = connection.missed_heartbeats + 1
    if missed > config.max_missed_heartbeats:
        return connection_lost(op, f"{missed - 1} heartbeats unanswered")
    connection = attrs.evolve(
        connection, missed_heartbeats=missed, heartbeat_ticks=connection.heartbeat_ticks + 1
    )
    heartbeat = SendMessage(
        operation_id=op.id, generation=connection.generation, message=Heartbeat()
    )
    return attrs.evolve(op, connection=connection), (heartbeat,)


def is_connected(op: Operation) -> bool:
    """Whether frames that need an authenticated socket can be sent now."""
    return op.connection.status is ConnectionStatus.CONNECTED
