"""The WebSocket side of the reference gateway: one handler per TCP connection.

Owns: accepting connections (`GatewayServer.handle_stream`), the handshake (only
``/ws?operationId=<id>`` is accepted: another path is rejected with HTTP 404, a missing
`operationId` with 400; a client that hangs up before finishing its upgrade is let go at
once rather than at the handshake timeout), and each socket's v1 conversation
(`_Socket`): `auth` first,
then `resume`, `heartbeat`, `tool_result` and the no-op `interrupt`. Frames go out
through a per-socket outbox drained by one writer task, so replies keep the order in
which they were decided. A frame that does not decode is logged and ignored.

Auth verdicts (PROTOCOL.md 1.3): a bad token, a token for another operation or topic,
or an unknown/forgotten operation gets `auth_failed{reason}` and the socket is closed;
a token whose only fault is its age gets `auth_expired` and the socket stays open (it
may `auth` again); otherwise `auth_success`.

Must not know: how runs are scripted, or how the control API is shaped.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import math
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationNotFound, ProtocolError
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._tokens import ExpiredToken, InvalidToken, TokenAuthority, TokenCheck
from gatewayops.protocol import (
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    Heartbeat,
    HeartbeatAck,
    Interrupt,
    Resume,
    ToolResult,
    decode_client,
    encode,
)

__all__ = ["GatewayServer"]

_log = get_logger("gatewayops.gateway")

_CLOSE_TIMEOUT = 5.0
_AUTH_FAILED_CLOSE = (1008, "auth failed")


@attrs.frozen(kw_only=True)
class _Rejection:
    status: int
    body: bytes


@attrs.frozen(kw_only=True)
class _Close:
    code: int
    reason: str


def _operation_from_target(target: str) -> str | _Rejection:
    parts = urlsplit(target)
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


class _State(enum.Enum):
    NEW = "new"
    EXPIRED = "expired"
    AUTHENTICATED = "authenticated"
    CLOSING = "closing"


class _Socket:
    """One accepted WebSocket of one operation; the registry's `Peer`."""

    def __init__(
        self, *, name: str, operation_id: str, ws: WebSocketConnection, server: GatewayServer
    ) -> None:
        self.name = name
        self._operation_id = operation_id
        self._ws = ws
        self._server = server
        self._ignore_auth = server.faults.take_ignore_auth()
        self._state = _State.NEW
        self._scope = trio.CancelScope()
        self.aborted = False
        self._outbox, self._pending = trio.open_memory_channel[str | _Close](math.inf)

    # ---------------------------------------------------------------- Peer

    @property
    def operation_id(self) -> str:
        return self._operation_id

    @property
    def authenticated(self) -> bool:
        return self._state is _State.AUTHENTICATED

    def send_frame(self, frame: str) -> None:
        if self._state is _State.CLOSING:
            return
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self._outbox.send_nowait(frame)

    def expire(self) -> None:
        if self._state is _State.AUTHENTICATED:
            self._state = _State.EXPIRED
            self._server.registry.unsubscribe(self)
            self.send_frame(encode(AuthExpired()))

    def abort(self) -> None:
        self.aborted = True
        self._scope.cancel()

    # ---------------------------------------------------------------- life

    async def run(self) -> None:
        """Serve the conversation until either side closes or `abort` is called."""
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_loop)
                await self._read_loop()
                nursery.cancel_scope.cancel()
        if not self.aborted:
            with trio.move_on_after(_CLOSE_TIMEOUT):
                await self._ws.aclose()

    async def _read_loop(self) -> None:
        while True:
            try:
                raw = await self._ws.get_message()
            except ConnectionClosed:
                return
            self._on_frame(raw)

    async def _write_loop(self) -> None:
        async with self._pending:
            async for item in self._pending:
                if isinstance(item, _Close):
                    with trio.move_on_after(_CLOSE_TIMEOUT):
                        await self._ws.aclose(item.code, item.reason)
                    self._scope.cancel()
                    return
                try:
                    await self._ws.send_message(item)
                except ConnectionClosed:
                    return

    def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self._outbox.send_nowait(_Close(code=code, reason=reason))
        self._state = _State.CLOSING
        self._server.registry.unsubscribe(self)

    def _fail(self, reason: str) -> None:
        _log.info("%s: auth_failed (%s)", self.name, reason)
        self.send_frame(encode(AuthFailed(reason=reason)))
        self._close(*_AUTH_FAILED_CLOSE)

    # ---------------------------------------------------------------- frames

    def _on_frame(self, raw: str | bytes) -> None:
        if self._state is _State.CLOSING:
            return
        try:
            message = decode_client(raw, max_frame_chars=self._server.max_frame_chars)
        except ProtocolError as error:
            _log.warning("%s: ignored a malformed frame: %s", self.name, error)
            return
        if self._state is _State.NEW and not isinstance(message, Auth):
            self._fail("expected auth as the first frame")
            return
        self._dispatch(message)

    def _dispatch(self, message: ClientMessage) -> None:
        match message:
            case Auth(token=token):
                self._on_auth(token)
            case Heartbeat():
                if self._server.faults.acks_heartbeat(self._operation_id):
                    self.send_frame(encode(HeartbeatAck()))
            case Resume(last_event_id=last_event_id, want_status=want_status):
                self._on_resume(last_event_id, want_status)
            case ToolResult():
                self._on_tool_result(message)
            case Interrupt():
                _log.info("%s: interrupt frame ignored (no-op in v1)", self.name)

    def _on_auth(self, token: str) -> None:
        if self._ignore_auth:
            _log.info("%s: auth left unanswered (fault)", self.name)
            return
        if self._state is _State.AUTHENTICATED:
            _log.info("%s: second auth on an authenticated socket ignored", self.name)
            return
        verdict = self._server.judge(self._server.tokens.check(token), self._operation_id)
        match verdict:
            case AuthFailed(reason=reason):
                self._fail(reason)
            case AuthExpired():
                _log.info("%s: auth_expired", self.name)
                self._state = _State.EXPIRED
                self.send_frame(encode(verdict))
            case AuthSuccess():
                self._state = _State.AUTHENTICATED
                self.send_frame(encode(verdict))
                self._server.registry.notify()

    def _on_resume(self, last_event_id: str, want_status: bool) -> None:
        if self._state is not _State.AUTHENTICATED:
            _log.info("%s: resume before authentication ignored", self.name)
            return
        try:
            count = self._server.registry.subscribe(self, last_event_id, want_status)
        except OperationNotFound:
            self._fail("operation not found")
            return
        _log.debug("%s: resumed after %r, replayed %d events", self.name, last_event_id, count)

    def _on_tool_result(self, result: ToolResult) -> None:
        if self._state is not _State.AUTHENTICATED:
            _log.info("%s: tool_result before authentication ignored", self.name)
            return
        if not self._server.registry.deliver_tool_result(self._operation_id, result):
            _log.warning(
                "%s: tool_result for %r had no waiting call", self.name, result.tool_call_id
            )

    def __repr__(self) -> str:
        return (
            f"_Socket({self.name}, operation_id={self._operation_id!r}, state={self._state.value})"
        )


