"""How an operation ends, and what must not be taken for its end.

Owns: `finish` (the single way into the terminal state: it emits the one
`NotifyFinished` and cancels every open intervention with `session_ended`),
`stop_following` (what finishing and detaching share: the replay flushed, no refresh
pending), the outcome of an own terminal event or a terminal status (PROTOCOL.md 4), and
the order-counted mirrored-terminal echo guard (4.3): a foreign `agent_runtime_end` owes
one `session_complete` echo and leaves a status that a `resume_complete` of the same
replay may repeat; both are ignored exactly as often as they are owed. Closing the link
of an operation that is no longer followed is the reducer's business. Must not know:
links, sockets or timers.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.protocol import (
    AgentEvent,
    ErrorData,
    EventData,
    EventType,
    RuntimeEndData,
    SessionStatus,
    parse_event_data,
)
from gatewayops.store._delivery import NO_EFFECTS, OpStep, flush
from gatewayops.store._effects import NotifyFinished
from gatewayops.store._interventions import end_interventions
from gatewayops.store._lifecycle import (
    OPERATION_TABLE,
    REFRESH_TABLE,
    OperationEvent,
    RefreshEvent,
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
)

__all__ = [
    "consume_echo",
    "event_outcome",
    "finish",
    "is_stale_status",
    "observe",
    "status_outcome",
    "stop_following",
]

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
Changes: TypeAlias = dict[str, Any]


def stop_following(op: Operation, status: OperationStatus, **changes: Any) -> OpStep:
    """Leave the operation in `status` with nothing live: the replay flushed (its events
    are past the cursor already), no refresh pending."""
    op, effects = flush(op)
    stopped = transition(REFRESH_TABLE, op.refresh.status, RefreshEvent.STOP)
    refresh = RefreshState(status=stopped, attempts=op.refresh.attempts)
    return attrs.evolve(op, status=status, refresh=refresh, **changes), effects


def finish(op: Operation, result: Result, source: FinishSource, detail: str = "") -> OpStep:
    """End the operation for good: flush, stop everything, notify exactly once."""
    status = transition(OPERATION_TABLE, op.status, OperationEvent.FINISH)
    if status is None:
        return op, NO_EFFECTS
    outcome = Outcome(result=result, source=source, detail=detail)
    op, effects = stop_following(op, status, outcome=outcome, stop_requested=False)
    op = end_interventions(op)  # nothing is pending after a terminal
    notify = NotifyFinished(operation_id=op.id, topic_id=op.topic_id, outcome=outcome)
    return op, (*effects, notify)


def event_outcome(event: AgentEvent, data: EventData | None) -> tuple[Result, str]:
    """The result and detail an own `agent_runtime_end` or `error` ends the run with."""
    problem = data.problems[0] if data is not None and data.problems else ""
    if event.type == EventType.ERROR:
        return Result.FAILED, data.message if isinstance(data, ErrorData) else problem
    reason = data.reason if isinstance(data, RuntimeEndData) else None
    return _REASON_RESULTS.get(reason or "", Result.COMPLETED), reason or ""


def status_outcome(status: SessionStatus) -> Result:
    """The result a terminal status reports."""
    return _STATUS_RESULTS[status]


def observe(guard: EchoGuard, event: AgentEvent, operation_id: str) -> EchoGuard:
    """Feed the echo guard one event: any own event clears what is owed (the owner is
    alive); a foreign `agent_runtime_end` owes an echo and leaves its status."""
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


def consume_echo(guard: EchoGuard) -> EchoGuard | None:
    """The guard after a `session_complete` that is an owed echo, or None if none is owed
    (the end is genuine)."""
    if not guard.owed_echoes:
        return None
    return attrs.evolve(guard, owed_echoes=guard.owed_echoes - 1)


def is_stale_status(guard: EchoGuard, status: SessionStatus, *, gap: bool = False) -> bool:
    """Whether a terminal `resume_complete` status is the one a member terminal of this
    replay left (and so not the owner's end). Never stale after a gap."""
    return not gap and guard.replay_foreign_status == status
