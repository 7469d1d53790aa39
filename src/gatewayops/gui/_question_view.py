"""What the question panel shows, as plain data computed from the store's state.

Owns: `QuestionView` (the first open request of the topic's running operation: the
reviewed request to lay out as radio buttons, check buttons and free-text fields, or
the refusal to show instead, how long the agent waits, whether the answer is on its
way, why the last submission failed) and `time_left_text`. The panel's widgets are
`_question_panel`'s; what a reply means is `gatewayops._question_text`'s.

Must not know: Tk, Trio, the client or the gateway.
"""

from __future__ import annotations

import math

import attrs

from gatewayops.protocol import Refusal, ReviewedRequest
from gatewayops.store import GatewayState, InterventionStatus, pending_interventions

__all__ = ["QuestionView", "question_view", "time_left_text"]


@attrs.frozen(kw_only=True)
class QuestionView:
    """The request the panel shows.

    Attributes:
        tool_call_id: the request's key (a new key rebuilds the panel).
        request: the reviewed request, or None when it failed review.
        heading: what the panel's title line says (the refusal's text, if refused).
        wait_ms: how long the agent waits after asking.
        sending: an answer is on its way (Answer and Decline are disabled).
        problem: why the last submission failed (the user may answer again), if so.
    """

    tool_call_id: str
    request: ReviewedRequest | None
    heading: str
    wait_ms: int
    sending: bool
    problem: str | None


def question_view(state: GatewayState, topic_id: str) -> QuestionView | None:
    """The topic's first open request, or None while nothing waits for the user."""
    pending = pending_interventions(state, topic_id)
    if not pending:
        return None
    item = pending[0]
    review = item.review
    if isinstance(review, Refusal):
        request, heading = None, f"{review.text} (it can only be declined)"
    else:
        request, heading = review, f"The agent waits for your answer ({review.kind})."
    return QuestionView(
        tool_call_id=item.tool_call_id,
        request=request,
        heading=heading,
        wait_ms=item.deadline_ms,
        sending=item.status is InterventionStatus.RESOLVING,
        problem=item.submit_error,
    )


def time_left_text(wait_ms: int, elapsed: float) -> str:
    """``Time left: N s``, `elapsed` seconds after the request was shown (never below 0)."""
    return f"Time left: {max(0, math.ceil(wait_ms / 1000 - elapsed))} s"
