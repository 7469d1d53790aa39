"""What one operation does with each server message.

Owns: the terminal rules of PROTOCOL.md 4 (own terminal events end, foreign ones are
delivered only; `session_complete` ends unless it is an owed echo; a terminal
`resume_complete` ends unless it is the stale status a replayed member terminal left),
the resume cursor, and resume buffering. The cursor follows the envelope ids the server
sends (an empty id leaves it, as upstream's ``if (msg.id)``); only a resume replay is
deduplicated (PROTOCOL.md 11.10): a live event is delivered whatever its id, and an id
that does not come after the cursor is reported as a problem of the operation, never a
reason to drop the rest of the run. Every frame's unreadable fields are counted, and
every frame but a heartbeat ack is news for the quiet check. Must not know: sockets or
timers beyond the connection status.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ErrorData,
    EventData,
    EventType,
    HeartbeatAck,
    ResumeComplete,
    RuntimeEndData,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    UnknownMessage,
    parse_event_data,
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._connection import (
    heard_from_server,
    mark_healthy,
    on_auth_expired,
    on_auth_success,
    on_heartbeat_ack,
)
from gatewayops.store._delivery import (
    NO_EFFECTS,
    OpStep,
    deliver,
    finish,
    flush,
    note_problems,
)
from gatewayops.store._state import EchoGuard, FinishSource, Operation, Result

__all__ = ["dedupe_key", "id_follows", "on_message"]

_STATUS_RESULTS = {
    SessionStatus.COMPLETED: Result.COMPLETED,
    SessionStatus.ERROR: Result.FAILED,
    SessionStatus.INTERRUPTED: Result.INTERRUPTED,
}
_REASON_RESULTS = {
    "error": Result.FAILED,
    "interrupted": Result.INTERRUPTED,
    "waiting_for_async_tool": Result.PARKED,
}


def _decimal_key(event_id: str) -> tuple[int, str]:
    digits = event_id.lstrip("0")
    return len(digits), digits


def id_follows(event_id: str, cursor: str) -> bool:
    """Whether `event_id` may come after `cursor`: False only when both are decimal
    and it is not greater (compared as digit strings, so ids of any length work)."""
    if len(event_id) == len(cursor) and event_id > cursor:
        return True  # the usual next id (equal-length digit strings order as numbers)
    if not (event_id.isdecimal() and cursor.isdecimal()):
        return True
    return _decimal_key(event_id) > _decimal_key(cursor)


def dedupe_key(message: AgentEventMessage) -> str:
    """What identifies an event within a resume replay: its id, else type/step/time."""
    if message.id:
        return message.id
    event = message.event
    return f"{event.type}_{event.step_index}_{event.timestamp}"


def _observe(guard: EchoGuard, event: AgentEvent, operation_id: str) -> EchoGuard:
    """Feed the order-counted echo guard (PROTOCOL.md 4.3) one event."""
    if event.is_own(operation_id):
        if guard.owed_echoes == 0 and (
            guard.replay_foreign_status is None or not event.is_terminal_type
        ):
            return guard
        foreign_status = None if event.is_terminal_type else guard.replay_foreign_status
        return EchoGuard(owed_echoes=0, replay_foreign_status=foreign_status)
    if event.type == EventType.AGENT_RUNTIME_END:
        data = parse_event_data(event)
        status = data.ended_status if isinstance(data, RuntimeEndData) else SessionStatus.COMPLETED
        return EchoGuard(owed_echoes=guard.owed_echoes + 1, replay_foreign_status=status)
    return guard


def _terminal_outcome(event: AgentEvent, data: EventData | None) -> tuple[Result, str]:
    problem = data.problems[0] if data is not None and data.problems else ""
    if event.type == EventType.ERROR:
        return Result.FAILED, data.message if isinstance(data, ErrorData) else problem
    reason = data.reason if isinstance(data, RuntimeEndData) else None
    return _REASON_RESULTS.get(reason or "", Result.COMPLETED), reason or ""


def _buffered(op: Operation, message: AgentEventMessage, cursor: str, echo: EchoGuard) -> Operation:
    resume = op.resume
    key = dedupe_key(message)
    if key in resume.seen:  # the replay's first copy wins
        resume = attrs.evolve(resume, arrivals=resume.arrivals + 1)
    else:
        resume = attrs.evolve(
            resume,
            buffer=resume.buffer.append(message),
            seen=resume.seen.set(key, True),
            arrivals=resume.arrivals + 1,
        )
    return attrs.evolve(op, last_event_id=cursor, echo=echo, resume=resume)


def _on_agent_event(op: Operation, message: AgentEventMessage) -> OpStep:
    event = message.event
    cursor = op.last_event_id
    if message.id:
        if cursor and not op.resume.buffering and not id_follows(message.id, cursor):
            op = note_problems(op, (f"event id {message.id!r} does not follow {cursor!r}",))
        cursor = message.id
    if op.connection.attempt:
        op = mark_healthy(op)
    echo = _observe(op.echo, event, op.id)
    if op.resume.buffering:
        op, effects = _buffered(op, message, cursor, echo), NO_EFFECTS
    else:
        op, effects = deliver(op, message, cursor, echo)
    if not (event.is_terminal_type and event.is_own(op.id)):
        return op, effects
    # Parsed again, not counted again: its problems count when it is delivered.
    result, detail = _terminal_outcome(event, parse_event_data(event))
    op, finished = finish(op, result, FinishSource.AGENT_EVENT, detail)
    return op, (*effects, *finished)


def _on_session_complete(op: Operation) -> OpStep:
    if op.echo.owed_echoes:
        echo = attrs.evolve(op.echo, owed_echoes=op.echo.owed_echoes - 1)
        return attrs.evolve(op, echo=echo), NO_EFFECTS
    return finish(op, Result.ENDED, FinishSource.SESSION_COMPLETE)


def _on_resume_complete(op: Operation, status: SessionStatus | None) -> OpStep:
    op, effects = flush(op)
    if status is None or not status.is_terminal or op.echo.replay_foreign_status == status:
        return op, effects
    op, finished = finish(op, _STATUS_RESULTS[status], FinishSource.RESUME_STATUS, status.value)
    return op, (*effects, *finished)


def on_message(op: Operation, config: StoreConfig, message: ServerMessage) -> OpStep:
    """Apply one decoded server frame to a running operation."""
    if message.problems:
        op = note_problems(op, message.problems)
    if op.connection.quiet and type(message) is not HeartbeatAck:
        op = heard_from_server(op)
    match message:
        case AgentEventMessage():
            return _on_agent_event(op, message)
        case HeartbeatAck():
            return on_heartbeat_ack(op), NO_EFFECTS
        case AuthSuccess():
            return on_auth_success(op)
        case AuthFailed(reason=reason):
            return finish(op, Result.AUTH_FAILED, FinishSource.AUTH_FAILED, reason)
        case AuthExpired():
            return on_auth_expired(op, config)
        case SessionComplete():
            return _on_session_complete(op)
        case ResumeComplete(status=status):
            return _on_resume_complete(op, status)
        case UnknownMessage():
            return op, NO_EFFECTS
        case _:
            assert_never(message)
