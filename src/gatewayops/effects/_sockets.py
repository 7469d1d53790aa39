"""One socket resource, carried out: connect, pump frames in, write frames out.

Owns: `SocketEntry` (the runtime's handle on one `Socket` resource: its cancel scope,
its ordered outbox, the frame being written, whether it was removed, whether its dial
began) and `run_socket`, the task body. A dial waits for a slot of the runtime's
`dials` limiter, so only so many handshakes are in flight at once (thousands of starts
do not all handshake together); the slot is held until the transport's connect
returns, and `dial_begins` runs when the dial takes it (the connect watchdog counts
from then, not from when the dial was queued). The pump decodes every frame and
dispatches `MessageReceived` or `BadMessageReceived` synchronously, so it never waits on
a consumer. A writer task in the same scope writes the outbox in order; it is started
when a frame is queued and ends when the outbox is empty, so an idle socket holds no
writer. The quiet check is an alarm of the runtime's `Alarms`: it reports
`SocketWentQuiet` when `quiet_after_ms` passes with no frame but heartbeat acks (once,
until the next frame); a frame only records the time, and the alarm sets itself again
from the last frame's. Each socket reports exactly one ending (`SocketFailed` if
it never opened, `SocketClosed` otherwise) unless it was removed first, in which case it
reports nothing more. A v2 socket's URL is the gateway's base URL: `resolve_url` turns
it into the socket URL right before the dial (awaiting the user token; a failure to get
one is the dial's failure, `SocketFailed`, retryable), and its frames are read and
written with the v2 codec; a dial error that quotes the URL has the token redacted.
Must not know: what frames mean, the store's state, or which transport it is given.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial

import trio

from gatewayops._secrets import get_logger, redact_secrets
from gatewayops.effects._alarms import Alarm, Alarms
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
        "_start_writer",
        "dialled",
        "ended",
        "in_flight",
        "last_news",
        "on_dial",
        "quiet_check",
        "removed",
        "scope",
        "socket",
        "writing",
    )

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.scope = trio.CancelScope()
        self._outbox: deque[Frame] = deque()
        self.in_flight: Frame | None = None
        self._flushed: trio.Event | None = None
        self._start_writer: Callable[[], None] | None = None
        """Starts a writer task; set while the socket is open and writable."""
        self.writing = False
        self.removed = False
        self.ended = False
        self.dialled = False
        """Whether the dial got its slot and began (the connect watchdog counts from it)."""
        self.on_dial: Callable[[], None] | None = None
        """Called once when the dial begins (the connect watchdog starts counting)."""
        self.last_news = 0.0
        """When the last frame other than a heartbeat ack arrived (Trio clock)."""
        self.quiet_check: Alarm | None = None
        """The alarm that checks for quiet, while the socket is open and not reported
        quiet (None before the first check and after `SocketWentQuiet`)."""

    def dial_begins(self) -> None:
        """The dial got its slot: from now on the connect watchdog counts."""
        self.dialled = True
        if self.on_dial is not None:
            on_dial, self.on_dial = self.on_dial, None
            on_dial()

    def heard(self) -> bool:
        """A frame other than a heartbeat ack arrived; whether no quiet check is set (the
        socket just opened, or was reported quiet): the caller sets one."""
        self.last_news = trio.current_time()
        return self.quiet_check is None

    def enqueue(self, message: Frame) -> None:
        """Queue a frame for the writer (never blocks)."""
        self._outbox.append(message)
        self._write_soon()

    def writable(self, start_writer: Callable[[], None] | None) -> None:
        """The socket opened (`start_writer` starts a writer task) or can no longer be
        written (None: what is queued stays for `remove` to report)."""
        self._start_writer = start_writer
        self._write_soon()

    def _write_soon(self) -> None:
        """Start a writer if frames wait, none runs, and the socket is writable."""
        if self._outbox and not self.writing and self._start_writer is not None:
            self.writing = True
            self._start_writer()

    def next_frame(self) -> Frame | None:
        """The frame the writer writes next (now in flight), or None: the writer ends
        (and clears `writing` as it does)."""
        if not self._outbox or self._start_writer is None:
            return None
        self.in_flight = self._outbox.popleft()
        return self.in_flight

    @property
    def is_flushed(self) -> bool:
        """Whether every frame queued so far was written."""
        return self.in_flight is None and not self._outbox

    async def flushed(self) -> None:
        """Wait until every frame queued so far was written, or the socket was removed."""
        while not self.is_flushed and not self.removed:
            if self._flushed is None:
                self._flushed = trio.Event()
            await self._flushed.wait()

    def written(self) -> None:
        """The writer is done with a frame (wakes `flushed` once nothing is pending)."""
        self.in_flight = None
        if self._flushed is not None and self.is_flushed:
            self._flushed.set()
            self._flushed = None

    def remove(self) -> list[Frame]:
        """Mark removed, cancel the task, and return the frames that were not written."""
        self.removed = True
        self._start_writer = None
        self.scope.cancel()
        if self._flushed is not None:
            self._flushed.set()
        unsent = [] if self.in_flight is None else [self.in_flight]
        self.in_flight = None
        unsent.extend(self._outbox)
        self._outbox.clear()
        return unsent


def _end(entry: SocketEntry, dispatch: Dispatch, action: SocketClosed | SocketFailed) -> None:
    """Report the socket's one ending, unless it was removed or already ended."""
    if entry.removed or entry.ended:
        return
    entry.ended = True
    dispatch(action)


