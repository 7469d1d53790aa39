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

from gatewayops.exceptions import GatewayOpsError

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


def is_retryable_status(status_code: int) -> bool:
    """Whether a handshake rejected with this HTTP status may succeed if tried again.

    Client errors (4xx) are fatal -- the same request will be refused again -- except
    408 (request timeout) and 429 (too many requests), which say "later". Everything
    else (5xx, odd codes) is retryable.
    """
    return not (400 <= status_code < 500) or status_code in (408, 429)


class TransportError(GatewayOpsError):
    """Base class of the errors a transport raises."""

    @property
    def retryable(self) -> bool:
        """Whether a new attempt may succeed."""
        return True


class ConnectFailed(TransportError):
    """No connection was established.

    Attributes:
        fatal: True when retrying can never help (see the module docstring).
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal

    @property
    def retryable(self) -> bool:
        """Whether a new attempt may succeed."""
        return not self.fatal


class HandshakeRejected(ConnectFailed):
    """The server answered the upgrade request with an HTTP status other than 101.

    Attributes:
        status_code: the HTTP status of the answer.
    """

    def __init__(self, status_code: int, message: str = "") -> None:
        text = f"handshake rejected with HTTP {status_code}"
        super().__init__(
            f"{text}: {message}" if message else text,
            fatal=not is_retryable_status(status_code),
        )
        self.status_code = status_code


class ConnectionEnded(TransportError):
    """An open connection is over; raised by `receive` (after pending frames) and `send`.

    Attributes:
        code: the close code, or None when the connection ended without one.
        reason: the close reason (may be empty).
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"connection ended (code {code}, {reason!r})")
        self.code = code
        self.reason = reason


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
