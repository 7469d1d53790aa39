"""What a session knows about the agent's requests for a human, as plain frozen data.

Owns: `InterventionStatus`, `Intervention` (one request, by `toolCallId`, with its
review, its deadline and the answer being resolved) and `HumanLoop` (a session's open
and settled interventions, and whether a `step_start` of phase `human_approval` is
waiting). Open interventions (pending or resolving) and settled ones (resolved or
cancelled) live in separate persistent maps, so the timers derived from them cost what
is open. Must not know: how they change (see `_interventions`), or I/O.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
import immutables

from gatewayops.protocol import CancelReason, Refusal, Review

__all__ = ["HumanLoop", "Intervention", "InterventionStatus"]


class InterventionStatus(enum.StrEnum):
    """One intervention, from the agent's request to its one end."""

    PENDING = "pending"
    """Waiting for the user's answer."""
    RESOLVING = "resolving"
    """An answer was given and is on its way, or echoed without the producer's ack."""
    RESOLVED = "resolved"
    """The producer acknowledged the answer (or a legacy response resolved it)."""
    CANCELLED = "cancelled"
    """Ended without an answer; `Intervention.cancel_reason` says why."""

    @property
    def is_open(self) -> bool:
        """Whether the agent still waits on it (pending or resolving)."""
        return self in _OPEN


_OPEN = frozenset({InterventionStatus.PENDING, InterventionStatus.RESOLVING})


@attrs.frozen(kw_only=True, weakref_slot=False)
class Intervention:
    """One `agent_intervention_request`, keyed by its `tool_call_id`.

    Attributes:
        review: the request as reviewed: the questions to show, or the `Refusal` to
            show instead ("cannot be reviewed here: <reason>").
        order: arrival order among the session's interventions.
        deadline_ms: how long after its arrival the agent gives up (the timer's delay).
        resolution_request_id: the idempotency key of the answer being resolved.
        result: the answer given (None for a decline or before any answer).
        declined: the answer is a decline (`user_cancelled`).
        cancel_reason: why it was cancelled (only when CANCELLED).
        delivered: the submission of the answer being resolved returned (the producer
            has it; its echo says when it is durable).
        submit_error: why the last submission failed (it may be answered again).
    """

    tool_call_id: str
    review: Review
    order: int
    deadline_ms: int
    status: InterventionStatus = InterventionStatus.PENDING
    resolution_request_id: str | None = None
    result: Any = None
    declined: bool = False
    cancel_reason: CancelReason | None = None
    delivered: bool = False
    submit_error: str | None = None

    @property
    def reviewable(self) -> bool:
        """Whether the request passed review (its questions can be shown)."""
        return not isinstance(self.review, Refusal)


@attrs.frozen(kw_only=True, weakref_slot=False)
class HumanLoop:
    """A session's interventions: the open ones, the settled ones, and the approval step."""

    open: immutables.Map[str, Intervention] = immutables.Map()
    settled: immutables.Map[str, Intervention] = immutables.Map()
    approval_step: bool = False
    """A `step_start` of phase `human_approval` asked for approval, not yet followed
    by another step or an intervention's end."""

    @property
    def waiting(self) -> bool:
        """Whether the run waits for the user (an open intervention or the approval step)."""
        return self.approval_step or bool(self.open)

    def get(self, tool_call_id: str) -> Intervention | None:
        """The intervention with this id, open or settled."""
        found = self.open.get(tool_call_id)
        return self.settled.get(tool_call_id) if found is None else found

    @property
    def count(self) -> int:
        """How many interventions the session was asked for (open and settled)."""
        return len(self.open) + len(self.settled)
