"""The reference agent asks a human: requests, the wait for an answer, and the echoes.

Owns: the `AskHuman` script step (a 1-4 question form, a permission, a plan, a tool
confirmation or a text input, each sent as an `agent_intervention_request` as PROTOCOL.md
6.2 describes: protocol v1 has no frame of its own for the last two, so the agent asks
them as a `permission` and a `question` whose answer is free text), `HumanWaiter` (one
request waiting), `InterventionOutcome` (how it ended), `ask` (publish the request, wait
until its deadline, echo the resolution) and `offer_answer` (an answer reaching the
agent). The echo of an answer is two responses, as a producer that resolves an answer
durably sends them: first with its `resolutionRequestId` (resolving), then with
`producerAck: true` (durable). The same answer offered again is acknowledged again and
changes nothing; a different one after the first is refused, as is any answer after the
deadline. Must not know: sockets, tokens, faults or the client.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import trio

from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.protocol import CancelReason, EventType

__all__ = [
    "AskHuman",
    "HumanWaiter",
    "InterventionOutcome",
    "answer_text",
    "ask",
    "offer_answer",
]

_PROVIDER = "claude-code"


@attrs.frozen(kw_only=True)
class AskHuman:
    """Ask the user (`agent_intervention_request`), wait up to `wait_ms`, then go on.

    Attributes:
        tool_call_id: the request's key.
        interaction_kind: ``question``, ``permission`` or ``plan`` on the wire.
        questions: the questions, as the request's `arguments` hold them.
        wait_ms: how long the agent waits (the request's `deadline` is now + this).
        reply: what the agent streams next; ``{answer}`` is replaced by the answer.
        step: the agent step.
    """

    tool_call_id: str
    interaction_kind: str = "question"
    questions: tuple[Any, ...] = attrs.field(hash=False)
    wait_ms: int = 30_000
    reply: str = "You answered: {answer}."
    step: int = 0


@attrs.frozen(kw_only=True)
class InterventionOutcome:
    """How one request ended on the agent's side.

    Attributes:
        tool_call_id: the request's key.
        result: the answer (None when there was none).
        resolution_request_id: the id of the answer taken, if any.
        cancel_reason: ``timeout`` or ``user_cancelled`` when nothing was answered.
        offers: how many answers reached the agent for it (duplicates included).
    """

    tool_call_id: str
    result: Any = None
    resolution_request_id: str | None = None
    cancel_reason: CancelReason | None = None
    offers: int = 1

    @property
    def answered(self) -> bool:
        """Whether the user answered (rather than declined, or let it time out)."""
        return self.cancel_reason is None


class HumanWaiter:
    """One request waiting for its answer (kept after the end, to acknowledge repeats)."""

    def __init__(self, step: AskHuman, step_index: int) -> None:
        self.step = step
        self.step_index = step_index
        self.arrived = trio.Event()
        self.closed = False
        self.offers = 0
        self.resolution_request_id: str | None = None
        self.result: Any = None
        self.cancelled = False


def answer_text(result: Any) -> str:
    """An answer as the agent quotes it: a string as is, anything else as JSON."""
    return result if isinstance(result, str) else json.dumps(result, sort_keys=True)


def _response(waiter: HumanWaiter, *, ack: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"toolCallId": waiter.step.tool_call_id}
    if waiter.cancelled:
        data.update(cancelled=True, cancelReason=CancelReason.USER_CANCELLED.value)
    else:
        data["result"] = waiter.result
    data["resolutionRequestId"] = waiter.resolution_request_id
    if ack:
        data["producerAck"] = True
    return data


def offer_answer(
    registry: OperationRegistry,
    operation: Operation,
    tool_call_id: str,
    *,
    resolution_request_id: str,
    result: Any = None,
    cancelled: bool = False,
) -> bool:
    """An answer (or, with `cancelled`, a decline) reaches the agent.

    Returns:
        True when taken, or when it repeats the answer taken (acknowledged again);
        False when nothing asks `tool_call_id`, the deadline passed, or another answer
        was taken.
    """
    waiter = operation.questions.get(tool_call_id)
    if waiter is None:
        return False
    waiter.offers += 1
    if waiter.resolution_request_id is not None:
        if waiter.resolution_request_id != resolution_request_id:
            return False
        if waiter.closed:  # a repeat after the end: acknowledged again, nothing changes
            ack = _response(waiter, ack=True)
            registry.publish(
                operation, EventType.AGENT_INTERVENTION_RESPONSE, ack, waiter.step_index
            )
        return True
    if waiter.closed:
        return False  # the deadline passed first
    waiter.resolution_request_id = resolution_request_id
    waiter.result = None if cancelled else result
    waiter.cancelled = cancelled
    waiter.arrived.set()
    return True


def _questions_argument(step: AskHuman) -> str:
    return json.dumps({"questions": list(step.questions)})


async def ask(
    registry: OperationRegistry, operation: Operation, step: AskHuman
) -> InterventionOutcome:
    """Publish the request, wait until its deadline, echo how it was resolved."""
    deadline = registry.now_ms() + step.wait_ms
    request = {
        "toolCallId": step.tool_call_id,
        "apiName": "askUserQuestion",
        "identifier": _PROVIDER,
        "arguments": _questions_argument(step),
        "deadline": deadline,
        "interactionKind": step.interaction_kind,
        "provider": _PROVIDER,
    }
    waiter = HumanWaiter(step, step.step)
    operation.questions[step.tool_call_id] = waiter
    registry.publish(operation, EventType.AGENT_INTERVENTION_REQUEST, request, step.step)
    with trio.move_on_after(step.wait_ms / 1000):
        await waiter.arrived.wait()
    waiter.closed = True
    if waiter.resolution_request_id is None:
        timeout = {
            "toolCallId": step.tool_call_id,
            "cancelled": True,
            "cancelReason": CancelReason.TIMEOUT.value,
            "producerAck": True,
        }
        registry.publish(operation, EventType.AGENT_INTERVENTION_RESPONSE, timeout, step.step)
        outcome = InterventionOutcome(
            tool_call_id=step.tool_call_id, cancel_reason=CancelReason.TIMEOUT, offers=waiter.offers
        )
    else:
        for ack in (False, True):
            registry.publish(
                operation,
                EventType.AGENT_INTERVENTION_RESPONSE,
                _response(waiter, ack=ack),
                step.step,
            )
        outcome = InterventionOutcome(
            tool_call_id=step.tool_call_id,
            result=waiter.result,
            resolution_request_id=waiter.resolution_request_id,
            cancel_reason=CancelReason.USER_CANCELLED if waiter.cancelled else None,
            offers=waiter.offers,
        )
    operation.intervention_outcomes.append(outcome)
    return outcome
