"""A raw v1 client for the reference gateway's tests: frames in, decoded messages out.

Deliberately not the gatewayops client: these tests check the server against the wire
protocol, using only `trio_websocket` and the shared codec.
"""

from __future__ import annotations

import math
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import trio
from trio_websocket import (
    CloseReason,
    ConnectionClosed,
    WebSocketConnection,
    open_websocket_url,
    wrap_client_stream,
)

from gatewayops.gateway import Emit, Gateway, Pause, Script
from gatewayops.protocol import (
    AgentEventMessage,
    Auth,
    AuthSuccess,
    ClientMessage,
    EventType,
    Resume,
    ResumeComplete,
    ServerMessage,
    decode,
    encode,
)

T = TypeVar("T")

EPOCH = 1_700_000_000.0
"""The gateway clock's start in these tests, so timestamps are predictable."""


class RawClient:
    """One WebSocket to the gateway, speaking v1 frame by frame."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws

    async def send(self, message: ClientMessage) -> None:
        """Send one encoded client message."""
        await self.ws.send_message(encode(message))

    async def receive_text(self) -> str:
        """The next raw frame as text."""
        raw = await self.ws.get_message()
        return raw if isinstance(raw, str) else raw.decode()

    async def receive(self) -> ServerMessage:
        """The next frame, decoded."""
        return decode(await self.receive_text())

    async def expect(self, kind: type[T]) -> T:
        """The next frame, which must decode to a `kind`."""
        message = await self.receive()
        assert isinstance(message, kind), f"expected {kind.__name__}, got {message!r}"
        return message

    async def send_auth(self, token: str) -> None:
        """Send `auth` without waiting for an answer."""
        await self.send(Auth(token=token))

    async def authenticate(self, token: str) -> ServerMessage:
        """Send `auth` and return the gateway's answer."""
        await self.send_auth(token)
        return await self.receive()

    async def expect_auth_success(self, token: str) -> None:
        """Send `auth`; the answer must be `auth_success`."""
        answer = await self.authenticate(token)
        assert isinstance(answer, AuthSuccess), f"expected auth_success, got {answer!r}"

    async def expect_closed(self) -> CloseReason:
        """The gateway closes the socket next (no further frame); returns the close reason."""
        with pytest.raises(ConnectionClosed) as closed:
            await self.ws.get_message()
        reason = closed.value.reason
        assert reason is not None
        return reason

    async def resume(
        self, last_event_id: str = ""
    ) -> tuple[list[AgentEventMessage], ResumeComplete]:
        """Send `resume{wantStatus:true}`; returns the replayed events and the status."""
        await self.send(Resume(last_event_id=last_event_id, want_status=True))
        events: list[AgentEventMessage] = []
        while True:
            message = await self.receive()
            if isinstance(message, ResumeComplete):
                return events, message
            assert isinstance(message, AgentEventMessage), message
            events.append(message)

    async def events_until(self, event_type: str) -> list[AgentEventMessage]:
        """Read agent events up to and including the first of `event_type`."""
        events: list[AgentEventMessage] = []
        while True:
            message = await self.expect(AgentEventMessage)
            events.append(message)
            if message.event.type == event_type:
                return events

    async def silent_for(self, seconds: float) -> bool:
        """Whether nothing arrives for `seconds` of (virtual) time."""
        with trio.move_on_after(seconds):
            await self.ws.get_message()
            return False
        return True


@asynccontextmanager
async def connect(
    gateway: Gateway, operation_id: str, *, max_message_size: int = 2**20
) -> AsyncIterator[RawClient]:
    """Open a raw socket to `operation_id` on `gateway`."""
    async with open_websocket_url(
        gateway.operation_url(operation_id),
        connect_timeout=5,
        disconnect_timeout=5,
        max_message_size=max_message_size,
    ) as ws:
        try:
            yield RawClient(ws)
        finally:
            if ws.closed is not None:
                # trio-websocket 0.12: when the peer starts the close handshake, the
                # client never closes its TCP stream (`aclose` returns early), which
                # leaks the socket; close it here.
                await trio.aclose_forcefully(ws._stream)


@asynccontextmanager
async def connect_without_reading(gateway: Gateway, operation_id: str) -> AsyncIterator[RawClient]:
    """Open a raw socket whose client stops reading as soon as the test stops calling it.

    Its TCP receive buffer is shrunk to 4 KiB before the upgrade, and trio-websocket stops
    reading the TCP stream once one message waits undelivered, so a gateway writing to it
    soon blocks. The TCP stream is closed on exit whatever happened.
    """
    host, port = _address(gateway)
    stream = await trio.open_tcp_stream(host, port)
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        async with trio.open_nursery() as nursery:
            ws = await wrap_client_stream(nursery, stream, host, f"/ws?operationId={operation_id}")
            yield RawClient(ws)
            nursery.cancel_scope.cancel()
    finally:
        await trio.aclose_forcefully(stream)


def _address(gateway: Gateway) -> tuple[str, int]:
    parts = urlsplit(gateway.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def _upgrade(gateway: Gateway, target: str) -> tuple[str, int, bytes]:
    host, port = _address(gateway)
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    return host, port, request.encode()


async def upgrade_request(gateway: Gateway, target: str) -> bytes:
    """Send a bare WebSocket upgrade request for `target`; returns the raw HTTP response.

    trio-websocket 0.12's client leaks its socket when a handshake is rejected, so the
    rejection tests speak HTTP themselves.
    """
    host, port, request = _upgrade(gateway, target)
    response = b""
    async with await trio.open_tcp_stream(host, port) as stream:
        await stream.send_all(request)
        while chunk := await stream.receive_some():
            response += chunk
    return response


async def unanswered_upgrade(gateway: Gateway, operation_id: str, wait: float) -> bool:
    """Whether an upgrade request for `operation_id` gets no byte back within `wait` seconds.

    The socket is closed afterwards, as a client's connect watchdog would. (trio-websocket
    0.12's `connect_timeout` does not help here: its reader task keeps the nursery open
    until the server closes the connection, which a black hole never does.)
    """
    host, port, request = _upgrade(gateway, f"/ws?operationId={operation_id}")
    async with await trio.open_tcp_stream(host, port) as stream:
        await stream.send_all(request)
        with trio.move_on_after(wait):
            await stream.receive_some()
            return False
    return True


def paused_run(chunks: int = 1) -> Script:
    """A run that emits `agent_runtime_init` and `chunks` text chunks, then waits forever."""
    steps: list[Emit | Pause] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={})]
    steps += [
        Emit(type=EventType.STREAM_CHUNK, data={"chunkType": "text", "content": f"c{index}"})
        for index in range(chunks)
    ]
    steps.append(Pause(seconds=math.inf))
    return Script(name="paused_run", steps=tuple(steps))


def ids(events: list[AgentEventMessage]) -> list[int]:
    """The envelope ids of `events`, as integers."""
    return [int(message.id or "0") for message in events]


async def abandoned_upgrade(gateway: Gateway, operation_id: str, sent: int | None) -> None:
    """Open a TCP connection, send the first `sent` bytes of an upgrade request, hang up.

    `sent` ``None`` sends the whole request and hangs up without reading the answer.
    """
    host, port, request = _upgrade(gateway, f"/ws?operationId={operation_id}")
    async with await trio.open_tcp_stream(host, port) as stream:
        if sent != 0:
            await stream.send_all(request[:sent])
