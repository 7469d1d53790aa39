"""A raw v2 client for the reference gateway's tests: frames in, decoded messages out.

Deliberately not the gatewayops client: these tests check the hub against the wire
protocol (PROTOCOL.md 7), using only `trio_websocket` and the shared v2 codec.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
import trio
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection, open_websocket_url

from gatewayops.gateway import DEFAULT_USER, Gateway
from gatewayops.protocol import (
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    OpLifecycle,
    Ready,
    Subscribe,
    decode_mux,
    encode_mux,
)

T = TypeVar("T")


class MuxClient:
    """One v2 WebSocket to the gateway, frame by frame.

    The user's lifecycle feed (`op_lifecycle`) arrives between the frames a test waits
    for; `receive` and `expect` set it aside in `feed` unless asked for it.
    """

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.feed: list[OpLifecycle] = []

    async def send(self, message: MuxClientMessage) -> None:
        """Send one encoded client message."""
        await self.ws.send_message(encode_mux(message))

    async def receive_text(self) -> str:
        """The next raw frame as text."""
        raw = await self.ws.get_message()
        return raw if isinstance(raw, str) else raw.decode()

    async def receive(self, *, skip_feed: bool = True) -> MuxServerMessage:
        """The next frame, decoded (with `skip_feed`, the next that is not `op_lifecycle`)."""
        while True:
            message = decode_mux(await self.receive_text())
            if not (skip_feed and isinstance(message, OpLifecycle)):
                return message
            self.feed.append(message)

    async def expect(self, kind: type[T], *, skip_feed: bool = True) -> T:
        """The next frame, which must decode to a `kind` (see `receive`)."""
        message = await self.receive(skip_feed=skip_feed)
        assert isinstance(message, kind), f"expected {kind.__name__}, got {message!r}"
        return message

    async def expect_closed(self) -> CloseReason:
        """The gateway closes the socket next (no further frame); returns the close reason."""
        with pytest.raises(ConnectionClosed) as closed:
            await self.ws.get_message()
        reason = closed.value.reason
        assert reason is not None
        return reason

    async def subscribe(
        self, operation_id: str, last_event_id: str = "", *, executor: bool = False
    ) -> tuple[list[MuxAgentEvent], MuxResumeComplete]:
        """Send `subscribe`; returns the replayed events and the `resume_complete`."""
        request = Subscribe(
            operation_id=operation_id, last_event_id=last_event_id, executor=executor
        )
        await self.send(request)
        events: list[MuxAgentEvent] = []
        while True:
            message = await self.receive()
            if isinstance(message, MuxResumeComplete):
                assert message.operation_id == operation_id
                return events, message
            assert isinstance(message, MuxAgentEvent), message
            events.append(message)

    async def events_until(self, event_type: str) -> list[MuxAgentEvent]:
        """Read agent events up to and including the first of `event_type`."""
        events: list[MuxAgentEvent] = []
        while True:
            message = await self.expect(MuxAgentEvent)
            events.append(message)
            if message.event.type == event_type:
                return events

    async def silent_for(self, seconds: float, *, skip_feed: bool = True) -> bool:
        """Whether nothing (with `skip_feed`: nothing but `op_lifecycle`) arrives for
        `seconds` of (virtual) time."""
        with trio.move_on_after(seconds):
            await self.receive(skip_feed=skip_feed)
            return False
        return True


@asynccontextmanager
async def open_mux(
    gateway: Gateway, token: str | None = None, *, client_id: str = "client-1"
) -> AsyncIterator[MuxClient]:
    """Open a raw v2 socket with `token` (a fresh one of `DEFAULT_USER` if None)."""
    token = gateway.v2.issue_user_token(DEFAULT_USER) if token is None else token
    async with open_websocket_url(
        gateway.v2.url(token, client_id), connect_timeout=5, disconnect_timeout=5
    ) as ws:
        try:
            yield MuxClient(ws)
        finally:
            if ws.closed is not None:
                # trio-websocket 0.12 leaks the TCP stream when the peer closes first.
                await trio.aclose_forcefully(ws._stream)


@asynccontextmanager
async def ready_mux(
    gateway: Gateway, user_id: str = DEFAULT_USER, *, client_id: str = "client-1"
) -> AsyncIterator[tuple[MuxClient, Ready]]:
    """Open a v2 socket for `user_id` and read its `ready`."""
    async with open_mux(gateway, gateway.v2.issue_user_token(user_id), client_id=client_id) as c:
        yield c, await c.expect(Ready)


def ids(events: list[MuxAgentEvent]) -> list[int]:
    """The envelope ids of `events`, as integers."""
    return [int(message.id or "0") for message in events]
