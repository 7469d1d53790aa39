"""Answering the agent through the runtime: `Client.answer` / `Client.decline` carried
out by the injected `submit_intervention`, failures reported and retryable, deadlines
kept by a timer (PROTOCOL.md 6.2)."""

from __future__ import annotations

import json

import pytest
import trio

from gatewayops.exceptions import InterventionClosed
from gatewayops.protocol import AgentEvent, AgentEventMessage, CancelReason
from gatewayops.store import InterventionStatus, SubmitIntervention, pending_interventions
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, client_on, handshake, settle

CALL = "ask-1"
ASKED_AT = 1_700_000_000_000.0


def request(wait_ms: int = 30_000) -> AgentEventMessage:
    """The agent asks one question; the producer waits `wait_ms` for the answer."""
    questions = [{"question": "Deploy?", "options": [{"label": "Yes", "id": "yes"}]}]
    data = {
        "toolCallId": CALL,
        "apiName": "askUserQuestion",
        "arguments": json.dumps({"questions": questions}),
        "deadline": ASKED_AT + wait_ms,
    }
    event = AgentEvent(
        type="agent_intervention_request", operation_id=OP, timestamp=ASKED_AT, data=data
    )
    return AgentEventMessage(event=event, id="1")


async def test_an_answer_reaches_the_submit_dependency_once(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`Client.answer` hands one SubmitIntervention to the dependency, even if repeated."""
    submitted: list[SubmitIntervention] = []

    async def submit(submission: SubmitIntervention) -> None:
        await trio.lowlevel.checkpoint()
        submitted.append(submission)

    async with client_on(transport, submit_intervention=submit) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(request())
        await settle()
        resolution = client.answer(operation_id=OP, tool_call_id=CALL, result={"go": "yes"})
        client.answer(
            operation_id=OP,
            tool_call_id=CALL,
            result={"go": "yes"},
            resolution_request_id=resolution,
        )
        await settle()
        assert [(s.tool_call_id, s.resolution_request_id, s.result) for s in submitted] == [
            (CALL, resolution, {"go": "yes"})
        ]
        (item,) = pending_interventions(client.state, TOPIC)
        assert (item.status, item.delivered) == (InterventionStatus.RESOLVING, True)


async def test_a_failed_submission_can_be_retried(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A submission that raises leaves the intervention pending with the error; a
    second answer is submitted again."""
    calls = 0

    async def flaky(submission: SubmitIntervention) -> None:
        nonlocal calls
        await trio.lowlevel.checkpoint()
        calls += 1
        if calls == 1:
            raise OSError("gateway unreachable")

    async with client_on(transport, submit_intervention=flaky) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(request())
        await settle()
        client.decline(operation_id=OP, tool_call_id=CALL)
        await settle()
        (item,) = pending_interventions(client.state, TOPIC)
        assert (item.status, item.submit_error) == (
            InterventionStatus.PENDING,
            "OSError: gateway unreachable",
        )
        client.decline(operation_id=OP, tool_call_id=CALL)
        await settle()
        assert calls == 2
        assert pending_interventions(client.state, TOPIC)[0].delivered


async def test_the_deadline_cancels_it_in_virtual_time(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """No answer within the deadline: cancelled with `timeout` exactly then; answering
    afterwards raises InterventionClosed."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(request(wait_ms=5_000))
        await settle()
        await trio.sleep(4.9)
        assert pending_interventions(client.state, TOPIC)
        await trio.sleep(0.2)
        assert pending_interventions(client.state, TOPIC) == ()
        op = client.state.operations[OP]
        assert op.human.settled[CALL].cancel_reason is CancelReason.TIMEOUT
        with pytest.raises(InterventionClosed, match="timeout"):
            client.answer(operation_id=OP, tool_call_id=CALL, result="late")
