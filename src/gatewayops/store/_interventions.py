"""Interventions: the agent asks the user, and waits for exactly one end of each request.

Owns: the intervention lifecycle (`INTERVENTION_TABLE`, one lookup per change) and the
handlers that move a request through it (PROTOCOL.md 6.2). A request (reviewed at once:
what fails review is kept with its `Refusal`) is PENDING. The user's answer or decline
makes it RESOLVING and emits one `SubmitIntervention`; a failed submission makes it
PENDING again, answerable until its deadline. The producer's response with a
`resolutionRequestId` and no `producerAck` keeps it (or makes it) RESOLVING; one with
`producerAck`, or a legacy one without a `resolutionRequestId`, resolves it (or cancels
it, if it says `cancelled`). Its deadline passing cancels it with `timeout`; the session
ending cancels every open one with `session_ended`. A `step_start` of phase
`human_approval` makes the run wait too, until another step starts or an intervention
ends. The deadline is an epoch-ms time on the producer's clock, so the timer's delay is
counted from the request's own `timestamp` on that clock (never this machine's, which
the reducer does not read); a request without a usable deadline or timestamp waits at
most `MAX_INTERVENTION_WAIT_MS`. Must not know: sockets, timers, links, how an answer
travels, or how a question is shown.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

import attrs

from gatewayops.exceptions import InterventionClosed, UnknownIntervention
from gatewayops.protocol import (
    AgentEvent,
    CancelReason,
    EventType,
    HumanApprovalStep,
    HumanEventData,
    InterventionRequestData,
    InterventionResponseData,
    review,
)
from gatewayops.store._actions import (
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
)
from gatewayops.store._effects import Effect, SubmitIntervention
from gatewayops.store._human_state import HumanLoop, Intervention, InterventionStatus
from gatewayops.store._lifecycle import IGNORED, transition
from gatewayops.store._state import Operation

__all__ = [
    "HUMAN_EVENT_TYPES",
    "INTERVENTION_TABLE",
    "MAX_INTERVENTION_WAIT_MS",
    "InterventionEvent",
    "answer",
    "check_answerable",
    "end_interventions",
    "intervention_deadline_passed",
    "on_human_event",
    "submission_failed",
    "submitted",
]

MAX_INTERVENTION_WAIT_MS = 24 * 60 * 60 * 1000
"""The longest a request is waited for on this side (one day)."""
HUMAN_EVENT_TYPES = frozenset(
    {
        EventType.AGENT_INTERVENTION_REQUEST,
        EventType.AGENT_INTERVENTION_RESPONSE,
        EventType.STEP_START,
    }
)
"""The event types `on_human_event` reads."""


class InterventionEvent(enum.StrEnum):
    """What moves an intervention between its statuses."""

    ANSWERED = "answered"
    """The user answered or declined: the answer is submitted."""
    SUBMIT_FAILED = "submit_failed"
    ECHOED = "echoed"
    """A response with a `resolutionRequestId` and no `producerAck`."""
    ACKED = "acked"
    """A response with `producerAck`, or a legacy one without a `resolutionRequestId`."""
    PRODUCER_CANCELLED = "producer_cancelled"
    """As ACKED, but the response says `cancelled`."""
    DEADLINE_PASSED = "deadline_passed"
    SESSION_ENDED = "session_ended"


_S, _E = InterventionStatus, InterventionEvent
_SETTLED = (_S.RESOLVED, _S.CANCELLED)
INTERVENTION_TABLE: Mapping[tuple[InterventionStatus, InterventionEvent], Any] = {
    (_S.PENDING, _E.ANSWERED): _S.RESOLVING,
    (_S.RESOLVING, _E.ANSWERED): IGNORED,  # the same answer again (another is refused)
    (_S.RESOLVING, _E.SUBMIT_FAILED): _S.PENDING,  # answerable again
    (_S.PENDING, _E.SUBMIT_FAILED): IGNORED,  # a failure already reported
    (_S.PENDING, _E.ECHOED): _S.RESOLVING,  # answered elsewhere, not yet durable
    (_S.RESOLVING, _E.ECHOED): IGNORED,
    (_S.PENDING, _E.ACKED): _S.RESOLVED,
    (_S.RESOLVING, _E.ACKED): _S.RESOLVED,
    (_S.PENDING, _E.PRODUCER_CANCELLED): _S.CANCELLED,
    (_S.RESOLVING, _E.PRODUCER_CANCELLED): _S.CANCELLED,
    (_S.PENDING, _E.DEADLINE_PASSED): _S.CANCELLED,
    (_S.RESOLVING, _E.DEADLINE_PASSED): _S.CANCELLED,
    (_S.PENDING, _E.SESSION_ENDED): _S.CANCELLED,
    (_S.RESOLVING, _E.SESSION_ENDED): _S.CANCELLED,
    **{
        (status, event): IGNORED  # after its one end, every late word is ignored
        for status in _SETTLED
        for event in (_E.SUBMIT_FAILED, _E.ECHOED, _E.ACKED, _E.PRODUCER_CANCELLED)
    },
}
"""(ANSWERED for a settled intervention is refused before `reduce` changes anything;
deadlines and the session's end only reach open interventions.)"""


def _moved(
    op: Operation, item: Intervention, event: InterventionEvent, **changes: Any
) -> Operation:
    """`op` with `item` moved by `event` (and `changes` applied when it moves)."""
    status = transition(INTERVENTION_TABLE, item.status, event)
    if status is None:
        return op
    item = attrs.evolve(item, status=status, **changes)
    human = op.human
    if status.is_open:
        human = attrs.evolve(human, open=human.open.set(item.tool_call_id, item))
    else:
        human = attrs.evolve(
            human,
            open=human.open.delete(item.tool_call_id),
            settled=human.settled.set(item.tool_call_id, item),
            approval_step=False,
        )
    return attrs.evolve(op, human=human)


def _delay_ms(data: InterventionRequestData, timestamp: float) -> int:
    deadline = data.deadline_ms
    if deadline is None or not math.isfinite(deadline) or timestamp <= 0:
        return MAX_INTERVENTION_WAIT_MS
    return int(min(max(deadline - timestamp, 0), MAX_INTERVENTION_WAIT_MS))


def _requested(op: Operation, data: InterventionRequestData, timestamp: float) -> Operation:
    if op.human.get(data.tool_call_id) is not None:
        return op  # a repeated request (a replay) asks nothing new
    item = Intervention(
        tool_call_id=data.tool_call_id,
        review=review(data),
        order=op.human.count,
        deadline_ms=_delay_ms(data, timestamp),
    )
    human = op.human
    return attrs.evolve(op, human=attrs.evolve(human, open=human.open.set(item.tool_call_id, item)))


def _responded(op: Operation, data: InterventionResponseData) -> Operation:
    item = op.human.get(data.tool_call_id)
    if item is None:
        return op  # a response to a request this session never saw
    if data.resolution_request_id is not None and not data.producer_ack:
        return _moved(
            op,
            item,
            InterventionEvent.ECHOED,
            resolution_request_id=data.resolution_request_id,
            result=data.result,
            declined=data.cancelled,
        )
    if data.cancelled:
        try:
            reason: CancelReason | None = CancelReason(data.cancel_reason or "")
        except ValueError:
            reason = None
        return _moved(op, item, InterventionEvent.PRODUCER_CANCELLED, cancel_reason=reason)
    return _moved(op, item, InterventionEvent.ACKED, result=data.result, submit_error=None)


def on_human_event(op: Operation, event: AgentEvent, view: HumanEventData | None) -> Operation:
    """An own event of one of `HUMAN_EVENT_TYPES`, with its parsed `view`."""
    match view:
        case InterventionRequestData():
            return _requested(op, view, event.timestamp)
        case InterventionResponseData():
            return _responded(op, view)
        case HumanApprovalStep(requires_approval=waits):
            return attrs.evolve(op, human=attrs.evolve(op.human, approval_step=waits))
        case None if op.human.approval_step:  # a step of another phase: approval is over
            return attrs.evolve(op, human=attrs.evolve(op.human, approval_step=False))
        case _:  # unreadable data (its problems are counted), or nothing to change
            return op


def check_answerable(op: Operation, action: InterventionAnswered | InterventionDeclined) -> None:
    """Refuse an answer that cannot be taken, before anything changes.

    Raises:
        UnknownIntervention: the operation was never asked for this tool call id.
        InterventionClosed: the intervention ended, or another answer is resolving.
    """
    item = op.human.get(action.tool_call_id)
    if item is None:
        raise UnknownIntervention(
            f"operation {op.id!r} has no intervention {action.tool_call_id!r}"
        )
    if item.status is InterventionStatus.PENDING:
        return
    if item.status is InterventionStatus.RESOLVING:
        if item.resolution_request_id == action.resolution_request_id:
            return
        raise InterventionClosed(
            f"intervention {action.tool_call_id!r} is resolving answer "
            f"{item.resolution_request_id!r}"
        )
    why = f" ({item.cancel_reason.value})" if item.cancel_reason is not None else ""
    raise InterventionClosed(
        f"intervention {action.tool_call_id!r} is already {item.status.value}{why}"
    )


def answer(
    op: Operation, action: InterventionAnswered | InterventionDeclined
) -> tuple[Operation, tuple[Effect, ...]]:
    """The user's answer (or decline), already checked: submit it once."""
    item = op.human.open.get(action.tool_call_id)
    if item is None or item.status is not InterventionStatus.PENDING:
        return op, ()  # the same answer again: it is already on its way
    declined = isinstance(action, InterventionDeclined)
    result = None if declined else action.result  # type: ignore[union-attr]
    op = _moved(
        op,
        item,
        InterventionEvent.ANSWERED,
        resolution_request_id=action.resolution_request_id,
        result=result,
        declined=declined,
        submit_error=None,
        delivered=False,
    )
    effect = SubmitIntervention(
        operation_id=op.id,
        topic_id=op.topic_id,
        tool_call_id=action.tool_call_id,
        resolution_request_id=action.resolution_request_id,
        result=result,
        cancelled=declined,
    )
    return op, (effect,)


def submitted(op: Operation, action: InterventionSubmitted) -> Operation:
    """The producer has the answer; its echo will say when it is durable."""
    item = op.human.open.get(action.tool_call_id)
    if item is None or item.resolution_request_id != action.resolution_request_id:
        return op  # resolved already, or an answer no longer being resolved
    item = attrs.evolve(item, delivered=True)
    return attrs.evolve(
        op, human=attrs.evolve(op.human, open=op.human.open.set(item.tool_call_id, item))
    )


def submission_failed(op: Operation, action: InterventionSubmitFailed) -> Operation:
    """The answer did not reach the producer: the intervention is answerable again."""
    item = op.human.get(action.tool_call_id)
    if item is None or item.resolution_request_id != action.resolution_request_id:
        return op  # the failure of an answer no longer being resolved
    op = _moved(op, item, InterventionEvent.SUBMIT_FAILED, submit_error=action.error)
    return attrs.evolve(
        op, last_problem=f"answer to {action.tool_call_id!r} failed: {action.error}"
    )


def intervention_deadline_passed(op: Operation, tool_call_id: str) -> Operation:
    """The producer no longer waits: an open intervention is cancelled with `timeout`."""
    item = op.human.open.get(tool_call_id)
    if item is None:
        return op
    return _moved(op, item, InterventionEvent.DEADLINE_PASSED, cancel_reason=CancelReason.TIMEOUT)


def end_interventions(op: Operation) -> Operation:
    """The session ended: every open intervention is cancelled with `session_ended`."""
    if not op.human.waiting:
        return op
    for item in sorted(op.human.open.values(), key=lambda item: item.order):
        op = _moved(
            op, item, InterventionEvent.SESSION_ENDED, cancel_reason=CancelReason.SESSION_ENDED
        )
    return attrs.evolve(op, human=HumanLoop(settled=op.human.settled))
