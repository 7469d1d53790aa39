"""The real transport: trio-websocket, with its failure modes mapped to our taxonomy.

Owns: `WebSocketTransport`, which opens the TCP (or TLS) stream itself, runs the
WebSocket handshake with `trio_websocket.wrap_client_stream`, and translates everything
trio-websocket, wsproto and Trio may raise into `ConnectFailed` / `HandshakeRejected` /
`ConnectionEnded`. Must not know: the gateway protocol or the store.

Settings, and why:

* ``message_queue_size`` (default 4): trio-websocket stops reading the socket -- and so
  stops answering pings -- while its queue is full. The runtime's pump decodes and
  dispatches synchronously and never waits on a consumer, so the queue only has to
  cover scheduling jitter; a small queue keeps memory flat under a fast producer.
* ``max_message_size`` (default `DEFAULT_MAX_FRAME_CHARS`, 4 Mi characters): the same
  limit as the codec, measured the same way (``len`` of the text). A larger frame is
  never buffered: trio-websocket closes the socket with code 1009, which the runtime
  reports as a retryable `SocketClosed`. With a larger transport limit, a frame over the
  codec's limit reaches the codec and becomes a `BadMessageReceived` instead. Neither
  crashes anything.

Known trio-websocket problems handled here (why this is not `open_websocket_url`):

* The client's TCP stream is left open when the handshake is rejected, when the peer
  closes first, and after a 1009 (the fd leaks until garbage collection, with a
  ResourceWarning). We open the stream, so we always close it.
* The frame reader runs in the caller's nursery, so a cancelled caller cannot finish the
  close handshake: the reader is gone and ``aclose()`` waits for a close frame nobody
  reads. Ours runs in a scope shielded from the caller's cancellation until the close
  is done (bounded by ``close_timeout``), so a removed socket still closes with 1000.
  trio-websocket is given a stand-in for a nursery whose ``start_soon`` starts its
  reader in our session's nursery, inside that shielded scope: the caller's body is
  never shielded, and the reader costs one task.
* After a local close the reader may answer a ping with a pong wsproto refuses
  (``LocalProtocolError``, python-trio/trio-websocket#184), and sends can raise
  `ConnectionClosed`, `trio.ClosedResourceError` or `trio.BrokenResourceError`. Sends
  and receives map these to `ConnectionEnded`; a crashed reader cuts a pending close
  short and makes leaving the block raise `ConnectionEnded(1006)`.
"""

from __future__ import annotations

import os
import socket
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import cast

import attrs
import trio
import trio_websocket
import wsproto.utilities

from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS
from gatewayops.transport._interface import (
    ABNORMAL_CLOSURE,
    NORMAL_CLOSURE,
    ConnectFailed,
    Connection,
    ConnectionEnded,
    HandshakeRejected,
    TransportError,
)

__all__ = ["WebSocketTransport"]

_CLOSED_ERRORS = (
    trio_websocket.ConnectionClosed,
    trio.ClosedResourceError,
    trio.BrokenResourceError,
    wsproto.utilities.LocalProtocolError,
)
"""What trio-websocket raises when a connection is (or is becoming) unusable."""

_Stream = trio.SocketStream | trio.SSLStream[trio.SocketStream]


def _first_reason(error: BaseException) -> str:
    """The first underlying failure in plain words (Trio groups one per address tried):
    "Connection refused", "Name or service not known", not the errno and the address."""
    cause: BaseException = error.__cause__ or error
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    if isinstance(cause, socket.gaierror) and cause.strerror:
        return cause.strerror
    if isinstance(cause, OSError) and not isinstance(cause, ssl.SSLError) and cause.errno:
        return os.strerror(cause.errno)
    return str(cause) or type(cause).__name__


@attrs.frozen(kw_only=True)
class _Target:
    host: str
    port: int
    resource: str
    host_header: str
    tls: bool


def _target(url: str) -> _Target:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConnectFailed(f"cannot dial {url!r}: expected a ws:// or wss:// URL", fatal=True)
    tls = parts.scheme == "wss"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError as error:
        raise ConnectFailed(f"cannot dial {url!r}: {error}", fatal=True) from None
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    header = shown if port == (443 if tls else 80) else f"{shown}:{port}"
    return _Target(host=host, port=port, resource=resource, host_header=header, tls=tls)


class _Reader:
    """Runs trio-websocket's reader task shielded from the caller's cancellation.

    trio-websocket starts its reader with ``nursery.start_soon`` (the only use it makes
    of the nursery it is given), and this stands in for that nursery: `start_soon`
    starts the reader in the session's nursery inside `scope`, which is shielded, so a
    cancelled caller can still finish the close handshake. The reader runs until it ends
    by itself or `scope` is cancelled on the way out of the session. One task per
    connection, not a host task with a nursery of its own as well.
    """

    def __init__(self, nursery: trio.Nursery) -> None:
        self.scope = trio.CancelScope(shield=True)
        self.done = False
        self._nursery = nursery
        self._watchers: list[trio.CancelScope] = []

    def start_soon(self, async_fn: Callable[[], Awaitable[object]]) -> None:
        """Start trio-websocket's reader (`async_fn`) in the session's nursery."""
        self._nursery.start_soon(self._run, async_fn)

    async def _run(self, async_fn: Callable[[], Awaitable[object]]) -> None:
        try:
            with self.scope:
                await async_fn()
        finally:
            self.done = True
            for scope in self._watchers:
                scope.cancel()

    def watch(self, scope: trio.CancelScope) -> None:
        """Cancel `scope` as soon as the reader has ended."""
        if self.done:
            scope.cancel()
        self._watchers.append(scope)