class GatewayServer:
    """Accepts TCP connections and runs the v1 conversation on each.

    Args:
        registry: operations and sockets.
        tokens: verifies `auth` tokens.
        faults: connection-level fault switches.
        max_frame_chars: client frames longer than this are refused.
        handshake_timeout: seconds a client has to send its HTTP upgrade request.
    """

    def __init__(
        self,
        *,
        registry: OperationRegistry,
        tokens: TokenAuthority,
        faults: Faults,
        max_frame_chars: int,
        handshake_timeout: float,
    ) -> None:
        self.registry = registry
        self.tokens = tokens
        self.faults = faults
        self.max_frame_chars = max_frame_chars
        self._handshake_timeout = handshake_timeout
        self._names = itertools.count(1)
        self.accepted = 0
        self.rejected = 0
        self.held = 0
        self.handshaking = 0

    def judge(self, check: TokenCheck, operation_id: str) -> AuthSuccess | AuthExpired | AuthFailed:
        """The answer to an `auth` frame with this token verdict on `operation_id`'s socket."""
        if isinstance(check, InvalidToken):
            return AuthFailed(reason=check.reason)
        claims = check.claims
        if claims.operation_id != operation_id:
            return AuthFailed(reason="invalid token: issued for another operation")
        operation = self.registry.get(operation_id)
        if operation is None:
            return AuthFailed(reason="operation not found")
        if claims.topic_id != operation.topic_id:
            return AuthFailed(reason="invalid token: issued for another topic")
        if isinstance(check, ExpiredToken) or claims.generation <= operation.tokens_expired_through:
            return AuthExpired()
        return AuthSuccess()

    async def handle_stream(self, stream: trio.SocketStream) -> None:
        """Serve one TCP connection (the `trio.serve_listeners` handler); never raises."""
        try:
            if self.faults.take_blackhole():
                await self._hold(stream)
            else:
                await self._serve(stream)
        except Exception:
            _log.exception("connection handler failed")
        finally:
            await trio.aclose_forcefully(stream)

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
                    await self._converse(*accepted)
            finally:
                nursery.cancel_scope.cancel()

    async def _handshake(
        self, nursery: trio.Nursery, stream: trio.SocketStream
    ) -> tuple[WebSocketConnection, str] | None:
        self.handshaking += 1
        self.registry.notify()
        try:
            with trio.move_on_after(self._handshake_timeout) as scope:
                watched = _HangUpWatch(stream, on_hang_up=scope.cancel)
                request = await wrap_server_stream(
                    nursery, watched, max_message_size=self.max_frame_chars
                )
                target = _operation_from_target(request.path)
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
        socket = _Socket(
            name=f"socket-{next(self._names)}", operation_id=operation_id, ws=ws, server=self
        )
        self.registry.add_peer(socket)
        try:
            await socket.run()
        finally:
            self.registry.remove_peer(socket)
