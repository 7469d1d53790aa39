"""Connection lifecycle of one operation: dial, open, authenticate, lose, refresh.

Owns: the handlers that move `Operation.connection` through `CONNECTION_TABLE`, the
heartbeat tick, the backoff (started again from its first delay only once a connection
proved healthy, PROTOCOL.md 11.25), the connect watchdog (12.1), quiet sockets, the
single-flight, budgeted token refresh (12.2, 12.3), and `auto_reconnect=False` (a lost
socket stops the following instead of redialling). Leaving a connection while buffering
a replay flushes the buffer: the cursor already moved past those events, so dropping
them (as upstream does) would lose them. Must not know: agent-event semantics (see
`_inbound`) or the topic map.
"""

from __future__ import annotations

import attrs

from gatewayops.protocol import Auth, Heartbeat, Resume
from gatewayops.store._config import StoreConfig
from gatewayops.store._delivery import NO_EFFECTS, OpStep, finish, flush, stop_following
from gatewayops.store._effects import RefreshToken, SendMessage
from gatewayops.store._lifecycle import (
    CONNECTION_TABLE,
    OPERATION_TABLE,
    ConnectionEvent,
    OperationEvent,
    transition,
)
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
)
from gatewayops.store._tools import send_queued_tool_results

__all__ = [
    "connection_lost",
    "dial",
    "heard_from_server",
    "mark_healthy",
    "on_auth_expired",
    "on_auth_success",
    "on_heartbeat_ack",
    "on_heartbeat_tick",
    "on_refresh_failed",
    "on_refresh_retry",
    "on_socket_opened",
    "on_token_refreshed",
    "reconnect",
    "went_quiet",
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


def reconnect(op: Operation) -> OpStep:
    """The app asked for a fresh socket now (upstream `reconnect()`): one socket at a
    time, the backoff started again, the cursor kept. A detached operation is followed
    again."""
    if op.status is OperationStatus.DETACHED:
        status = transition(OPERATION_TABLE, op.status, OperationEvent.ATTACH)
        assert status is not None  # DETACHED -> RUNNING
        op = attrs.evolve(op, status=status)
    op = attrs.evolve(op, connection=attrs.evolve(op.connection, attempt=0))
    event = ConnectionEvent.DIAL
    if op.connection.status is not ConnectionStatus.DISCONNECTED:
        event = ConnectionEvent.REDIAL
    return dial(op, event)


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


def connection_lost(op: Operation, config: StoreConfig, problem: str) -> OpStep:
    """The socket is gone (closed, failed, watchdog, heartbeats): back off and retry.

    With `auto_reconnect` off the operation is no longer followed instead (detached,
    not finished: nothing here says how the run ended).
    """
    if not config.auto_reconnect:
        return stop_following(op, OperationStatus.DETACHED, last_problem=problem)
    status = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.LOST)
    if status is None:
        return op, NO_EFFECTS
    op, effects = flush(op)
    connection = attrs.evolve(
        op.connection, status=status, attempt=op.connection.attempt + 1, missed_heartbeats=0
    )
    return attrs.evolve(op, connection=connection, last_problem=problem), effects


def on_auth_success(op: Operation) -> OpStep:
    """Authenticated: resume from the cursor, send queued results, reset the refresh budget.

    The backoff is not reset here: only a connection that proves healthy resets it
    (`mark_healthy`). A new subscription starts a new replay, so the echo guard forgets
    what it owed. Resume buffering starts only when attaching with no cursor (PROTOCOL.md
    3.1).
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
        connection=attrs.evolve(op.connection, status=status, missed_heartbeats=0),
        refresh=attrs.evolve(op.refresh, attempts=0),
        echo=EchoGuard(),
        resume=resume,
    )
    resume_frame = SendMessage(
        operation_id=op.id,
        generation=op.connection.generation,
        message=Resume(last_event_id=op.last_event_id, want_status=True),
    )
    op, sent = send_queued_tool_results(op)
    return op, (*flushed, resume_frame, *sent)


def mark_healthy(op: Operation) -> Operation:
    """An agent event or heartbeat ack on an authenticated socket: the backoff restarts."""
    connection = op.connection
    if connection.attempt == 0 or connection.status is not ConnectionStatus.CONNECTED:
        return op
    return attrs.evolve(op, connection=attrs.evolve(connection, attempt=0))


def on_heartbeat_ack(op: Operation) -> Operation:
    """The counter of missed heartbeats starts again; the connection proved healthy."""
    connection = op.connection
    if connection.missed_heartbeats:
        op = attrs.evolve(op, connection=attrs.evolve(connection, missed_heartbeats=0))
    return mark_healthy(op)


def went_quiet(op: Operation) -> OpStep:
    """The socket task saw nothing but heartbeat acks for `quiet_after_ms`: say so.

    Only an authenticated socket can be quiet (before that the connect watchdog
    decides). Quiet is news for the user, never an ending (PROTOCOL.md 11.5).
    """
    connection = op.connection
    if connection.quiet or connection.status is not ConnectionStatus.CONNECTED:
        return op, NO_EFFECTS
    return attrs.evolve(op, connection=attrs.evolve(connection, quiet=True)), NO_EFFECTS


def heard_from_server(op: Operation) -> Operation:
    """A frame other than a heartbeat ack arrived: no longer quiet."""
    connection = op.connection
    if not connection.quiet:
        return op
    return attrs.evolve(op, connection=attrs.evolve(connection, quiet=False))


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
        return connection_lost(op, config, f"{missed - 1} heartbeats unanswered")
    connection = attrs.evolve(
        connection, missed_heartbeats=missed, heartbeat_ticks=connection.heartbeat_ticks + 1
    )
    heartbeat = SendMessage(
        operation_id=op.id, generation=connection.generation, message=Heartbeat()
    )
    return attrs.evolve(op, connection=connection), (heartbeat,)
