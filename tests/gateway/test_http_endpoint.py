"""The reference gateway's HTTP endpoint (issues 16 and 14): ``POST /token`` trades a
run's token, expired or not, for a fresh one; ``POST /answer`` gives the agent the
user's answer or decline and ``POST /interrupt`` stops a run, both authenticated with
the run's token; everything else is refused with a status and a reason; nothing is
logged with a token in it. Spoken to over raw HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio
from _gateway_helpers import connect, paused_run
from _http_helpers import endpoint, request, token_endpoint
from trio.testing import wait_all_tasks_blocked

from gatewayops.gateway import (
    ANSWER_PATH,
    INTERRUPT_PATH,
    Gateway,
    RunHandle,
    asking_run,
    open_gateway,
    serve_http_endpoint,
)
from gatewayops.protocol import (
    AuthFailed,
    EventType,
    InterventionRequestData,
    SessionStatus,
    parse_human_event,
)


def _body(token: str) -> bytes:
    return json.dumps({"token": token}).encode()


async def test_an_expired_token_is_renewed_and_the_fresh_one_authenticates(
    gateway: Gateway,
) -> None:
    """A run's expired token is answered 200 with a fresh token the gateway accepts."""
    run = gateway.start_run(paused_run(), token_ttl=-1)  # expired from the start
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            status, answer = await request(url, body=_body(run.token))
        assert status == 200
        assert answer["token"] != run.token
        async with connect(gateway, run.operation_id) as client:
            await client.expect_auth_success(answer["token"])


async def test_a_forgotten_run_is_404(gateway: Gateway) -> None:
    """The token of a run the gateway forgot gets 404 naming the operation."""
    run = gateway.start_run(paused_run())
    gateway.faults.forget(run.operation_id)
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            status, answer = await request(url, body=_body(run.token))
    assert (status, answer) == (404, {"error": f"operation {run.operation_id!r} not found"})


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", "/token", b'{"token": "not-a-jwt"}', 401, "invalid token: malformed"),
        ("POST", "/token", b"not json", 400, "expected a JSON object body"),
        ("POST", "/token", b'{"token": ""}', 400, "expected a non-empty string 'token'"),
        ("POST", "/token", b'["token"]', 400, "expected a JSON object body"),
        ("GET", "/token", b"", 405, "method not allowed: use POST /token"),
        ("GET", "/answer", b"", 405, "method not allowed: use POST /answer"),
        ("POST", "/other", b"{}", 404, "not found: the endpoint has POST /token, /answer"),
    ],
)
async def test_what_is_not_a_token_request_is_refused_with_a_reason(
    gateway: Gateway, method: str, path: str, body: bytes, status: int, error: str
) -> None:
    """A bad token, a bad body, another method or path: a status and a reason in JSON."""
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            answer = await request(url.replace("/token", path), method, body)
    assert answer[0] == status
    assert error in answer[1]["error"]


async def test_a_token_of_another_gateway_is_401(gateway: Gateway) -> None:
    """A well-formed token this gateway did not sign is refused: bad signature."""
    async with open_gateway() as other:  # its own signing secret
        foreign = other.start_run(paused_run()).token
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            status, answer = await request(url, body=_body(foreign))
    assert (status, answer) == (401, {"error": "invalid token: bad signature"})


