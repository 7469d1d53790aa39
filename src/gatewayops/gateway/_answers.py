"""How the user's answer reaches the reference gateway's agent, faults included.

Owns: `Answer` (what an answer carries: the fields of a client's `SubmitIntervention`
effect, read structurally so the gateway never imports the client), `submit_answer`
(apply the answer faults -- lost, late, delivered twice -- then offer it to the agent,
refusing what the agent does not take) and `intervention_outcomes`. In this session
answers reach the gateway in process, as interrupts do. Must not know: sockets, tokens
or the client's modules.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import InterventionRefused
from gatewayops.gateway._asking import InterventionOutcome, offer_answer
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry

__all__ = ["Answer", "InterventionOutcome", "intervention_outcomes", "submit_answer"]

_log = get_logger("gatewayops.gateway")


class Answer(Protocol):
    """An answer to the agent, as a client's `SubmitIntervention` effect carries it."""

    @property
    def operation_id(self) -> str: ...

    @property
    def tool_call_id(self) -> str: ...

    @property
    def resolution_request_id(self) -> str: ...

    @property
    def result(self) -> Any: ...

    @property
    def cancelled(self) -> bool: ...


async def submit_answer(registry: OperationRegistry, faults: Faults, answer: Answer) -> None:
    """Deliver `answer` to the agent of its operation, after the faults had their say.

    Raises:
        OperationNotFound: the operation is unknown or forgotten.
        InterventionRefused: the agent does not take it.
    """
    operation = registry.require(answer.operation_id)
    if faults.answer_delay:
        await trio.sleep(faults.answer_delay)
    else:
        await trio.lowlevel.checkpoint()
    if faults.take_lost_answer():
        _log.info("fault: answer to %s lost", answer.tool_call_id)
        return
    for _ in range(2 if faults.take_duplicate_answer() else 1):
        taken = offer_answer(
            registry,
            operation,
            answer.tool_call_id,
            resolution_request_id=answer.resolution_request_id,
            result=answer.result,
            cancelled=answer.cancelled,
        )
        if not taken:
            raise InterventionRefused(
                f"the agent of {answer.operation_id!r} takes no answer to "
                f"{answer.tool_call_id!r} (none asked, too late, or answered already)"
            )


def intervention_outcomes(operation: Operation) -> tuple[InterventionOutcome, ...]:
    """How each request of `operation` ended, with every answer that reached it counted."""
    return tuple(
        attrs.evolve(outcome, offers=operation.questions[outcome.tool_call_id].offers)
        for outcome in operation.intervention_outcomes
    )
