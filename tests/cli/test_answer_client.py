"""The client side of the answer endpoint (`_answer_client.answer_poster`), against the
reference gateway's HTTP endpoint on 127.0.0.1: a 200 delivers, anything else raises
naming the endpoint's reason, no answer raises saying what happened."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio.testing import wait_all_tasks_blocked

from gatewayops.cli._answer_client import answer_poster
from gatewayops.cli._http_client import EndpointUnreachable
from gatewayops.exceptions import InterventionRefused
from gatewayops.gateway import ANSWER_PATH, Gateway, asking_run, open_gateway, serve_http_endpoint
from gatewayops.protocol import EventType, InterventionRequestData, parse_human_event
from gatewayops.store import SubmitIntervention


@asynccontextmanager
async def endpoint() -> AsyncIterator[tuple[Gateway, str]]:
    """A gateway and its answer URL, both on free loopback ports."""
    async with open_gateway() as gateway, trio.open_nursery() as nursery:
        base: str = await nursery.start(serve_http_endpoint, gateway)
        yield gateway, base + ANSWER_PATH
        nursery.cancel_scope.cancel()


async def _asked(gateway: Gateway) -> tuple[str, str, str]:
    """Start a run that asks; its operation, topic and the request's tool call id."""
    run = gateway.start_run(asking_run("text_input", wait_ms=60_000))
    await wait_all_tasks_blocked()
    (view,) = [
        parse_human_event(m.event)
        for m in gateway.events(run.operation_id)
        if m.event.type == EventType.AGENT_INTERVENTION_REQUEST
    ]
    assert isinstance(view, InterventionRequestData)
    return run.operation_id, run.token, view.tool_call_id


def _effect(
    operation_id: str,
    call: str,
    *,
    result: object = None,
    cancelled: bool = False,
    rid: str = "r-1",
) -> SubmitIntervention:
    return SubmitIntervention(
        operation_id=operation_id,
        topic_id="topic-1",
        tool_call_id=call,
        resolution_request_id=rid,
        result=result,
        cancelled=cancelled,
    )


async def test_an_answer_is_posted_with_the_latest_token() -> None:
    """The poster asks for the token when it posts (not when it was made): the agent
    takes the answer."""
    with trio.fail_after(10):
        async with endpoint() as (gateway, url):
            operation_id, token, call = await _asked(gateway)
            latest = ["stale"]
            submit = answer_poster(url, lambda: latest[0])
            latest[0] = token
            await submit(_effect(operation_id, call, result="Release 42"))
            (outcome,) = gateway.intervention_outcomes(operation_id)
    assert outcome.result == "Release 42"


async def test_a_refused_answer_raises_with_the_endpoints_reason() -> None:
    """A second answer (the agent took one already) raises `InterventionRefused`
    quoting the 409's reason."""
    with trio.fail_after(10):
        async with endpoint() as (gateway, url):
            operation_id, token, call = await _asked(gateway)
            submit = answer_poster(url, lambda: token)
            await submit(_effect(operation_id, call, cancelled=True))
            with pytest.raises(InterventionRefused, match=r"refused it: .*takes no answer"):
                await submit(_effect(operation_id, call, result="late", rid="r-2"))


async def test_no_endpoint_raises_endpoint_unreachable_naming_it() -> None:
    """Nothing listening: `EndpointUnreachable` naming the answer endpoint's URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/answer"
    submit = answer_poster(url, lambda: "t")
    with (
        trio.fail_after(10),
        pytest.raises(EndpointUnreachable, match=re.escape(f"answer endpoint {url}: ")),
    ):
        await submit(_effect("op-1", "ask-1", result=1))


def test_an_answer_url_must_be_http() -> None:
    """Another scheme is refused when the poster is made, naming the URL."""
    with pytest.raises(ValueError, match=r"answer URL 'https://127\.0\.0\.1/answer'"):
        answer_poster("https://127.0.0.1/answer", lambda: "t")
