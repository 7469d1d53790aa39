"""The demo's human-in-the-loop scenarios: the agent asks, the demo answers for the user.

Owns: one `Scenario` per kind of request the reference agent makes (a question form, a
permission, a plan, a tool confirmation, a text input), the answer the demo gives each
(chosen from the reviewed questions, as a user would pick; the tool confirmation is
declined, to show that path), and the checks that the answer reached the agent and came
back: the intervention ended as the demo answered, and the agent's reply quotes the
answer. Must not know: terminals, or the reducer's rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from gatewayops._question_text import Reply, answer_result
from gatewayops.cli._lab import Check, Expectation, Lab, streamed
from gatewayops.gateway import RunHandle, Script, asking_run
from gatewayops.gateway._asking import answer_text
from gatewayops.protocol import CancelReason, ReviewedRequest
from gatewayops.store import FinishSource, InterventionStatus, Result, pending_interventions

__all__ = ["ASKING_CASES", "AskingCase", "demo_answer"]

_WAIT_MS = 20_000
_FREE_TEXT = "Release 42"


def demo_answer(request: ReviewedRequest) -> dict[str, Any]:
    """What the demo answers, in the shape `watch` and the GUI send (`answer_result`):
    each question's first option, or free text for a question whose only option stands
    for typing."""
    replies: list[Reply] = [
        _FREE_TEXT if question.options[0].id == "free_text" else (0,)
        for question in request.questions
    ]
    return answer_result(request, replies)


def _answering(decline: bool) -> Callable[[Lab, RunHandle], Awaitable[None]]:
    async def answer(lab: Lab, run: RunHandle) -> None:
        op = await streamed(
            lab.client, run.operation_id, lambda op: bool(op.human.open) and not op.is_finished
        )
        if op.is_finished:
            return
        (item,) = pending_interventions(lab.client.state, run.topic_id)
        if decline or not isinstance(item.review, ReviewedRequest):
            lab.client.decline(operation_id=run.operation_id, tool_call_id=item.tool_call_id)
        else:
            result = demo_answer(item.review)
            lab.client.answer(
                operation_id=run.operation_id, tool_call_id=item.tool_call_id, result=result
            )

    return answer


def _intervention_ended(declined: bool) -> Check:
    def check(lab: Lab, run: RunHandle, script: Script) -> str | None:
        settled = list(lab.client.state.operations[run.operation_id].human.settled.values())
        if len(settled) != 1:
            return f"{len(settled)} interventions settled instead of 1"
        item = settled[0]
        if declined:
            if item.cancel_reason is CancelReason.USER_CANCELLED:
                return None
            return f"the declined intervention ended {item.status} ({item.cancel_reason})"
        if item.status is InterventionStatus.RESOLVED:
            return None
        return f"the answered intervention ended {item.status} ({item.cancel_reason})"

    return check


def _reply_quotes_the_answer(lab: Lab, run: RunHandle, script: Script) -> str | None:
    op = lab.client.state.operations[run.operation_id]
    (item,) = op.human.settled.values()
    expected = "You declined" if item.declined else answer_text(item.result)
    if expected in op.transcript.text:
        return None
    return f"the agent's reply does not quote {expected!r}"


_KINDS = (
    ("question", "ask", "a 2-question form: the demo picks, the agent quotes it"),
    ("permission", "permission", "a permission: allowed, acknowledged (producerAck)"),
    ("plan", "plan", "a plan to approve: approved, then the agent goes on"),
    ("tool_confirmation", "confirm-tool", "a tool confirmation: declined (user_cancelled)"),
    ("text_input", "text-input", "free text asked: the agent quotes what was typed"),
)


@attrs.frozen(kw_only=True)
class AskingCase:
    """The parts of one human-in-the-loop `Scenario` (`_scenarios` builds it)."""

    name: str
    shows: str
    script: Script
    answer: Callable[[Lab, RunHandle], Awaitable[None]]
    """The scenario's "fault": the demo answering for the user once the agent asks."""
    expect: Expectation = Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)
    checks: tuple[Check, ...]


def _case(kind: str, name: str, shows: str) -> AskingCase:
    declined = kind == "tool_confirmation"
    return AskingCase(
        name=name,
        shows=shows,
        script=asking_run(kind, wait_ms=_WAIT_MS, delay=0.05),
        answer=_answering(declined),
        checks=(_intervention_ended(declined), _reply_quotes_the_answer),
    )


ASKING_CASES = tuple(_case(kind, name, shows) for kind, name, shows in _KINDS)
"""The human-in-the-loop scenarios' parts, in the order the demo shows them."""