async def _pump(
    entry: SocketEntry, connection: Connection, dispatch: Dispatch, alarms: Alarms
) -> None:
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
        news = type(action) is not MessageReceived or type(action.message) is not HeartbeatAck
        if news and entry.heard():  # it was reported quiet: watch for the next quiet spell
            _check_quiet_later(entry, alarms, dispatch)
        if entry.removed:
            return
        dispatch(action)


async def _write(entry: SocketEntry, connection: Connection, dispatch: Dispatch) -> None:
    """Write the outbox in order until it is empty (`enqueue` starts another later)."""
    v2 = entry.socket.protocol is Protocol.V2
    try:
        while (message := entry.next_frame()) is not None:
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
                entry.writable(None)
                closed = SocketClosed(
                    link_id=entry.socket.link_id,
                    generation=entry.socket.generation,
                    code=end.code,
                    reason=f"write failed: {end.reason}",
                )
                _end(entry, dispatch, closed)
                return
            entry.written()
    finally:
        entry.writing = False


def _check_quiet_later(entry: SocketEntry, alarms: Alarms, dispatch: Dispatch) -> None:
    """Check for quiet `quiet_after_ms` after the last frame; report `SocketWentQuiet`
    once per quiet spell (the reducer decides what it means)."""
    socket = entry.socket
    quiet_after = socket.quiet_after_ms / 1000

    def check() -> None:
        if entry.removed:
            return
        if trio.current_time() < entry.last_news + quiet_after:  # news meanwhile: wait from it
            _check_quiet_later(entry, alarms, dispatch)
            return
        entry.quiet_check = None  # reported quiet: the next frame sets a new check
        dispatch(
            SocketWentQuiet(
                link_id=socket.link_id,
                generation=socket.generation,
                quiet_ms=socket.quiet_after_ms,
            )
        )

    entry.quiet_check = alarms.at(entry.last_news + quiet_after, check)


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
    alarms: Alarms,
) -> None:
    socket = entry.socket
    try:
        async with AsyncExitStack() as stack:
            async with dials:  # a bounded number of handshakes at once
                entry.dial_begins()
                url = await _url(socket, resolve_url)
                if entry.removed:
                    return
                connection = await stack.enter_async_context(transport.connect(url))
            if entry.removed:
                return
            dispatch(SocketOpened(link_id=socket.link_id, generation=socket.generation))
            entry.heard()
            _check_quiet_later(entry, alarms, dispatch)
            try:
                async with trio.open_nursery() as writers:
                    entry.writable(partial(writers.start_soon, _write, entry, connection, dispatch))
                    try:
                        await _pump(entry, connection, dispatch, alarms)
                    finally:
                        entry.writable(None)  # what is queued from now on stays for `remove`
                    writers.cancel_scope.cancel()
            finally:
                if entry.quiet_check is not None:
                    alarms.cancel(entry.quiet_check)
                    entry.quiet_check = None
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
    alarms: Alarms,
) -> None:
    """The task of one socket resource; returns when it ended or was removed.

    `dispatch` must be synchronous and must not raise. `dials` bounds the handshakes
    in flight (the runtime's one limiter); `resolve_url` gives the URL to dial.
    """
    socket = entry.socket
    try:
        with entry.scope:
            await _connect_and_pump(entry, transport, dispatch, dials, resolve_url, alarms)
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
