"""The agent asks; a real client answers over loopback; each request ends once, faults
included (PROTOCOL.md 6.2). Answers reach the gateway in process, as interrupts do."""

from __future__ import annotations

import trio

from gatewayops.gateway import asking_run
from gatewayops.protocol import CancelReason
from gatewayops.store import (
    FinishSource,
    InterventionStatus,
    Operation,
    Result,
    is_waiting_for_human,
    pending_interventions,
)

from .helpers import assert_nothing_leaked, e2e


def _asking(op: Operation) -> bool:
    """The agent's request has arrived."""
    return bool(op.human.open)


async def test_an_answer_resolves_it_and_the_agent_quotes_it() -> None:
    """Answered: resolving, then resolved by producerAck; the reply quotes the answer; the
    composer stops waiting for the human."""
    with trio.fail_after(10):
        async with e2e() as env:
            run = env.start(asking_run("text_input", wait_ms=5_000))
            await env.until(run, _asking)
            assert is_waiting_for_human(env.client.state, run.topic_id)
            (item,) = pending_interventions(env.client.state, run.topic_id)
            env.client.answer(
                operation_id=run.operation_id, tool_call_id=item.tool_call_id, result="Ada"
            )
            outcome, op = await env.finish(run)
            assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
            assert op.human.settled[item.tool_call_id].status is InterventionStatus.RESOLVED
            assert "You wrote: Ada." in op.transcript.text
            await assert_nothing_leaked(env)


async def test_a_lost_answer_times_out_at_the_gateway_and_ends_cancelled() -> None:
    """The answer is lost on its way: the client shows it resolving, then the producer's
    timeout cancels it; the run still completes."""
    with trio.fail_after(10):
        async with e2e() as env:
            env.gateway.faults.lose_answers()
            run = env.start(asking_run("plan", wait_ms=1_000))
            await env.until(run, _asking)
            (item,) = pending_interventions(env.client.state, run.topic_id)
            env.client.answer(
                operation_id=run.operation_id, tool_call_id=item.tool_call_id, result="approve"
            )
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert op.human.settled[item.tool_call_id].cancel_reason is CancelReason.TIMEOUT
            assert "No answer came in time" in op.transcript.text


async def test_a_late_answer_loses_to_the_deadline_and_the_run_goes_on() -> None:
    """An answer still on its way at the deadline never reaches the agent: the producer's
    timeout cancels the intervention, the run completes, and the submission still in
    flight is cancelled with the run (the gateway refusing a late answer is
    tests/gateway's)."""
    with trio.fail_after(10):
        async with e2e() as env:
            env.gateway.faults.delay_answers(1.5)
            run = env.start(asking_run("permission", wait_ms=1_000))
            await env.until(run, _asking)
            (item,) = pending_interventions(env.client.state, run.topic_id)
            env.client.decline(operation_id=run.operation_id, tool_call_id=item.tool_call_id)
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert op.human.settled[item.tool_call_id].cancel_reason is CancelReason.TIMEOUT
            (gateway_outcome,) = env.gateway.intervention_outcomes(run.operation_id)
            assert (gateway_outcome.cancel_reason, gateway_outcome.offers) == (
                CancelReason.TIMEOUT,
                0,
            )
            await assert_nothing_leaked(env)


async def test_an_answer_delivered_twice_resolves_once() -> None:
    """The gateway gets the answer twice and acknowledges both; the client resolves once."""
    with trio.fail_after(10):
        async with e2e() as env:
            env.gateway.faults.duplicate_answers()
            run = env.start(asking_run("question", wait_ms=5_000))
            await env.until(run, _asking)
            (item,) = pending_interventions(env.client.state, run.topic_id)
            env.client.answer(
                operation_id=run.operation_id, tool_call_id=item.tool_call_id, result="eu"
            )
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert op.human.settled[item.tool_call_id].status is InterventionStatus.RESOLVED
            (gateway_outcome,) = env.gateway.intervention_outcomes(run.operation_id)
            assert gateway_outcome.offers == 2
