"""The v2 answers to an asking agent: `tool_confirmation` and `user_input` (PROTOCOL.md
6.2 and 7.2), sent over a raw v2 socket to the reference gateway's hub.

These run on Trio's real clock (loopback is quick): under `autojump_clock`, virtual time
jumps to the agent's deadline while a socket waits for the kernel.
"""

from __future__ import annotations

import pytest
import trio
from _mux_helpers import MuxClient, ready_mux

from gatewayops.gateway import Gateway, asking_run
from gatewayops.protocol import (
    CancelReason,
    EventType,
    HubError,
    ToolConfirmation,
    UserInput,
)


async def _asked(client: MuxClient, operation_id: str) -> str:
    """Subscribe to `operation_id` and read up to the agent's request; its toolCallId."""
    replayed, _ = await client.subscribe(operation_id)
    asked = [m for m in replayed if m.event.type == EventType.AGENT_INTERVENTION_REQUEST]
    if not asked:
        [*_, request] = await client.events_until(EventType.AGENT_INTERVENTION_REQUEST)
        asked.append(request)
    call_id = asked[0].event.data["toolCallId"]
    assert isinstance(call_id, str)
    return call_id


@pytest.mark.parametrize(
    ("approved", "result", "cancel_reason"),
    [(True, {"approved": True}, None), (False, None, CancelReason.USER_CANCELLED)],
)
async def test_a_tool_confirmation_answers_or_declines(
    gateway: Gateway,
    approved: bool,
    result: object,
    cancel_reason: CancelReason | None,
) -> None:
    """tool_confirmation{approved: true} is the answer {"approved": true}; false declines;
    either carries the resolution id v2:<toolCallId>."""
    operation = gateway.start_run(asking_run("tool_confirmation")).operation_id
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            call_id = await _asked(client, operation)
            await client.send(
                ToolConfirmation(operation_id=operation, tool_call_id=call_id, approved=approved)
            )
            await client.events_until(EventType.AGENT_RUNTIME_END)
    [outcome] = gateway.intervention_outcomes(operation)
    assert (outcome.result, outcome.cancel_reason) == (result, cancel_reason)
    assert outcome.resolution_request_id == f"v2:{call_id}"


async def test_user_input_is_the_text_the_agent_quotes(gateway: Gateway) -> None:
    """user_input{requestId, content} answers the request with its content."""
    operation = gateway.start_run(asking_run("text_input")).operation_id
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            call_id = await _asked(client, operation)
            await client.send(UserInput(operation_id=operation, request_id=call_id, content="Ada"))
            events = await client.events_until(EventType.AGENT_RUNTIME_END)
    chunks = [m.event.data for m in events if m.event.type == EventType.STREAM_CHUNK]
    assert "Ada" in "".join(str(data.get("content", "")) for data in chunks)
    assert gateway.intervention_outcomes(operation)[0].result == "Ada"


async def test_an_answer_to_nothing_asked_is_refused(gateway: Gateway) -> None:
    """user_input for a request the agent never made gets error{answer_refused}."""
    operation = gateway.start_run(asking_run("text_input")).operation_id
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await _asked(client, operation)
            await client.send(UserInput(operation_id=operation, request_id="nope", content="x"))
            error = await client.expect(HubError)
    assert (error.code, error.operation_id) == ("answer_refused", operation)


async def test_an_answer_from_a_socket_not_subscribed_is_refused(gateway: Gateway) -> None:
    """tool_confirmation for an operation this socket does not follow: not_subscribed, and
    the agent is still waiting for an answer."""
    operation = gateway.start_run(asking_run("tool_confirmation")).operation_id
    with trio.fail_after(10):
        async with ready_mux(gateway) as (watcher, _), ready_mux(gateway) as (other, _):
            call_id = await _asked(watcher, operation)
            await other.send(
                ToolConfirmation(operation_id=operation, tool_call_id=call_id, approved=True)
            )
            error = await other.expect(HubError)
    assert (error.code, error.operation_id) == ("not_subscribed", operation)
    assert gateway.intervention_outcomes(operation) == ()
