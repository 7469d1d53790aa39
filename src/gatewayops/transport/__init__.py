"""Transports: how the runtime reaches a gateway (DESIGN.md section 4).

A `Transport` opens `Connection`s that carry text frames; failures are sorted into a
small taxonomy (`ConnectFailed` with `retryable`, `HandshakeRejected`,
`ConnectionEnded`). `WebSocketTransport` is the real one (trio-websocket);
`MemoryTransport` plays the server side in tests, with no I/O.
"""

from gatewayops.transport._interface import (
    ConnectFailed,
    Connection,
    ConnectionEnded,
    HandshakeRejected,
    Transport,
    TransportError,
    is_retryable_status,
)
from gatewayops.transport._memory import CloseInfo, MemoryTransport, ServerConnection
from gatewayops.transport._websocket import WebSocketTransport

__all__ = [
    "CloseInfo",
    "ConnectFailed",
    "Connection",
    "ConnectionEnded",
    "HandshakeRejected",
    "MemoryTransport",
    "ServerConnection",
    "Transport",
    "TransportError",
    "WebSocketTransport",
    "is_retryable_status",
]
