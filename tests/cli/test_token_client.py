"""`fetch_token`, the client of a token endpoint that `watch --token-url` uses: what each
answer means for the run. Against the reference gateway's endpoint on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from gatewayops.cli._token_client import check_token_url, fetch_token
from gatewayops.exceptions import OperationNotFound, TokenUnavailable
from gatewayops.gateway import TOKEN_PATH, Gateway, clean_run, open_gateway, serve_http_endpoint


@asynccontextmanager
async def endpoint() -> AsyncIterator[tuple[Gateway, str]]:
    """A gateway and its token endpoint, both on free loopback ports."""
    async with open_gateway() as gateway, trio.open_nursery() as nursery:
        base: str = await nursery.start(serve_http_endpoint, gateway)
        yield gateway, base + TOKEN_PATH
        nursery.cancel_scope.cancel()


async def test_a_run_token_is_traded_for_a_fresh_one() -> None:
    """200: the fresh token is returned (another token than the one given)."""
    with trio.fail_after(10):
        async with endpoint() as (gateway, url):
            run = gateway.start_run(clean_run("x"), token_ttl=-1)
            fresh = await fetch_token(url, run.token)
    assert fresh
    assert fresh != run.token


async def test_a_forgotten_run_is_operation_not_found() -> None:
    """404: `OperationNotFound`, so the run ends as gone instead of retrying."""
    with trio.fail_after(10):
        async with endpoint() as (gateway, url):
            run = gateway.start_run(clean_run("x"))
            gateway.faults.forget(run.operation_id)
            with pytest.raises(OperationNotFound, match="not found"):
                await fetch_token(url, run.token)


async def test_a_refused_token_says_why() -> None:
    """401: `TokenUnavailable` naming the endpoint and its reason."""
    with trio.fail_after(10):
        async with endpoint() as (_, url):
            with pytest.raises(TokenUnavailable, match="refused a fresh token: invalid token"):
                await fetch_token(url, "not-a-token")


async def test_no_endpoint_is_token_unavailable_in_words() -> None:
    """Nothing listening: `TokenUnavailable` with the OS's words, not an errno."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/token"
    with trio.fail_after(10), pytest.raises(TokenUnavailable) as unavailable:
        await fetch_token(url, "t")
    assert str(unavailable.value).startswith(f"token endpoint {url}: ")
    assert "Errno" not in str(unavailable.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1/token", "expected http://HOST:PORT/PATH"),
        ("http:///token", "expected http://HOST:PORT/PATH"),
        ("http://127.0.0.1:0/token", "port from 1 to 65535"),
        ("http://127.0.0.1:70000/token", "port from 1 to 65535"),
    ],
)
def test_a_token_url_must_be_http_with_a_host_and_a_port(url: str, problem: str) -> None:
    """`check_token_url` refuses another scheme, no host or a bad port, naming the URL."""
    with pytest.raises(ValueError, match=problem):
        check_token_url(url)
