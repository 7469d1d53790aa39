"""Delivering events to an operation, flushing the resume buffer, and finishing.

Owns: `deliver` (one event into the transcript, and a `tool_execute` into a tool the
client owes one result), `flush` (the resume buffer, deduplicated, in arrival order),
and `finish` (the single way into the terminal state, which emits the one
`NotifyFinished`). Every handler of the reducer works on one `Operation` and returns an
`OpStep`. Must not know: sockets, timers, or the topic map.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops._frozen import copier
from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import AgentEventMessage, ToolExecuteData, parse_event_data
from gatewayops.store._effects import Effect, ExecuteTool, NotifyFinished
from gatewayops.store._lifecycle import (
    CONNECTION_TABLE,
    OPERATION_TABLE,
    ConnectionEvent,
    OperationEvent,
    transition,
)
from gatewayops.store._state import (
    EchoGuard,
    FinishSource,
    Operation,
    OperationStatus,
    Outcome,
    RefreshState,
    Result,
    ResumeState,
    Tool,
)
from gatewayops.store._transcript import Transcript, apply_event

__all__ = [
    "NO_EFFECTS",
    "OpStep",
    "deliver",
    "finish",
    "flush",
    "stop_following",
    "tool_timeout_ms",
]

OpStep: TypeAlias = tuple[Operation, tuple[Effect, ...]]
NO_EFFECTS: tuple[Effect, ...] = ()

# The change showing an event makes (see gatewayops._frozen).
_with_shown = copier(Operation, "transcript", "last_event_id", "echo")
_with_member_events = copier(Transcript, "member_events")
_TOOL_DEADLINE_MARGIN_MS = 500
_MIN_TOOL_TIMEOUT_MS = 100


def tool_timeout_ms(execution_timeout_ms: int) -> int:
    """Local budget of a tool: 500 ms before the server's deadline, at least 100 ms."""
    return max(execution_timeout_ms - _TOOL_DEADLINE_MARGIN_MS, _MIN_TOOL_TIMEOUT_MS)


def _start_tool(op: Operation, data: ToolExecuteData) -> OpStep:
    if data.tool_call_id in op.tools:
        return op, NO_EFFECTS
    tool = Tool(
        id=data.tool_call_id,
        order=len(op.tools),
        deadline_ms=max(data.execution_timeout_ms, _MIN_TOOL_TIMEOUT_MS),
    )
    effect = ExecuteTool(
        operation_id=op.id,
        tool_call_id=data.tool_call_id,
        identifier=data.identifier,
        api_name=data.api_name,
        arguments=data.arguments,
        timeout_ms=tool_timeout_ms(data.execution_timeout_ms),
    )
    return attrs.evolve(op, tools=op.tools.set(tool.id, tool)), (effect,)


def deliver(
    op: Operation, message: AgentEventMessage, last_event_id: str, echo: EchoGuard
) -> OpStep:
    """Show one event: own events go to the transcript, foreign ones are only counted.

    The operation's cursor and echo guard become `last_event_id` and `echo` in the same
    rebuild (a streamed chunk rebuilds the operation once).
    """
    event = message.event
    transcript = op.transcript
    if not event.is_own(op.id):
        transcript = _with_member_events(transcript, transcript.member_events + 1)
        return _with_shown(op, transcript, last_event_id, echo), NO_EFFECTS
    try:
        data = parse_event_data(event)
    except ProtocolError as error:
        data = None
        op = attrs.evolve(op, bad_frames=op.bad_frames + 1, last_problem=str(error))
    latched = transcript.ended
    op = _with_shown(op, apply_event(transcript, event, data), last_event_id, echo)
    if isinstance(data, ToolExecuteData) and not latched:
        return _start_tool(op, data)
    return op, NO_EFFECTS


def _dedupe_key(message: AgentEventMessage) -> str:
    if message.id is not None:
        return message.id
    event = message.event
    return f"{event.type}_{event.step_index}_{event.timestamp}"


def flush(op: Operation) -> OpStep:
    """Leave resume mode: deliver the buffer in order, keeping the first copy of each."""
    if not op.resume.buffering:
        return op, NO_EFFECTS
    buffer = op.resume.buffer
    op = attrs.evolve(op, resume=ResumeState(on_connect=op.resume.on_connect))
    effects: tuple[Effect, ...] = ()
    seen: set[str] = set()
    for message in buffer:
        key = _dedupe_key(message)
        if key in seen:
            continue
        seen.add(key)
        op, delivered = deliver(op, message, op.last_event_id, op.echo)
        effects += delivered
    return op, effects


def stop_following(op: Operation, status: OperationStatus, **changes: Any) -> OpStep:
    """Leave the operation in `status` with nothing live: the replay flushed, the
    connection closed, no refresh pending (what finishing and detaching share)."""
    op, effects = flush(op)
    closed = transition(CONNECTION_TABLE, op.connection.status, ConnectionEvent.CLOSE)
    assert closed is not None  # CLOSE applies in every connection status
    op = attrs.evolve(
        op,
        status=status,
        connection=attrs.evolve(op.connection, status=closed),
        refresh=RefreshState(attempts=op.refresh.attempts),
        **changes,
    )
    return op, effects


def finish(op: Operation, result: Result, source: FinishSource, detail: str = "") -> OpStep:
    """End the operation for good: flush, close everything, notify exactly once."""
    status = transition(OPERATION_TABLE, op.status, OperationEvent.FINISH)
    if status is None:
        return op, NO_EFFECTS
    outcome = Outcome(result=result, source=source, detail=detail)
    op, effects = stop_following(op, status, outcome=outcome, stop_requested=False)
    notify = NotifyFinished(operation_id=op.id, topic_id=op.topic_id, outcome=outcome)
    return op, (*effects, notify)