def _ended(ws: trio_websocket.WebSocketConnection, error: BaseException) -> ConnectionEnded:
    closed = ws.closed
    if closed is None:
        return ConnectionEnded(ABNORMAL_CLOSURE, f"connection lost: {error!r}")
    return ConnectionEnded(closed.code, closed.reason or "")


class _WebSocketConnection:
    """A `Connection` over one trio-websocket client connection."""

    def __init__(
        self, ws: trio_websocket.WebSocketConnection, url: str, reader: _Reader, timeout: float
    ) -> None:
        self._ws = ws
        self._url = url
        self._reader = reader
        self._close_timeout = timeout

    @property
    def url(self) -> str:
        """The URL this connection was dialled with."""
        return self._url

    async def send(self, text: str) -> None:
        """Write one text frame; `ConnectionEnded` if the connection is unusable."""
        try:
            await self._ws.send_message(text)
        except _CLOSED_ERRORS as error:
            raise _ended(self._ws, error) from None

    async def receive(self) -> str | bytes:
        """The next frame; `ConnectionEnded` once the connection is over."""
        try:
            return await self._ws.get_message()
        except _CLOSED_ERRORS as error:
            raise _ended(self._ws, error) from None

    async def aclose(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close gracefully: shielded, bounded, and cut short if the reader died."""
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._close_timeout
            self._reader.watch(scope)
            with suppress(Exception):  # a close that fails is still a close
                await self._ws.aclose(code, reason or None)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found


def _unwrap(
    group: BaseExceptionGroup[BaseException], body_error: BaseException | None, opened: bool
) -> BaseException:
    """The one exception to raise for what the session's nursery raised."""
    leaves = _leaves(group)
    if body_error is not None and any(error is body_error for error in leaves):
        return body_error
    failures = [error for error in leaves if not isinstance(error, trio.Cancelled)]
    if not failures:
        # Only cancellation: the scopes that asked for it will catch it. The block's own
        # exception when there is one, so the caller's `async with` sees what it threw in
        # and no new group (whose traceback would hold the caller's frame) goes up.
        return group if body_error is None else body_error
    first = failures[0]
    if isinstance(first, TransportError):
        return first
    if isinstance(first, trio_websocket.ConnectionRejected):
        body = (first.body or b"")[:200].decode("utf-8", "replace")
        return HandshakeRejected(first.status_code, body)
    if not opened:
        return ConnectFailed(f"websocket handshake failed: {first!r}")
    return ConnectionEnded(ABNORMAL_CLOSURE, f"websocket failed: {first!r}")


class WebSocketTransport:
    """Dials ``ws://`` and ``wss://`` URLs with trio-websocket.

    Args:
        message_queue_size: frames trio-websocket buffers before it stops reading.
        max_message_size: longest frame accepted (characters); longer closes with 1009.
        connect_timeout: seconds for TCP connect, TLS and the opening handshake.
        close_timeout: seconds to wait for the peer's close frame when closing.
        ssl_context: TLS settings for ``wss://`` (default: the system's defaults).
    """

    def __init__(
        self,
        *,
        message_queue_size: int = 4,
        max_message_size: int = DEFAULT_MAX_FRAME_CHARS,
        connect_timeout: float = 30.0,
        close_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._message_queue_size = message_queue_size
        self._max_message_size = max_message_size
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        self._ssl_context = ssl_context

    async def _open_stream(self, target: _Target) -> _Stream:
        try:
            if not target.tls:
                return await trio.open_tcp_stream(target.host, target.port)
            context = self._ssl_context or ssl.create_default_context()
            stream = await trio.open_ssl_over_tcp_stream(
                target.host, target.port, ssl_context=context, https_compatible=True
            )
            try:
                await stream.do_handshake()
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
            return stream
        except (OSError, trio.BrokenResourceError) as error:
            reason = _first_reason(error)
            raise ConnectFailed(
                f"cannot connect to {target.host}:{target.port}: {reason}"
            ) from None

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Open a WebSocket to `url` for the duration of the block (see `Transport`).

        Raises:
            ConnectFailed: on entry, when no connection could be made.
            ConnectionEnded: on exit, when the connection failed in the background.
        """
        target = _target(url)
        with trio.move_on_after(self._connect_timeout) as dial:
            stream = await self._open_stream(target)
        if dial.cancelled_caught:
            raise ConnectFailed(f"cannot connect to {target.host}:{target.port}: timed out")
        try:
            async with self._session(stream, target, url, dial.deadline) as connection:
                yield connection
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)

    @asynccontextmanager
    async def _session(
        self, stream: _Stream, target: _Target, url: str, deadline: float
    ) -> AsyncIterator[Connection]:
        opened = False
        body_error: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                reader = _Reader(nursery)
                try:
                    with trio.move_on_at(deadline) as handshake:
                        ws = await trio_websocket.wrap_client_stream(
                            cast(trio.Nursery, reader),  # it only calls `start_soon`
                            stream,
                            target.host_header,
                            target.resource,
                            message_queue_size=self._message_queue_size,
                            max_message_size=self._max_message_size,
                        )
                    if handshake.cancelled_caught:
                        raise ConnectFailed("websocket handshake timed out")
                    opened = True
                    connection = _WebSocketConnection(ws, url, reader, self._close_timeout)
                    try:
                        yield connection
                    except BaseException as error:
                        body_error = error
                        raise
                    finally:
                        await connection.aclose()
                finally:
                    reader.scope.cancel()
        except BaseExceptionGroup as group:
            raised = _unwrap(group, body_error, opened)
            context = raised.__context__
            try:
                raise raised from None
            finally:
                # No reference cycle left behind (each would keep every frame of the
                # cancelled stack alive until a full collection): the error must not get
                # the group it replaces as its context, and this frame, which its traceback
                # holds, must not hold it.
                raised.__context__ = context
                del raised, context, body_error
