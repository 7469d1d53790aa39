"""The accepting side of the reference gateway: one handler per TCP connection.

Owns: `GatewayServer.handle_stream` (the `trio.serve_listeners` handler), the handshake
(only ``/ws?operationId=<id>`` and v2's ``/v2/ws?token=<jwt>&clientId=<id>`` are
accepted: another path is rejected with HTTP 404, a missing `operationId` or `clientId`
with 400, while v2's token is judged after the upgrade; the upgrade must arrive within
`handshake_timeout`, and a client that hangs up before finishing it is let go at once
rather than at the timeout), black-holed connections, and the connection and task
counters behind `GatewayStatistics` (`tasks_under`). Each accepted v1 socket's
conversation is a `GatewaySocket`, each v2 one's is served by the `MuxEndpoint`.

`go_away` closes every open socket with 1001 and waits until they are gone (a server
shutting down). For that to work while the gateway is being cancelled, each connection
runs in a shielded cancel scope of its own, which only `drop_all` cancels (and which is
cancelled at once for a connection accepted after it): the gateway's owner calls it
last, so no connection outlives the gateway. One log line per accepted socket, per
rejected handshake, and per socket closed (with the code the client sent or got).

Every task a connection starts lives in that connection's handler and ends with it, so
when a connection is gone the gateway holds nothing for it: no task, no registry entry,
no subscription.

Must not know: how runs are scripted, or how the control API is shaped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import attrs
import trio
from trio_websocket import WebSocketConnection, wrap_server_stream

from gatewayops._secrets import get_logger
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._limits import GatewayLimits
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._socket import GatewaySocket, SocketContext
from gatewayops.gateway._tokens import TokenAuthority
from gatewayops.gateway._v2_socket import MuxEndpoint, MuxTarget
from gatewayops.protocol import MUX_PATH

__all__ = ["GatewayServer", "tasks_under"]

_log = get_logger("gatewayops.gateway")


@attrs.frozen(kw_only=True)
class _Rejection:
    status: int
    body: bytes


def _operation_from_target(target: str) -> str | MuxTarget | _Rejection:
    parts = urlsplit(target)
    if parts.path == MUX_PATH:
        query = parse_qs(parts.query)
        client_id = query.get("clientId", [""])[0]
        if not client_id:
            return _Rejection(status=400, body=b"bad request: clientId is required")
        return MuxTarget(token=query.get("token", [""])[0], client_id=client_id)
    if parts.path != "/ws":
        return _Rejection(status=404, body=b"not found: the v1 endpoint is /ws")
    values = parse_qs(parts.query).get("operationId", [])
    if not values or not values[0]:
        return _Rejection(status=400, body=b"bad request: operationId is required")
    return values[0]


class _HangUpWatch(trio.abc.Stream):
    """The TCP stream as trio-websocket sees it; calls `on_hang_up` when the peer goes.

    trio-websocket waits for the upgrade request until it arrives, even after the peer
    has closed the connection; this is how the handshake learns that it never will.

    Attributes:
        hung_up: whether the peer closed or reset the connection.
    """

    def __init__(self, stream: trio.SocketStream, on_hang_up: Callable[[], object]) -> None:
        self._stream = stream
        self._on_hang_up = on_hang_up
        self.hung_up = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        try:
            data = await self._stream.receive_some(max_bytes)
        except trio.BrokenResourceError:
            self._hang_up()
            raise
        if not data:
            self._hang_up()
        return data

    def _hang_up(self) -> None:
        self.hung_up = True
        self._on_hang_up()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._stream.aclose()


class GatewayServer:
    """Accepts TCP connections and runs the v1 conversation on each.

    Args:
        registry: operations and sockets.
        tokens: verifies `auth` tokens.
        faults: connection-level fault switches.
        limits: the bounds every connection is held to.
        mux: serves the accepted v2 sockets.

    Attributes:
        registry: the `registry` argument.
        tokens: the `tokens` argument.
        faults: the `faults` argument.
        accepted: handshakes completed since start.
        rejected: handshakes rejected since start.
        held: black-holed connections held now.
        handshaking: connections whose upgrade is under way now.
        closed_by: how many sockets each limit closed since start (by `CloseCause`).
    """

    def __init__(
        self,
        *,
        registry: OperationRegistry,
        tokens: TokenAuthority,
        faults: Faults,
        limits: GatewayLimits,
        mux: MuxEndpoint,
    ) -> None:
        self.registry = registry
        self.mux = mux
        self.tokens = tokens
        self.faults = faults
        self._limits = limits
        self._context = SocketContext(
            registry=registry, tokens=tokens, faults=faults, limits=limits
        )
        self.closed_by = self._context.closed_by
        self._names = itertools.count(1)
        self.accepted = 0
        self.rejected = 0
        self.held = 0
        self.handshaking = 0
        self._connections: set[trio.CancelScope] = set()
        self._dropped = False

    async def handle_stream(self, stream: trio.SocketStream) -> None:
        """Serve one TCP connection (the `trio.serve_listeners` handler); never raises."""
        scope = trio.CancelScope(shield=True)  # ended by `drop_all`, not by the listener
        if self._dropped:
            scope.cancel()
        self._connections.add(scope)
        try:
            with scope:
                if self.faults.take_blackhole():
                    await self._hold(stream)
                else:
                    await self._serve(stream)
        except Exception:
            _log.exception("connection handler failed")
        finally:
            self._connections.discard(scope)
            await trio.aclose_forcefully(stream)

    def drop_all(self) -> None:
        """End every connection now, and each one accepted from now on (no close frame)."""
        self._dropped = True
        for scope in self._connections:
            scope.cancel()

    async def _hold(self, stream: trio.SocketStream) -> None:
        _log.info("fault: black-holing a handshake")
        self.held += 1
        self.registry.notify()
        try:
            while await stream.receive_some():
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.held -= 1
            self.registry.notify()

    async def _serve(self, stream: trio.SocketStream) -> None:
        async with trio.open_nursery() as nursery:
            try:
                accepted = await self._handshake(nursery, stream)
                if accepted is not None:
                    ws, target = accepted
                    if isinstance(target, MuxTarget):
                        await self.mux.converse(ws, target)
                    else:
                        await self._converse(ws, target)
            finally:
                nursery.cancel_scope.cancel()

    async def _handshake(
        self, nursery: trio.Nursery, stream: trio.SocketStream
    ) -> tuple[WebSocketConnection, str | MuxTarget] | None:
        self.handshaking += 1
        self.registry.notify()
        try:
            with trio.move_on_after(self._limits.handshake_timeout) as scope:
                watched = _HangUpWatch(stream, on_hang_up=scope.cancel)
                request = await wrap_server_stream(
                    nursery, watched, max_message_size=self._limits.max_frame_chars
                )
                target = _operation_from_target(request.path)
                if isinstance(target, MuxTarget) and self.mux.faults.take_missing_endpoint():
                    target = _Rejection(status=404, body=b"not found: no v2 on this worker")
                if isinstance(target, _Rejection):
                    self.rejected += 1
                    _log.info(
                        "rejected a handshake for %r with HTTP %d", request.path, target.status
                    )
                    await request.reject(target.status, body=target.body)
                    return None
                return await request.accept(), target
            if watched.hung_up:
                _log.debug("a client hung up before finishing its handshake")
            else:
                _log.info("a client did not finish its handshake in time")
            return None
        finally:
            self.handshaking -= 1
            self.registry.notify()

    async def _converse(self, ws: WebSocketConnection, operation_id: str) -> None:
        self.accepted += 1
        socket = GatewaySocket(
            name=f"socket-{next(self._names)}",
            operation_id=operation_id,
            ws=ws,
            context=self._context,
        )
        _log.info("%s: connected for %s", socket.name, operation_id)
        self.registry.add_peer(socket)
        try:
            await socket.run()
        finally:
            self.registry.remove_peer(socket)
            code = ws.closed.code if ws.closed is not None else None
            _log.info("%s: disconnected (code %s)", socket.name, code)

    async def go_away(self) -> None:
        """Close every open socket (v1's and v2's) with 1001 (going away) and wait until
        all are gone."""
        for peer in self.registry.peers():
            peer.go_away()
        for mux_peer in self.mux.hub.peers():
            mux_peer.go_away()
        while self.registry.peers() or self.mux.hub.peers():
            await self.registry.wait_changed()


def tasks_under(nursery: trio.Nursery) -> int:
    """How many tasks run under `nursery`, however deeply nested."""
    return sum(
        1 + sum(tasks_under(child) for child in task.child_nurseries)
        for task in nursery.child_tasks
    )
