"""The reference agent asks the user: requests, answers in process, echoes, and faults.

No client and no socket: the events are read from the operation's buffer, and answers
are given through `Gateway.submit_intervention` as a client's dependency would.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
import trio
from trio.testing import MockClock, wait_all_tasks_blocked

from gatewayops.exceptions import InterventionRefused
from gatewayops.gateway import ASK_KINDS, Gateway, asking_run
from gatewayops.protocol import (
    CancelReason,
    EventType,
    InterventionRequestData,
    ReviewedRequest,
    StreamChunkData,
    parse_event_data,
    parse_human_event,
    review,
)


@attrs.frozen(kw_only=True)
class Answer:
    """What a client's SubmitIntervention carries."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str = "r-1"
    result: Any = None
    cancelled: bool = False


def _of_type(gateway: Gateway, operation_id: str, event_type: str) -> list[Any]:
    return [m.event.data for m in gateway.events(operation_id) if m.event.type == event_type]


def _request(gateway: Gateway, operation_id: str) -> InterventionRequestData:
    (message,) = [
        m
        for m in gateway.events(operation_id)
        if m.event.type == EventType.AGENT_INTERVENTION_REQUEST
    ]
    view = parse_human_event(message.event)
    assert isinstance(view, InterventionRequestData)
    return view


def _text(gateway: Gateway, operation_id: str) -> str:
    chunks = [parse_event_data(m.event) for m in gateway.events(operation_id)]
    return "".join(c.content or "" for c in chunks if isinstance(c, StreamChunkData))


async def _asked(gateway: Gateway, kind: str = "question", wait_ms: int = 5_000) -> str:
    run = gateway.start_run(asking_run(kind, wait_ms=wait_ms))
    await wait_all_tasks_blocked()
    return run.operation_id


@pytest.mark.parametrize("kind", ASK_KINDS)
async def test_each_kind_asks_a_request_that_passes_review(
    gateway: Gateway, kind: str, autojump_clock: MockClock
) -> None:
    """Every ready-made kind sends a request the client's review accepts."""
    op = await _asked(gateway, kind)
    assert isinstance(review(_request(gateway, op)), ReviewedRequest)


async def test_the_deadline_is_the_wait_after_the_request(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """`deadline` is the request's timestamp plus the script's wait (producer clock)."""
    op = await _asked(gateway, wait_ms=7_000)
    message = gateway.events(op)[-1]
    assert _request(gateway, op).deadline_ms == message.event.timestamp + 7_000


async def test_an_answer_is_echoed_then_acknowledged_and_quoted(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """The answer is echoed resolving, then with producerAck, and the reply quotes it."""
    op = await _asked(gateway, "text_input")
    call = _request(gateway, op).tool_call_id
    await gateway.submit_intervention(Answer(operation_id=op, tool_call_id=call, result="v2.0"))
    await gateway.wait_finished(op)
    echoes = _of_type(gateway, op, EventType.AGENT_INTERVENTION_RESPONSE)
    assert [e.get("producerAck", False) for e in echoes] == [False, True]
    assert {e["resolutionRequestId"] for e in echoes} == {"r-1"}
    assert "You wrote: v2.0." in _text(gateway, op)
    (outcome,) = gateway.intervention_outcomes(op)
    assert (outcome.answered, outcome.result) == (True, "v2.0")


async def test_a_decline_is_echoed_as_user_cancelled(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A decline is acknowledged as cancelled (user_cancelled) and the reply says so."""
    op = await _asked(gateway, "permission")
    call = _request(gateway, op).tool_call_id
    await gateway.submit_intervention(Answer(operation_id=op, tool_call_id=call, cancelled=True))
    await gateway.wait_finished(op)
    ack = _of_type(gateway, op, EventType.AGENT_INTERVENTION_RESPONSE)[-1]
    assert (ack["cancelReason"], ack["producerAck"]) == ("user_cancelled", True)
    assert "You declined" in _text(gateway, op)


async def test_no_answer_times_out_at_the_deadline(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Without an answer the agent gives up at the deadline, says so, and goes on."""
    op = await _asked(gateway, wait_ms=3_000)
    started = trio.current_time()
    await gateway.wait_finished(op)
    assert trio.current_time() - started == pytest.approx(3.0)
    (timeout,) = _of_type(gateway, op, EventType.AGENT_INTERVENTION_RESPONSE)
    assert (timeout["cancelReason"], timeout["producerAck"]) == ("timeout", True)
    assert gateway.intervention_outcomes(op)[0].cancel_reason is CancelReason.TIMEOUT


async def test_a_lost_answer_leaves_the_agent_waiting_until_the_deadline(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """With `lose_answers`, the submission succeeds but the agent times out anyway."""
    op = await _asked(gateway)
    gateway.faults.lose_answers()
    call = _request(gateway, op).tool_call_id
    await gateway.submit_intervention(Answer(operation_id=op, tool_call_id=call, result="x"))
    await gateway.wait_finished(op)
    assert gateway.intervention_outcomes(op)[0].cancel_reason is CancelReason.TIMEOUT


async def test_an_answer_after_the_deadline_is_refused(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """With answers delayed past the deadline, the submission raises InterventionRefused."""
    op = await _asked(gateway, wait_ms=1_000)
    gateway.faults.delay_answers(2.0)
    call = _request(gateway, op).tool_call_id
    with pytest.raises(InterventionRefused, match="too late"):
        await gateway.submit_intervention(Answer(operation_id=op, tool_call_id=call, result="x"))


async def test_an_answer_delivered_twice_is_taken_once_and_acknowledged_again(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A duplicated delivery resolves once; a repeat after the end is acknowledged again."""
    op = await _asked(gateway, "plan")
    gateway.faults.duplicate_answers()
    call = _request(gateway, op).tool_call_id
    answer = Answer(operation_id=op, tool_call_id=call, result={"choice": "approve"})
    await gateway.submit_intervention(answer)
    await gateway.wait_finished(op)
    (outcome,) = gateway.intervention_outcomes(op)
    assert (outcome.offers, outcome.result) == (2, {"choice": "approve"})
    assert json.dumps({"choice": "approve"}, sort_keys=True) in _text(gateway, op)


async def test_a_different_second_answer_is_refused(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Once an answer is taken, another resolution id is refused."""
    op = await _asked(gateway)
    call = _request(gateway, op).tool_call_id
    await gateway.submit_intervention(Answer(operation_id=op, tool_call_id=call, result="a"))
    other = Answer(operation_id=op, tool_call_id=call, resolution_request_id="r-2", result="b")
    with pytest.raises(InterventionRefused):
        await gateway.submit_intervention(other)


def test_an_unknown_kind_is_refused_by_name() -> None:
    """asking_run names the kinds it knows when given another."""
    with pytest.raises(ValueError, match="kind: expected one of question, permission"):
        asking_run("poll")
