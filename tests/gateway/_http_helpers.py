"""Raw HTTP for the tests of the reference gateway's HTTP endpoint: serve it on a free
loopback port, and send it one request as bytes (deliberately not the CLI's client)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import trio

from gatewayops.gateway import TOKEN_PATH, Gateway, serve_http_endpoint


@asynccontextmanager
async def endpoint(gateway: Gateway) -> AsyncIterator[str]:
    """The endpoint of `gateway` on a free loopback port, for the block; its base URL."""
    async with trio.open_nursery() as nursery:
        url: str = await nursery.start(serve_http_endpoint, gateway)
        yield url
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def token_endpoint(gateway: Gateway) -> AsyncIterator[str]:
    """The endpoint's token route, for the block."""
    async with endpoint(gateway) as base:
        yield base + TOKEN_PATH


async def request(
    url: str, method: str = "POST", body: bytes = b"", bearer: str | None = None
) -> tuple[int, Any]:
    """One raw HTTP/1.1 request; the status and the parsed JSON answer."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    auth = "" if bearer is None else f"Authorization: Bearer {bearer}\r\n"
    head = (
        f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{auth}"
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
