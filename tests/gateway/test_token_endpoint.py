"""The reference gateway's token endpoint (issue 16, item 6): ``POST /token`` trades a
run's token, expired or not, for a fresh one; everything else is refused with a status
and a reason; nothing is logged with a token in it. Spoken to over raw HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
from _gateway_helpers import connect, paused_run

from gatewayops.gateway import Gateway, open_gateway, serve_token_endpoint
from gatewayops.protocol import AuthFailed


@asynccontextmanager
async def token_endpoint(gateway: Gateway) -> AsyncIterator[str]:
    """The endpoint of `gateway` on a free loopback port, for the block; its URL."""
    async with trio.open_nursery() as nursery:
        url: str = await nursery.start(serve_token_endpoint, gateway)
        yield url
        nursery.cancel_scope.cancel()


async def request(url: str, method: str = "POST", body: bytes = b"") -> tuple[int, Any]:
    """One raw HTTP/1.1 request; the status and the parsed JSON answer."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    head = (
        f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    answer = b""
    async with await trio.open_tcp_stream(parts.hostname, parts.port) as stream:
        await stream.send_all(head.encode() + body)
        while chunk := await stream.receive_some():
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload)


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
        ("POST", "/token", b"not json", 400, 'expected a JSON body {"token": "..."}'),
        ("POST", "/token", b'{"token": ""}', 400, "with a non-empty token"),
        ("POST", "/token", b'["token"]', 400, "with a non-empty token"),
        ("GET", "/token", b"", 405, "method not allowed: use POST /token"),
        ("POST", "/other", b"{}", 404, "not found: the token endpoint is POST /token"),
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
    assert caplog.text.count("token endpoint: HTTP 200") == 1
    assert caplog.text.count("token endpoint: HTTP 405") == 1
    assert run.token not in caplog.text
    assert answer["token"] not in caplog.text


async def test_the_endpoint_binds_loopback_only(gateway: Gateway) -> None:
    """Asked to bind a non-loopback address, it refuses before binding anything."""
    with pytest.raises(ValueError, match="loopback only"):
        await serve_token_endpoint(gateway, "0.0.0.0")


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
