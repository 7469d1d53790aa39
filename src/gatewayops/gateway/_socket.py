"""One accepted WebSocket of the reference gateway: its v1 conversation and its limits.

Owns: `GatewaySocket` (the registry's `Peer`): `auth` first, then `resume`, `heartbeat`,
`tool_result` and the no-op `interrupt`; the auth verdicts; the auth deadline; and the
bounded outbox, drained by one writer task (`write_outbox`, which v2's sockets share) so
replies keep the order in which they were decided. A frame that does not decode is
logged and ignored. `SocketContext` is what every socket of one gateway shares.

Auth verdicts (PROTOCOL.md 1.3): a bad token, a token for another operation or topic,
or an unknown/forgotten operation gets `auth_failed{reason}` and a 1008 close; a token
whose only fault is its age gets `auth_expired` and the socket stays open (it may `auth`
again); otherwise `auth_success`.

Limits (`GatewayLimits`), each ending in a 1008 close, a log line and a `CloseCause`:
no `auth` frame within `auth_timeout` of the upgrade; no successful `auth` within
`expired_auth_timeout` of the first `auth_expired` (more expired tokens do not extend
it); an outbox that would pass its bound because the client stopped reading (the queued
frames are dropped at once: the client resumes from its cursor on its next socket, so
nothing is lost, which dropping frames silently could not promise). Neither deadline
sends `auth_failed`: that would end the client's operation, and the client did nothing
that proves its operation is over. Every close the gateway starts must finish within
`CLOSE_TIMEOUT`; past it the TCP connection is dropped without a close frame (a client
that does not read cannot receive one). `go_away` closes with 1001 (the gateway is
shutting down); the client may reconnect elsewhere.

Log lines (``gatewayops.gateway``, INFO, never a token): each verdict on `auth`, and
every close the gateway starts, with its code.

Must not know: how connections are accepted, how runs are scripted, the control API.
"""

from __future__ import annotations

import collections
import enum
import math

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationNotFound, ProtocolError
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._limits import CloseCause, GatewayLimits
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._outbox import CloseFrame, Outbox
from gatewayops.gateway._tokens import ExpiredToken, InvalidToken, TokenAuthority
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

__all__ = ["CLOSE_TIMEOUT", "GatewaySocket", "SocketContext", "write_outbox"]

_log = get_logger("gatewayops.gateway")

CLOSE_TIMEOUT = 5.0
"""Seconds a close the gateway starts may take before the TCP connection is dropped."""

_POLICY_VIOLATION = 1008
_GOING_AWAY = 1001


@attrs.frozen(kw_only=True)
class SocketContext:
    """What every socket of one gateway shares.

    Attributes:
        registry: operations and open sockets.
        tokens: verifies `auth` tokens.
        faults: the connection-level fault switches.
        limits: the bounds each socket enforces.
        closed_by: how many sockets each limit has closed, counted when it decides to.
    """

    registry: OperationRegistry
    tokens: TokenAuthority
    faults: Faults
    limits: GatewayLimits
    closed_by: collections.Counter[CloseCause] = attrs.field(factory=collections.Counter)


async def write_outbox(ws: WebSocketConnection, outbox: Outbox, scope: trio.CancelScope) -> None:
    """A socket's one writer: send the outbox's frames in order until its close, then
    close the WebSocket and cancel `scope` (the socket's); stop if the peer is gone."""
    while True:
        item = await outbox.get()
        if isinstance(item, CloseFrame):
            await ws.aclose(item.code, item.reason)
            scope.cancel()
            return
        try:
            await ws.send_message(item)
        except ConnectionClosed:
            return


class _State(enum.Enum):
    NEW = "new"
    EXPIRED = "expired"
    AUTHENTICATED = "authenticated"
    CLOSING = "closing"


