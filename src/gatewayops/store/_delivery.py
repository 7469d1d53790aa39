"""Delivering events to an operation, flushing the resume buffer, and finishing.

Owns: `deliver` (one event into the transcript, and a `tool_execute` into a tool the
client owes one result), `note_problems` (what a frame's unreadable fields count
against the operation), `flush` (the resume buffer, already deduplicated, in arrival
order), `stop_following` and `finish` (the single way into the terminal state, which
emits the one `NotifyFinished`). Every handler of the reducer works on one `Operation`
and returns an `OpStep`. Must not know: sockets, timers, or the topic map.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops._frozen import copier
from gatewayops.protocol import AgentEventMessage, ToolExecuteData, parse_event_data
from gatewayops.store._effects import Effect, NotifyFinished
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
)
from gatewayops.store._tools import start_tool
from gatewayops.store._transcript import Transcript, apply_event

__all__ = [
    "NO_EFFECTS",
    "OpStep",
    "deliver",
    "finish",
    "flush",
    "note_problems",
    "stop_following",
]

OpStep: TypeAlias = tuple[Operation, tuple[Effect, ...]]
NO_EFFECTS: tuple[Effect, ...] = ()

# The change showing an event makes (see gatewayops._frozen).
_with_shown = copier(Operation, "transcript", "last_event_id", "echo")
_with_member_events = copier(Transcript, "member_events")


def note_problems(op: Operation, problems: tuple[str, ...]) -> Operation:
    """Count a frame's unreadable fields against the operation; keep the last one."""
    if not problems:
        return op
    return attrs.evolve(op, problems=op.problems + len(problems), last_problem=problems[-1])


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
    data = parse_event_data(event)
    if data is not None and data.problems:
        op = note_problems(op, data.problems)
    latched = transcript.ended
    op = _with_shown(op, apply_event(transcript, event, data), last_event_id, echo)
    if isinstance(data, ToolExecuteData) and not latched:
        return start_tool(op, data)
    return op, NO_EFFECTS


def flush(op: Operation) -> OpStep:
    """Leave resume mode: deliver the buffer (each event once) in arrival order."""
    if not op.resume.buffering:
        return op, NO_EFFECTS
    buffer = op.resume.buffer
    op = attrs.evolve(op, resume=ResumeState(on_connect=op.resume.on_connect))
    effects: list[Effect] = []
    for message in buffer:
        op, delivered = deliver(op, message, op.last_event_id, op.echo)
        effects.extend(delivered)
    return op, tuple(effects)


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
