"""An in-memory transport with a scriptable fake server side, for tests.

Owns: `MemoryTransport` (the client side the runtime dials), `ServerConnection` (what a
test holds to play the gateway: read the client's frames, send frames, close, abort)
and `CloseInfo`. No real I/O, so everything runs under Trio's ``autojump_clock``.

How a test uses it: ``await transport.accept()`` completes the handshake of the next
connection attempt and returns its server side. Until a test accepts, the client's
``connect`` waits, exactly as against a server that is slow to answer the upgrade. The
next attempts can instead be made to fail (`refuse_next`), be rejected with an HTTP
status (`reject_next`) or hang forever (`black_hole_next`). Frames are delivered in
order; a close is seen by the other side after every frame sent before it, and a local
close discards what was not read yet, as trio-websocket does. Must not know: the store
or the runtime (it only speaks text frames; `send_message`/`receive_message` are
codec conveniences).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio

from gatewayops.protocol import ClientMessage, ServerMessage, decode_client, encode
from gatewayops.transport._interface import (
    ABNORMAL_CLOSURE,
    NORMAL_CLOSURE,
    ConnectFailed,
    Connection,
    ConnectionEnded,
    HandshakeRejected,
)

__all__ = ["CloseInfo", "MemoryTransport", "ServerConnection"]


@attrs.frozen(kw_only=True)
class CloseInfo:
    """How a memory connection ended.

    Attributes:
        code: the close code (1006 for an abort, which sends no close frame).
        reason: the close reason.
        by_client: True if the client side closed first.
    """

    code: int
    reason: str = ""
    by_client: bool


class _Plan(enum.Enum):
    REFUSE = "refuse"
    REJECT = "reject"
    BLACK_HOLE = "black_hole"


@attrs.frozen(kw_only=True)
class _Attempt:
    plan: _Plan
    status_code: int = 0


class _Pipe:
    """The shared state of one connection: two inboxes and how it closed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.to_client_send, self.to_client = trio.open_memory_channel[str](math.inf)
        self.to_server_send, self.to_server = trio.open_memory_channel[str](math.inf)
        self.accepted = trio.Event()
        self.close_info: CloseInfo | None = None
        self.closed = trio.Event()

    def close(self, code: int, reason: str, *, by_client: bool) -> None:
        if self.close_info is not None:
            return
        self.close_info = CloseInfo(code=code, reason=reason, by_client=by_client)
        self.to_client_send.close()
        self.to_server_send.close()
        self.closed.set()


async def _receive(inbox: trio.MemoryReceiveChannel[str], pipe: _Pipe, *, local: bool) -> str:
    """The next frame for one side; after a close, pending frames first unless `local`."""
    info = pipe.close_info
    if info is not None and info.by_client is local:
        await trio.lowlevel.checkpoint()
        raise ConnectionEnded(info.code, info.reason)
    try:
        return await inbox.receive()
    except trio.EndOfChannel:
        assert pipe.close_info is not None
        raise ConnectionEnded(pipe.close_info.code, pipe.close_info.reason) from None


def _send(outbox: trio.MemorySendChannel[str], pipe: _Pipe, text: str) -> None:
    if pipe.close_info is not None:
        raise ConnectionEnded(pipe.close_info.code, pipe.close_info.reason)
    outbox.send_nowait(text)


