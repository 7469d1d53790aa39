"""What one operation does with each server message, and with its tools' results.

Owns: the terminal rules of PROTOCOL.md 4 (own terminal events end, foreign ones are
delivered only; `session_complete` ends unless it is an owed echo; a terminal
`resume_complete` ends unless it is the stale status a replayed member terminal left),
the resume cursor (envelope ids; it only moves forward, so a replayed id is dropped),
resume buffering, and the tool-result path of 12.5 (sent when authenticated, else
queued until the next `auth_success`, dropped only after the deadline). Must not know:
sockets or timers beyond the connection status.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    ErrorData,
    EventType,
    HeartbeatAck,
    ResumeComplete,
    RuntimeEndData,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    ToolResult,
    UnknownMessage,
    parse_event_data,
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._connection import is_connected, on_auth_expired, on_auth_success
from gatewayops.store._delivery import NO_EFFECTS, OpStep, deliver, finish, flush
from gatewayops.store._effects import SendMessage
from gatewayops.store._state import EchoGuard, FinishSource, Operation, Result, ToolStatus

__all__ = ["on_message", "on_send_failed", "on_tool_deadline", "on_tool_finished"]

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


def _is_replayed(event_id: str, cursor: str) -> bool:
    """Whether a numeric envelope id is at or before the numeric cursor."""
    return event_id.isdecimal() and cursor.isdecimal() and int(event_id) <= int(cursor)


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
        try:
            data = parse_event_data(event)
        except ProtocolError:
            data = None
        status = data.ended_status if isinstance(data, RuntimeEndData) else SessionStatus.COMPLETED
        return EchoGuard(owed_echoes=guard.owed_echoes + 1, replay_foreign_status=status)
    return guard


def _terminal_outcome(event: AgentEvent) -> tuple[Result, str]:
    try:
        data = parse_event_data(event)
    except ProtocolError as error:
        data, problem = None, str(error)
    else:
        problem = ""
    if event.type == EventType.ERROR:
        return Result.FAILED, data.message if isinstance(data, ErrorData) else problem
    reason = data.reason if isinstance(data, RuntimeEndData) else None
    return _REASON_RESULTS.get(reason or "", Result.COMPLETED), reason or ""


def _on_agent_event(op: Operation, message: AgentEventMessage) -> OpStep:
    event = message.event
    cursor = op.last_event_id
    if message.id is not None:
        if _is_replayed(message.id, cursor):
            return op, NO_EFFECTS
        cursor = message.id
    echo = _observe(op.echo, event, op.id)
    if op.resume.buffering:
        resume = attrs.evolve(op.resume, buffer=(*op.resume.buffer, message))
        op = attrs.evolve(op, last_event_id=cursor, echo=echo, resume=resume)
        effects = NO_EFFECTS
    else:
        op, effects = deliver(op, message, cursor, echo)
    if not (event.is_terminal_type and event.is_own(op.id)):
        return op, effects
    result, detail = _terminal_outcome(event)
    op, finished = finish(op, result, FinishSource.AGENT_EVENT, detail)
    return op, (*effects, *finished)


def _on_session_complete(op: Operation) -> OpStep:
    if op.echo.owed_echoes:
        echo = attrs.evolve(op.echo, owed_echoes=op.echo.owed_echoes - 1)
        return attrs.evolve(op, echo=echo), NO_EFFECTS
    return finish(op, Result.ENDED, FinishSource.SESSION_COMPLETE)


def _on_resume_complete(op: Operation, status: SessionStatus) -> OpStep:
    op, effects = flush(op)
    if not status.is_terminal or op.echo.replay_foreign_status == status:
        return op, effects
    op, finished = finish(op, _STATUS_RESULTS[status], FinishSource.RESUME_STATUS, status.value)
    return op, (*effects, *finished)


def on_message(op: Operation, config: StoreConfig, message: ServerMessage) -> OpStep:
    """Apply one decoded server frame to a running operation."""
    match message:
        case AgentEventMessage():
            return _on_agent_event(op, message)
        case HeartbeatAck():
            if op.connection.missed_heartbeats == 0:
                return op, NO_EFFECTS
            connection = attrs.evolve(op.connection, missed_heartbeats=0)
            return attrs.evolve(op, connection=connection), NO_EFFECTS
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


def on_tool_finished(op: Operation, result: ToolResult) -> OpStep:
    """A tool's one result: send it now if authenticated, else queue it."""
    tool = op.tools.get(result.tool_call_id)
    if tool is None or tool.status is not ToolStatus.RUNNING:
        return op, NO_EFFECTS
    if is_connected(op):
        sent = attrs.evolve(tool, status=ToolStatus.SENT)
        send = SendMessage(operation_id=op.id, generation=op.connection.generation, message=result)
        return attrs.evolve(op, tools=op.tools.set(tool.id, sent)), (send,)
    queued = attrs.evolve(tool, status=ToolStatus.QUEUED, result=result)
    return attrs.evolve(op, tools=op.tools.set(tool.id, queued)), NO_EFFECTS


def on_tool_deadline(op: Operation, tool_call_id: str) -> OpStep:
    """The server's deadline passed: a result not yet sent never will be."""
    tool = op.tools.get(tool_call_id)
    if tool is None or tool.status not in (ToolStatus.RUNNING, ToolStatus.QUEUED):
        return op, NO_EFFECTS
    expired = attrs.evolve(tool, status=ToolStatus.EXPIRED, result=None)
    return attrs.evolve(op, tools=op.tools.set(tool.id, expired)), NO_EFFECTS


def on_send_failed(op: Operation, generation: int, message: ClientMessage) -> OpStep:
    """A tool result that could not be written is sent again.

    It belongs to the operation, not the socket: if a newer socket is authenticated it
    goes there now; if the failed socket is still the current one (it is dying; its
    close will follow) it is queued for the next `auth_success` rather than resent
    into the same socket.
    """
    if not isinstance(message, ToolResult):
        return op, NO_EFFECTS
    tool = op.tools.get(message.tool_call_id)
    if tool is None or tool.status is not ToolStatus.SENT:
        return op, NO_EFFECTS
    if generation == op.connection.generation:
        queued = attrs.evolve(tool, status=ToolStatus.QUEUED, result=message)
        return attrs.evolve(op, tools=op.tools.set(tool.id, queued)), NO_EFFECTS
    running = attrs.evolve(tool, status=ToolStatus.RUNNING)
    return on_tool_finished(attrs.evolve(op, tools=op.tools.set(tool.id, running)), message)