async def test_the_endpoint_logs_one_line_per_answer_and_never_a_token(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Each answer is one INFO line with its status; neither token is in the log."""
    caplog.set_level(logging.INFO, logger="gatewayops.gateway")
    run = gateway.start_run(paused_run(), token_ttl=-1)
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            _, answer = await request(url, body=_body(run.token))
            await request(url, "GET")
    assert caplog.text.count("http endpoint: POST /token: HTTP 200") == 1
    assert caplog.text.count("http endpoint: GET /token: HTTP 405") == 1
    assert run.token not in caplog.text
    assert answer["token"] not in caplog.text


async def test_the_endpoint_binds_loopback_only(gateway: Gateway) -> None:
    """Asked to bind a non-loopback address, it refuses before binding anything."""
    with pytest.raises(ValueError, match="loopback only"):
        await serve_http_endpoint(gateway, "0.0.0.0")


async def test_a_renewed_token_does_not_open_another_run(gateway: Gateway) -> None:
    """A token is renewed for its own run only: the fresh one is refused by another run's
    socket (auth_failed: issued for another operation)."""
    run = gateway.start_run(paused_run())
    other = gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with token_endpoint(gateway) as url:
            _, answer = await request(url, body=_body(run.token))
        async with connect(gateway, other.operation_id) as client:
            verdict = await client.authenticate(answer["token"])
    assert isinstance(verdict, AuthFailed)
    assert "another operation" in verdict.reason


async def _asking(gateway: Gateway) -> tuple[RunHandle, str]:
    """A run whose agent asks a question and waits; its handle and the tool call id."""
    run = gateway.start_run(asking_run("text_input", wait_ms=60_000))
    await wait_all_tasks_blocked()
    (asked,) = [
        parse_human_event(m.event)
        for m in gateway.events(run.operation_id)
        if m.event.type == EventType.AGENT_INTERVENTION_REQUEST
    ]
    assert isinstance(asked, InterventionRequestData)
    return run, asked.tool_call_id


def _answer(run: RunHandle, tool_call_id: str, **fields: Any) -> bytes:
    body = {"operationId": run.operation_id, "toolCallId": tool_call_id}
    return json.dumps({**body, "resolutionRequestId": "r-1", **fields}).encode()


async def test_an_answer_with_the_runs_token_reaches_the_agent(gateway: Gateway) -> None:
    """POST /answer with the run's bearer token is 200 and the agent quotes the answer."""
    run, call = await _asking(gateway)
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            body = _answer(run, call, result="Release 42")
            answer = await request(base + ANSWER_PATH, body=body, bearer=run.token)
        assert answer == (200, {"accepted": True})
        assert await gateway.wait_finished(run.operation_id) is SessionStatus.COMPLETED
    (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert (outcome.result, outcome.offers) == ("Release 42", 1)


async def test_a_decline_over_http_cancels_the_request(gateway: Gateway) -> None:
    """``"cancelled": true`` instead of a result declines: the agent ends it user_cancelled."""
    run, call = await _asking(gateway)
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            body = _answer(run, call, cancelled=True)
            assert (await request(base + ANSWER_PATH, body=body, bearer=run.token))[0] == 200
        await gateway.wait_finished(run.operation_id)
    (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert outcome.cancel_reason == "user_cancelled"


async def test_a_second_answer_is_409_naming_why(gateway: Gateway) -> None:
    """Once the agent took an answer, another one is refused 409 with the agent's reason."""
    run, call = await _asking(gateway)
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            url = base + ANSWER_PATH
            await request(url, body=_answer(run, call, result="a"), bearer=run.token)
            body = _answer(run, call, result="b", resolutionRequestId="r-2")
            status, answer = await request(url, body=body, bearer=run.token)
    assert status == 409
    assert "takes no answer" in answer["error"]


@pytest.mark.parametrize(
    ("fields", "bearer", "status", "error"),
    [
        ({}, None, 401, "expected an Authorization: Bearer header"),
        ({}, "not-a-jwt", 401, "invalid token: malformed"),
        ({"operationId": "op-other"}, "RUN", 403, "not one of operation 'op-other'"),
        ({"toolCallId": ""}, "RUN", 400, "expected a non-empty string 'toolCallId'"),
        ({"cancelled": "yes"}, "RUN", 400, "expected 'cancelled' to be true or false"),
        ({"drop": "result"}, "RUN", 400, "expected a 'result'"),
    ],
)
async def test_an_answer_without_the_runs_token_or_fields_is_refused(
    gateway: Gateway, fields: dict[str, Any], bearer: str | None, status: int, error: str
) -> None:
    """No token, a bad one, one of another run, or a bad field: a 4xx naming what is wrong,
    and the agent is not answered."""
    run, call = await _asking(gateway)
    body = json.loads(_answer(run, call, result="x", **fields))
    body.pop(body.pop("drop", ""), None)
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            token = run.token if bearer == "RUN" else bearer
            answer = await request(base + ANSWER_PATH, body=json.dumps(body).encode(), bearer=token)
    assert answer[0] == status
    assert error in answer[1]["error"]
    assert gateway.operation_status(run.operation_id) is SessionStatus.RUNNING


async def test_an_interrupt_with_the_runs_token_stops_it(gateway: Gateway) -> None:
    """POST /interrupt with the run's token ends it interrupted; a second one says it had
    ended already."""
    run = gateway.start_run(paused_run())
    body = json.dumps({"operationId": run.operation_id}).encode()
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            first = await request(base + INTERRUPT_PATH, body=body, bearer=run.token)
            second = await request(base + INTERRUPT_PATH, body=body, bearer=run.token)
    assert (first, second) == ((200, {"interrupted": True}), (200, {"interrupted": False}))
    assert gateway.operation_status(run.operation_id) is SessionStatus.INTERRUPTED


async def test_a_token_of_one_run_cannot_interrupt_another(gateway: Gateway) -> None:
    """The token of a run reaches that run only: another run's interrupt is 403."""
    run = gateway.start_run(paused_run())
    other = gateway.start_run(paused_run())
    body = json.dumps({"operationId": other.operation_id}).encode()
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            status, _ = await request(base + INTERRUPT_PATH, body=body, bearer=run.token)
    assert status == 403
    assert gateway.operation_status(other.operation_id) is SessionStatus.RUNNING