class GatewaySocket:
    """One accepted WebSocket of one operation; the registry's `Peer`.

    Attributes:
        name: ``socket-N``, for log lines.
    """

    def __init__(
        self, *, name: str, operation_id: str, ws: WebSocketConnection, context: SocketContext
    ) -> None:
        self.name = name
        self._operation_id = operation_id
        self._ws = ws
        self._context = context
        self._registry = context.registry
        self._limits = context.limits
        self._ignore_auth = context.faults.take_ignore_auth()
        self._state = _State.NEW
        self._scope = trio.CancelScope()
        self._auth_deadline = trio.CancelScope(
            deadline=trio.current_time() + self._limits.auth_timeout
        )
        self._outbox = Outbox(
            max_frames=self._limits.max_outbox_frames, max_chars=self._limits.max_outbox_chars
        )

    # ---------------------------------------------------------------- Peer

    @property
    def operation_id(self) -> str:
        return self._operation_id

    @property
    def authenticated(self) -> bool:
        return self._state is _State.AUTHENTICATED

    @property
    def queued_frames(self) -> int:
        return self._outbox.frames

    @property
    def queued_chars(self) -> int:
        return self._outbox.chars

    def send_frame(self, frame: str) -> None:
        if self._state is _State.CLOSING:
            return
        if not self._outbox.put(frame):
            _log.warning(
                "%s: closed 1008, outbox full (%d frames, %d chars queued): client not reading",
                self.name,
                self._outbox.frames,
                self._outbox.chars,
            )
            self._close(CloseCause.OUTBOX_OVERFLOW, "outbox full: client not reading")

    def expire(self) -> None:
        if self._state is _State.AUTHENTICATED:
            self._become_expired()
            self._registry.unsubscribe(self)
            self.send_frame(encode(AuthExpired()))

    def abort(self) -> None:
        self._scope.cancel()

    def go_away(self) -> None:
        """Close with 1001: the gateway is shutting down (queued frames are sent first)."""
        if self._state is not _State.CLOSING:
            _log.info("%s: closed 1001, the gateway is shutting down", self.name)
        self._close(None, "gateway shutting down", code=_GOING_AWAY)

    # ---------------------------------------------------------------- life

    async def run(self) -> None:
        """Serve the conversation until either side closes, a limit closes it, or `abort`."""
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_loop)
                nursery.start_soon(self._enforce_auth_deadline)
                await self._read_loop()
                nursery.cancel_scope.cancel()

    async def _read_loop(self) -> None:
        while True:
            try:
                raw = await self._ws.get_message()
            except ConnectionClosed:
                return
            self._on_frame(raw)

    async def _write_loop(self) -> None:
        await write_outbox(self._ws, self._outbox, self._scope)

    async def _enforce_auth_deadline(self) -> None:
        with self._auth_deadline:
            await trio.sleep_forever()
        if self._state is _State.NEW:
            _log.info(
                "%s: closed 1008, no auth frame within %g s", self.name, self._limits.auth_timeout
            )
            self._close(CloseCause.AUTH_TIMEOUT, "auth timeout")
        elif self._state is _State.EXPIRED:
            _log.info(
                "%s: closed 1008, not authenticated within %g s of auth_expired",
                self.name,
                self._limits.expired_auth_timeout,
            )
            self._close(CloseCause.EXPIRED_AUTH_TIMEOUT, "auth timeout after auth_expired")

    def _close(
        self, cause: CloseCause | None, reason: str, *, code: int = _POLICY_VIOLATION
    ) -> None:
        """Start a close (1008 unless told); outbox overflows drop what is queued, others
        send it first."""
        if self._state is _State.CLOSING:
            return
        self._state = _State.CLOSING
        if cause is not None:
            self._context.closed_by[cause] += 1
        self._outbox.close(code, reason, discard=cause is CloseCause.OUTBOX_OVERFLOW)
        self._scope.deadline = min(self._scope.deadline, trio.current_time() + CLOSE_TIMEOUT)
        self._registry.unsubscribe(self)
        self._registry.notify()

    def _fail(self, reason: str) -> None:
        _log.info("%s: auth_failed (%s), closed 1008", self.name, reason)
        self.send_frame(encode(AuthFailed(reason=reason)))
        self._close(None, "auth failed")

    def _become_expired(self) -> None:
        if self._state is not _State.EXPIRED:
            self._auth_deadline.deadline = trio.current_time() + self._limits.expired_auth_timeout
        self._state = _State.EXPIRED

    # ---------------------------------------------------------------- frames

    def _on_frame(self, raw: str | bytes) -> None:
        if self._state is _State.CLOSING:
            return
        try:
            message = decode_client(raw, max_frame_chars=self._limits.max_frame_chars)
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
                if self._context.faults.acks_heartbeat(self._operation_id):
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
            self._auth_deadline.deadline = math.inf
            return
        if self._state is _State.AUTHENTICATED:
            _log.info("%s: second auth on an authenticated socket ignored", self.name)
            return
        verdict = self._verdict(token)
        match verdict:
            case AuthFailed(reason=reason):
                self._fail(reason)
            case AuthExpired():
                _log.info("%s: auth_expired", self.name)
                self._become_expired()
                self.send_frame(encode(verdict))
            case AuthSuccess():
                _log.info("%s: authenticated for %s", self.name, self._operation_id)
                self._state = _State.AUTHENTICATED
                self._auth_deadline.deadline = math.inf
                self.send_frame(encode(verdict))
                self._registry.notify()

    def _verdict(self, token: str) -> AuthSuccess | AuthExpired | AuthFailed:
        check = self._context.tokens.check(token)
        if isinstance(check, InvalidToken):
            return AuthFailed(reason=check.reason)
        claims = check.claims
        if claims.operation_id != self._operation_id:
            return AuthFailed(reason="invalid token: issued for another operation")
        operation = self._registry.get(self._operation_id)
        if operation is None:
            return AuthFailed(reason="operation not found")
        if claims.topic_id != operation.topic_id:
            return AuthFailed(reason="invalid token: issued for another topic")
        if isinstance(check, ExpiredToken) or claims.generation <= operation.tokens_expired_through:
            return AuthExpired()
        return AuthSuccess()

    def _on_resume(self, last_event_id: str, want_status: bool) -> None:
        if self._state is not _State.AUTHENTICATED:
            _log.info("%s: resume before authentication ignored", self.name)
            return
        try:
            count = self._registry.subscribe(self, last_event_id, want_status)
        except OperationNotFound:
            self._fail("operation not found")
            return
        if self._outbox.closing:  # the replay overflowed the outbox
            self._registry.unsubscribe(self)
            return
        _log.debug("%s: resumed after %r, replayed %d events", self.name, last_event_id, count)

    def _on_tool_result(self, result: ToolResult) -> None:
        if self._state is not _State.AUTHENTICATED:
            _log.info("%s: tool_result before authentication ignored", self.name)
            return
        if not self._registry.deliver_tool_result(self._operation_id, result):
            _log.warning(
                "%s: tool_result for %r had no waiting call", self.name, result.tool_call_id
            )

    def __repr__(self) -> str:
        return (
            f"GatewaySocket({self.name}, operation_id={self._operation_id!r}, "
            f"state={self._state.value}, outbox={self._outbox!r})"
        )
