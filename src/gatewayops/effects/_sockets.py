"""One socket resource, carried out: connect, pump frames in, write frames out.

Owns: `SocketEntry` (the runtime's handle on one `Socket` resource: its cancel scope,
its ordered outbox, the frame being written, whether it was removed, when its dial
started) and `run_socket`, the task body. A dial waits for a slot of the runtime's
`dials` limiter, so only so many handshakes are in flight at once (thousands of starts
do not all handshake together); the slot is held until the transport's connect
returns, and `dialling` is set when the dial takes it (the connect watchdog counts
from then, not from when the dial was queued). The pump decodes every frame and
dispatches `MessageReceived` or `BadMessageReceived` synchronously, so it never waits on
a consumer; a writer task in the same scope writes the outbox in order, and a watcher
reports `SocketWentQuiet` when `quiet_after_ms` passes with no frame but heartbeat acks
(once, until the next frame). Each socket reports exactly one ending (`SocketFailed` if
it never opened, `SocketClosed` otherwise) unless it was removed first, in which case it
reports nothing more. A v2 socket's URL is the gateway's base URL: `resolve_url` turns
it into the socket URL right before the dial (awaiting the user token; a failure to get
one is the dial's failure, `SocketFailed`, retryable), and its frames are read and
written with the v2 codec; a dial error that quotes the URL has the token redacted.
Must not know: what frames mean, the store's state, or which transport it is given.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import trio

from gatewayops._secrets import get_logger, redact_secrets
from gatewayops.protocol import (
    ClientMessage,
    HeartbeatAck,
    MuxClientMessage,
    encode,
    encode_mux,
)
from gatewayops.store import (
    Action,
    MessageReceived,
    Protocol,
    Socket,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    frame_received,
)
from gatewayops.transport import ConnectFailed, Connection, ConnectionEnded, Transport

__all__ = ["ResolveUrl", "SocketEntry", "run_socket"]

logger = get_logger("gatewayops.effects")

Dispatch = Callable[[Action], None]
ResolveUrl = Callable[[Socket], Awaitable[str]]
"""The URL to dial for a socket resource (v2: with a fresh user token in it)."""
Frame = ClientMessage | MuxClientMessage


class SocketEntry:
    """The runtime's handle on one live `Socket` resource."""

    __slots__ = (
        "_flushed",
        "_outbox",
        "_outbox_send",
        "dialling",
        "ended",
        "in_flight",
        "last_news",
        "news",
        "removed",
        "scope",
        "socket",
    )

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.scope = trio.CancelScope()
        self._outbox_send, self._outbox = trio.open_memory_channel[Frame](math.inf)
        self.in_flight: Frame | None = None
        self._flushed: trio.Event | None = None
        self.removed = False
        self.ended = False
        self.dialling = trio.Event()
        """Set when the dial got its slot and began (the connect watchdog counts from it)."""
        self.last_news = 0.0
        """When the last frame other than a heartbeat ack arrived (Trio clock)."""
        self.news: trio.Event | None = None
        """Set by the next such frame, while the socket is reported quiet."""

    def heard(self) -> None:
        """A frame other than a heartbeat ack arrived."""
        self.last_news = trio.current_time()
        if self.news is not None:
            self.news.set()
            self.news = None

    @property
    def outbox(self) -> trio.MemoryReceiveChannel[Frame]:
        """The frames waiting to be written, in order."""
        return self._outbox

    def enqueue(self, message: Frame) -> None:
        """Queue a frame for the writer (never blocks)."""
        self._outbox_send.send_nowait(message)

    def _pending(self) -> bool:
        return self.in_flight is not None or self._outbox.statistics().current_buffer_used > 0

    async def flushed(self) -> None:
        """Wait until every frame queued so far was written, or the socket was removed."""
        while self._pending() and not self.removed:
            if self._flushed is None:
                self._flushed = trio.Event()
            await self._flushed.wait()

    def written(self) -> None:
        """The writer is done with a frame (wakes `flushed` once nothing is pending)."""
        self.in_flight = None
        if self._flushed is not None and not self._pending():
            self._flushed.set()
            self._flushed = None

    def remove(self) -> list[Frame]:
        """Mark removed, cancel the task, and return the frames that were not written."""
        self.removed = True
        self.scope.cancel()
        if self._flushed is not None:
            self._flushed.set()
        unsent = [] if self.in_flight is None else [self.in_flight]
        self.in_flight = None
        self._outbox_send.close()
        while True:
            try:
                unsent.append(self._outbox.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return unsent


def _end(entry: SocketEntry, dispatch: Dispatch, action: SocketClosed | SocketFailed) -> None:
    """Report the socket's one ending, unless it was removed or already ended."""
    if entry.removed or entry.ended:
        return
    entry.ended = True
    dispatch(action)


async def _pump(entry: SocketEntry, connection: Connection, dispatch: Dispatch) -> None:
    link_id = entry.socket.link_id
    generation = entry.socket.generation
    protocol = entry.socket.protocol
    while True:
        try:
            frame = await connection.receive()
        except ConnectionEnded as end:
            closed = SocketClosed(
                link_id=link_id, generation=generation, code=end.code, reason=end.reason
            )
            _end(entry, dispatch, closed)
            return
        action = frame_received(link_id, generation, frame, protocol=protocol)
        if type(action) is not MessageReceived or type(action.message) is not HeartbeatAck:
            entry.heard()
        if entry.removed:
            return
        dispatch(action)


async def _write(entry: SocketEntry, connection: Connection, dispatch: Dispatch) -> None:
    v2 = entry.socket.protocol is Protocol.V2
    async for message in entry.outbox:
        entry.in_flight = message
        try:
            text = encode_mux(message) if v2 else encode(message)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            logger.exception("cannot encode a %s frame; it is dropped", type(message).__name__)
            entry.written()
            continue
        try:
            await connection.send(text)
        except ConnectionEnded as end:
            # The removal this causes reports the in-flight and queued frames as SendFailed.
            closed = SocketClosed(
                link_id=entry.socket.link_id,
                generation=entry.socket.generation,
                code=end.code,
                reason=f"write failed: {end.reason}",
            )
            _end(entry, dispatch, closed)
            return
        entry.written()


async def _watch_quiet(entry: SocketEntry, dispatch: Dispatch) -> None:
    """Report `SocketWentQuiet` once per quiet spell (the reducer decides what it means)."""
    socket = entry.socket
    quiet_after = socket.quiet_after_ms / 1000
    while True:
        await trio.sleep_until(entry.last_news + quiet_after)
        if trio.current_time() < entry.last_news + quiet_after:
            continue  # news arrived meanwhile: wait from it
        if entry.removed:
            return
        news = entry.news = trio.Event()
        dispatch(
            SocketWentQuiet(
                link_id=socket.link_id,
                generation=socket.generation,
                quiet_ms=socket.quiet_after_ms,
            )
        )
        await news.wait()


async def _url(socket: Socket, resolve_url: ResolveUrl) -> str:
    try:
        return await resolve_url(socket)
    except ConnectFailed:
        raise
    except Exception as error:  # the user token could not be had: this dial failed
        problem = redact_secrets(f"{type(error).__name__}: {error}")
        raise ConnectFailed(f"no user token: {problem}") from None


async def _connect_and_pump(
    entry: SocketEntry,
    transport: Transport,
    dispatch: Dispatch,
    dials: trio.CapacityLimiter,
    resolve_url: ResolveUrl,
) -> None:
    socket = entry.socket
    try:
        async with AsyncExitStack() as stack:
            async with dials:  # a bounded number of handshakes at once
                entry.dialling.set()
                url = await _url(socket, resolve_url)
                if entry.removed:
                    return
                connection = await stack.enter_async_context(transport.connect(url))
            if entry.removed:
                return
            dispatch(SocketOpened(link_id=socket.link_id, generation=socket.generation))
            entry.heard()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_write, entry, connection, dispatch)
                nursery.start_soon(_watch_quiet, entry, dispatch)
                await _pump(entry, connection, dispatch)
                nursery.cancel_scope.cancel()
    except ConnectFailed as error:
        failed = SocketFailed(
            link_id=socket.link_id,
            generation=socket.generation,
            error=redact_secrets(str(error)),  # it may quote the URL, a v2 one has the token
            retryable=error.retryable,
        )
        _end(entry, dispatch, failed)
    except ConnectionEnded as end:
        closed = SocketClosed(
            link_id=socket.link_id,
            generation=socket.generation,
            code=end.code,
            reason=end.reason,
        )
        _end(entry, dispatch, closed)


async def run_socket(
    entry: SocketEntry,
    transport: Transport,
    dispatch: Dispatch,
    dials: trio.CapacityLimiter,
    resolve_url: ResolveUrl,
) -> None:
    """The task of one socket resource; returns when it ended or was removed.

    `dispatch` must be synchronous and must not raise. `dials` bounds the handshakes
    in flight (the runtime's one limiter); `resolve_url` gives the URL to dial.
    """
    socket = entry.socket
    try:
        with entry.scope:
            await _connect_and_pump(entry, transport, dispatch, dials, resolve_url)
    except* Exception:
        logger.exception(
            "socket %s/%d: the transport broke its contract", socket.link_id, socket.generation
        )
        failed = SocketFailed(
            link_id=socket.link_id,
            generation=socket.generation,
            error="transport error (see log)",
        )
        _end(entry, dispatch, failed)
    if not entry.removed and not entry.ended:  # safety net: the store must hear the end
        closed = SocketClosed(
            link_id=socket.link_id, generation=socket.generation, reason="task ended"
        )
        _end(entry, dispatch, closed)
