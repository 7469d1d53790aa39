"""`open_gateway`: a reference gateway's whole life as an ``async with`` block.

Owns: checking the bind address (loopback unless told otherwise) and the limits, wiring
one gateway together (its clock, operation registry with the message keeper, token
authority, protocol v2 endpoint, fault switches and server), listening, and cleaning up
on the way out (every socket dropped, every run cancelled). Must not know: what the
control API (`Gateway`) does with the parts, or the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from gatewayops._secrets import get_logger
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._gateway import Gateway
from gatewayops.gateway._kept_messages import MessageKeeper
from gatewayops.gateway._limits import (
    DEFAULT_AUTH_TIMEOUT,
    DEFAULT_EXPIRED_AUTH_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_OUTBOX_CHARS,
    DEFAULT_MAX_OUTBOX_FRAMES,
    GatewayLimits,
    check_loopback,
)
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._server import GatewayServer
from gatewayops.gateway._tokens import GatewayClock, TokenAuthority
from gatewayops.gateway._v2_socket import MuxEndpoint
from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS

__all__ = ["open_gateway"]

_log = get_logger("gatewayops.gateway")


@asynccontextmanager
async def open_gateway(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    epoch: float | None = None,
    max_frame_chars: int = DEFAULT_MAX_FRAME_CHARS,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    expired_auth_timeout: float = DEFAULT_EXPIRED_AUTH_TIMEOUT,
    max_outbox_frames: int = DEFAULT_MAX_OUTBOX_FRAMES,
    max_outbox_chars: int = DEFAULT_MAX_OUTBOX_CHARS,
    allow_remote: bool = False,
) -> AsyncIterator[Gateway]:
    """Serve a reference gateway for the duration of the ``async with`` block.

    On exit every run is cancelled and every socket is dropped (`Gateway.go_away` closes
    them with 1001 first). Each limit that closes a socket does so with code 1008, logs
    one line and is counted in `Gateway.statistics`.

    Args:
        host: a loopback address to bind (``127.0.0.1``, ``::1`` or ``localhost``).
        port: the port; ``0`` picks a free one (read it from `Gateway.url`).
        epoch: what the gateway clock reads at start (epoch seconds); the wall clock if
            ``None``. Event timestamps and token lifetimes follow Trio's clock from there.
        max_frame_chars: client frames longer than this are refused.
        handshake_timeout: seconds a client has to send its upgrade request.
        auth_timeout: seconds an upgraded socket has to send an `auth` frame.
        expired_auth_timeout: seconds a socket told `auth_expired` has to authenticate
            again (counted from the first `auth_expired`).
        max_outbox_frames: frames a socket may have queued but not yet written.
        max_outbox_chars: characters a socket may have queued but not yet written.
        allow_remote: permit a non-loopback `host`.

    Raises:
        ValueError: `host` is not a loopback address and `allow_remote` is false, or a
            timeout or size is not positive (the error names it).
    """
    check_loopback(host, allow_remote)
    limits = GatewayLimits(
        max_frame_chars=max_frame_chars,
        handshake_timeout=handshake_timeout,
        auth_timeout=auth_timeout,
        expired_auth_timeout=expired_auth_timeout,
        max_outbox_frames=max_outbox_frames,
        max_outbox_chars=max_outbox_chars,
    )
    clock = GatewayClock(epoch)
    registry = OperationRegistry(clock)
    registry.watchers.append(MessageKeeper())
    tokens = TokenAuthority(clock)
    mux = MuxEndpoint(registry=registry, clock=clock, limits=limits)
    faults = Faults(registry, tokens, mux.faults)
    server = GatewayServer(registry=registry, tokens=tokens, faults=faults, limits=limits, mux=mux)
    listeners = await trio.open_tcp_listeners(port, host=host)
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server.handle_stream, listeners)
        bound_host, bound_port = listeners[0].socket.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        gateway = Gateway(url=f"ws://{shown}:{bound_port}", nursery=nursery, server=server)
        _log.info("reference gateway listening on %s", gateway.url)
        try:
            yield gateway
        finally:
            server.drop_all()
            nursery.cancel_scope.cancel()
