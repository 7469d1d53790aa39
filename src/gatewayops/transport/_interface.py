"""The transport interface the runtime talks to, and its error taxonomy.

Owns: the two small protocols (`Transport.connect(url)` opens one connection as an async
context manager; a `Connection` sends and receives text frames and closes), and the
errors a transport may raise, with the one distinction the reducer needs: may a new
attempt ever succeed (`retryable`)? Must not know: the gateway protocol, the store, or
any particular WebSocket library.

Taxonomy (PROTOCOL.md 2.3 and 12.4):

* `ConnectFailed` -- no connection was made. Retryable: refused, timeout, DNS failure,
  socket reset, handshake rejected with HTTP 5xx, 408 or 429. Fatal: the handshake was
  rejected with any other 4xx (a 404 path, a 400 request) or the URL cannot be dialled
  at all; the operation then ends as `Result.REJECTED`.
* `HandshakeRejected` -- the `ConnectFailed` for an HTTP answer other than 101.
* `ConnectionEnded` -- an open connection is over (a close frame, an abnormal close, a
  failed write). Always retryable: the reducer backs off and redials.

Why `connect` is an async context manager rather than a coroutine: a real WebSocket
needs a background task (the frame reader) that must live exactly as long as the
connection; Trio ties task lifetimes to a nursery, and a context manager is how a
library scopes one (as `trio_websocket.open_websocket_url` does). Leaving the context
closes the connection gracefully (code 1000) even when the caller was cancelled.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from gatewayops.exceptions import (
    ConnectFailed,
    ConnectionEnded,
    HandshakeRejected,
    TransportError,
    is_retryable_status,
)

__all__ = [
    "ConnectFailed",
    "Connection",
    "ConnectionEnded",
    "HandshakeRejected",
    "Transport",
    "TransportError",
    "is_retryable_status",
]

NORMAL_CLOSURE = 1000
ABNORMAL_CLOSURE = 1006
"""RFC 6455 code for "no close frame came" (never sent on the wire)."""


class Connection(Protocol):
    """One open, full-duplex connection carrying text frames."""

    @property
    def url(self) -> str:
        """The URL this connection was dialled with."""
        ...

    async def send(self, text: str) -> None:
        """Write one text frame.

        Raises:
            ConnectionEnded: the connection is closed or the write failed.
        """
        ...

    async def receive(self) -> str | bytes:
        """The next frame (binary frames come as bytes); blocks until one arrives.

        Raises:
            ConnectionEnded: the connection is over and every frame the peer sent
                before closing has been received.
        """
        ...

    async def aclose(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close with `code` and `reason`; idempotent, bounded in time, never raises."""
        ...


class Transport(Protocol):
    """Something that can dial a URL."""

    def connect(self, url: str) -> AbstractAsyncContextManager[Connection]:
        """Open a connection to `url` for the duration of an ``async with`` block.

        Entering raises `ConnectFailed` (or its subclass `HandshakeRejected`); leaving
        closes the connection with code 1000, also when cancelled. A connection that
        fails in the background while in use makes its `receive` raise
        `ConnectionEnded`, or leaving the block raise it.
        """
        ...