class _ClientConnection:
    """The client side of a memory connection (a `Connection`)."""

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe

    @property
    def url(self) -> str:
        """The URL this connection was dialled with."""
        return self._pipe.url

    async def send(self, text: str) -> None:
        """Deliver one frame to the server side."""
        await trio.lowlevel.checkpoint()
        _send(self._pipe.to_server_send, self._pipe, text)

    async def receive(self) -> str:
        """The next frame from the server side."""
        return await _receive(self._pipe.to_client, self._pipe, local=True)

    async def aclose(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close from the client side (idempotent, never raises)."""
        self._pipe.close(code, reason, by_client=True)
        await trio.lowlevel.cancel_shielded_checkpoint()


class ServerConnection:
    """The fake gateway's side of one memory connection."""

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe

    @property
    def url(self) -> str:
        """The URL the client dialled."""
        return self._pipe.url

    @property
    def closed(self) -> CloseInfo | None:
        """How the connection ended, or None while it is open."""
        return self._pipe.close_info

    def send(self, text: str) -> None:
        """Send one frame to the client (never blocks).

        Raises:
            ConnectionEnded: the connection is closed.
        """
        _send(self._pipe.to_client_send, self._pipe, text)

    def send_message(self, message: ServerMessage) -> None:
        """Encode `message` with the protocol codec and send it."""
        self.send(encode(message))

    async def receive(self) -> str:
        """The next frame from the client.

        Raises:
            ConnectionEnded: the client closed and every earlier frame was read.
        """
        return await _receive(self._pipe.to_server, self._pipe, local=False)

    async def receive_message(self) -> ClientMessage:
        """The next client frame, decoded with the protocol codec."""
        return decode_client(await self.receive())

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close from the server side with a close frame."""
        self._pipe.close(code, reason, by_client=False)

    def abort(self) -> None:
        """Drop the connection without a close frame (the client sees code 1006)."""
        self._pipe.close(ABNORMAL_CLOSURE, "connection lost", by_client=False)

    async def wait_closed(self) -> CloseInfo:
        """Wait until either side closes; how it closed."""
        await self._pipe.closed.wait()
        assert self._pipe.close_info is not None
        return self._pipe.close_info


class MemoryTransport:
    """A `Transport` whose server side is played by the test.

    Attributes:
        attempts: every URL dialled, in order (refused and rejected attempts included).
    """

    def __init__(self) -> None:
        self._pending_send, self._pending = trio.open_memory_channel[_Pipe](math.inf)
        self._plans: deque[_Attempt] = deque()
        self.attempts: list[str] = []
        self.connections: list[ServerConnection] = []
        """Server sides of every accepted connection, in order."""

    def refuse_next(self, count: int = 1) -> None:
        """Make the next `count` attempts fail as "connection refused" (retryable)."""
        self._plans.extend(_Attempt(plan=_Plan.REFUSE) for _ in range(count))

    def reject_next(self, status_code: int, count: int = 1) -> None:
        """Make the next `count` handshakes be answered with HTTP `status_code`."""
        attempt = _Attempt(plan=_Plan.REJECT, status_code=status_code)
        self._plans.extend(attempt for _ in range(count))

    def black_hole_next(self, count: int = 1) -> None:
        """Make the next `count` attempts hang forever (never accepted, never refused)."""
        self._plans.extend(_Attempt(plan=_Plan.BLACK_HOLE) for _ in range(count))

    async def accept(self) -> ServerConnection:
        """Wait for the next connection attempt, complete its handshake, return its server."""
        while True:
            pipe = await self._pending.receive()
            if pipe.close_info is None:  # skip attempts abandoned before being accepted
                break
        pipe.accepted.set()
        server = ServerConnection(pipe)
        self.connections.append(server)
        return server

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Dial `url`: wait to be accepted (or fail as planned); close on exit."""
        self.attempts.append(url)
        plan = self._plans.popleft() if self._plans else None
        await trio.lowlevel.checkpoint()
        if plan is not None and plan.plan is _Plan.REFUSE:
            raise ConnectFailed("connection refused")
        if plan is not None and plan.plan is _Plan.REJECT:
            raise HandshakeRejected(plan.status_code)
        if plan is not None and plan.plan is _Plan.BLACK_HOLE:
            await trio.sleep_forever()
        pipe = _Pipe(url)
        self._pending_send.send_nowait(pipe)
        connection = _ClientConnection(pipe)
        try:
            await pipe.accepted.wait()
            yield connection
        finally:
            await connection.aclose()
