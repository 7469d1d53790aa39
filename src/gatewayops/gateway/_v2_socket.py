"""One accepted ``/v2/ws`` WebSocket of the reference gateway: auth, `ready`, frames.

Owns: `MuxTarget` (what the upgrade URL carried), `MuxEndpoint` (the conversation of an
accepted v2 socket, from the auth verdict to the end) and `MuxSocket` (the hub's
`MuxPeer`). The life of a v2 socket (PROTOCOL.md 7.1):

| when                                        | the gateway                              |
|---------------------------------------------|------------------------------------------|
| the upgrade's token is bad                  | closes 4401 ``auth_failed``              |
| only its `exp` has passed                   | closes 4401 ``auth_expired``             |
| it is good                                  | sends `ready{userId, connectionId, 2}`   |
| a `subscribe`, `unsubscribe`, `tool_result`,| asks the `Hub`                           |
| `tool_confirmation` or `user_input`         |                                          |
| a `heartbeat`                               | answers `heartbeat_ack`                  |
| a frame that does not decode                | answers `error{bad_frame}`, keeps going  |
| no frame for `IDLE_TIMEOUT` (checked every  | closes 1000 ``idle timeout``             |
| `IDLE_CHECK_INTERVAL`)                      |                                          |
| its outbox overflows (client not reading;   | drops the queue, closes 1008             |
| the bounds count once per subscription)     |                                          |
| the gateway shuts down (`go_away`)          | closes 1001 after what is queued         |

The `MuxFaults` switches are read here: a rejected upgrade closes 4401 whatever the
token, and a withheld `ready` leaves the socket open but deaf. Writes go through one
`Outbox` drained by one writer task (v1's `write_outbox`); every close the gateway starts finishes
within `CLOSE_TIMEOUT` or the TCP connection is dropped.

Must not know: how connections are accepted, how runs are scripted, the control API.
"""

from __future__ import annotations

import collections
import itertools

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from gatewayops._secrets import get_logger
from gatewayops.exceptions import ProtocolError
from gatewayops.gateway._hub import Hub
from gatewayops.gateway._limits import CloseCause, GatewayLimits
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._outbox import Outbox
from gatewayops.gateway._socket import CLOSE_TIMEOUT, write_outbox
from gatewayops.gateway._tokens import GatewayClock, InvalidToken
from gatewayops.gateway._user_tokens import ExpiredUser, UserTokenAuthority, ValidUser
from gatewayops.gateway._v2_faults import AuthCloseReason, MuxFaults
from gatewayops.protocol import (
    Heartbeat,
    HeartbeatAck,
    HubError,
    MuxClientMessage,
    MuxToolResult,
    Ready,
    Subscribe,
    ToolConfirmation,
    Unsubscribe,
    UserInput,
    decode_mux_client,
    encode_mux,
)

__all__ = [
    "AUTH_CLOSE_CODE",
    "IDLE_CHECK_INTERVAL",
    "IDLE_TIMEOUT",
    "MuxEndpoint",
    "MuxSocket",
    "MuxTarget",
]

_log = get_logger("gatewayops.gateway")

AUTH_CLOSE_CODE = 4401
"""The close code of a v2 upgrade whose token was refused."""

IDLE_TIMEOUT = 180.0
"""Seconds without a client frame after which a v2 socket is closed."""

IDLE_CHECK_INTERVAL = 120.0
"""How often the idle rule is checked (so an idle socket goes after 180-300 s)."""

_NORMAL = 1000
_GOING_AWAY = 1001
_POLICY_VIOLATION = 1008


@attrs.frozen(kw_only=True)
class MuxTarget:
    """What a ``/v2/ws`` upgrade URL carried (never shown in a repr: it holds a token)."""

    token: str = attrs.field(repr=False)
    client_id: str


class MuxSocket:
    """One accepted v2 socket of one user; the hub's `MuxPeer`.

    Attributes:
        name: ``v2-socket-N``, for log lines.
        user_id: the user its token named.
        client_id: the `clientId` of its URL.
    """

    def __init__(
        self,
        *,
        name: str,
        user_id: str,
        client_id: str,
        ws: WebSocketConnection,
        hub: Hub,
        faults: MuxFaults,
        limits: GatewayLimits,
        closed_by: collections.Counter[CloseCause],
    ) -> None:
        self.name = name
        self.user_id = user_id
        self.client_id = client_id
        self._ws = ws
        self._hub = hub
        self._faults = faults
        self._limits = limits
        self._closed_by = closed_by
        self._closing = False
        self._deaf = False
        self._last_frame_at = trio.current_time()
        self._scope = trio.CancelScope()
        self._outbox = Outbox(
            max_frames=limits.max_outbox_frames, max_chars=limits.max_outbox_chars
        )

    # ---------------------------------------------------------------- MuxPeer

    def send_frame(self, frame: str) -> None:
        if self._closing:
            return
        if not self._outbox.put(frame, scale=max(1, self._hub.subscription_count(self))):
            _log.warning("%s: closed 1008, outbox full: client not reading", self.name)
            self._close(_POLICY_VIOLATION, "outbox full: client not reading", overflow=True)

    def abort(self) -> None:
        self._scope.cancel()

    def go_away(self) -> None:
        if not self._closing:
            _log.info("%s: closed 1001, the gateway is shutting down", self.name)
        self._close(_GOING_AWAY, "gateway shutting down")

    # ---------------------------------------------------------------- life

    async def run(self, ready: Ready | None) -> None:
        """Greet with `ready` (None: never, the socket stays deaf), then serve the
        conversation until either side closes, the idle rule closes it, or `abort`."""
        self._deaf = ready is None
        if ready is not None:
            self.send_frame(encode_mux(ready))
        with self._scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_outbox, self._ws, self._outbox, self._scope)
                nursery.start_soon(self._close_when_idle)
                await self._read_loop()
                nursery.cancel_scope.cancel()

    async def _read_loop(self) -> None:
        while True:
            try:
                raw = await self._ws.get_message()
            except ConnectionClosed:
                return
            self._last_frame_at = trio.current_time()
            if not self._closing and not self._deaf:
                self._on_frame(raw)

    async def _close_when_idle(self) -> None:
        while True:
            await trio.sleep(IDLE_CHECK_INTERVAL)
            if trio.current_time() - self._last_frame_at > IDLE_TIMEOUT:
                _log.info("%s: closed 1000, no frame for %g s", self.name, IDLE_TIMEOUT)
                self._close(_NORMAL, "idle timeout")
                return

    def _close(self, code: int, reason: str, *, overflow: bool = False) -> None:
        if self._closing:
            return
        self._closing = True
        if overflow:
            self._closed_by[CloseCause.OUTBOX_OVERFLOW] += 1
        self._outbox.close(code, reason, discard=overflow)
        self._scope.deadline = min(self._scope.deadline, trio.current_time() + CLOSE_TIMEOUT)

    # ---------------------------------------------------------------- frames

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            message = decode_mux_client(raw, max_frame_chars=self._limits.max_frame_chars)
        except ProtocolError as error:
            _log.warning("%s: answered a bad frame: %s", self.name, error)
            self.send_frame(encode_mux(HubError(code="bad_frame", message=str(error))))
            return
        self._dispatch(message)

    def _dispatch(self, message: MuxClientMessage) -> None:
        match message:
            case Subscribe():
                self._hub.subscribe(self, message)
            case Unsubscribe(operation_id=operation_id):
                self._hub.unsubscribe(self, operation_id)
            case Heartbeat():
                if self._faults.acks_heartbeat:
                    self.send_frame(encode_mux(HeartbeatAck()))
            case MuxToolResult():
                self._hub.tool_result(self, message)
            case ToolConfirmation() | UserInput():
                self._hub.answer(self, message)

    def __repr__(self) -> str:
        return f"MuxSocket({self.name}, user_id={self.user_id!r}, outbox={self._outbox!r})"


class MuxEndpoint:
    """The v2 side of the gateway's server: what an accepted ``/v2/ws`` socket lives through.

    It makes the v2 parts of one gateway: the user token authority, the `Hub` (which
    watches `registry`) and the `MuxFaults`.

    Args:
        registry: the gateway's operations.
        clock: the gateway clock.
        limits: the bounds every socket is held to.

    Attributes:
        users: checks (and issues) user tokens.
        hub: subscriptions and routing.
        faults: the v2 fault switches.
        accepted: v2 upgrades accepted since start.
        refused: of those, how many were closed 4401.
        closed_by: how many v2 sockets each limit closed since start (by `CloseCause`).
    """

    def __init__(
        self, *, registry: OperationRegistry, clock: GatewayClock, limits: GatewayLimits
    ) -> None:
        self.users = UserTokenAuthority(clock)
        self.hub = Hub(registry, clock)
        self.faults = MuxFaults(registry, self.hub)
        self._limits = limits
        self.closed_by: collections.Counter[CloseCause] = collections.Counter()
        self._names = itertools.count(1)
        self.accepted = 0
        self.refused = 0

    async def converse(self, ws: WebSocketConnection, target: MuxTarget) -> None:
        """Check the upgrade's token, then serve the socket until it ends."""
        self.accepted += 1
        name = f"v2-socket-{next(self._names)}"
        verdict = self._verdict(target.token)
        if not isinstance(verdict, ValidUser):
            self.refused += 1
            _log.info("%s: closed %d %s", name, AUTH_CLOSE_CODE, verdict)
            with trio.move_on_after(CLOSE_TIMEOUT):
                await ws.aclose(AUTH_CLOSE_CODE, verdict)
            return
        socket = MuxSocket(
            name=name,
            user_id=verdict.user_id,
            client_id=target.client_id,
            ws=ws,
            hub=self.hub,
            faults=self.faults,
            limits=self._limits,
            closed_by=self.closed_by,
        )
        ready: Ready | None = Ready(user_id=verdict.user_id, connection_id=f"conn-{self.accepted}")
        if self.faults.take_withheld_ready():
            _log.info("%s: ready withheld (fault)", name)
            ready = None
        _log.info("%s: connected for %s (client %s)", name, verdict.user_id, target.client_id)
        if ready is None:  # a hung hub: not in the hub, so it hears nothing
            await socket.run(None)
            return
        self.hub.add(socket)
        try:
            await socket.run(ready)
        finally:
            self.hub.remove(socket)
            code = ws.closed.code if ws.closed is not None else None
            _log.info("%s: disconnected (code %s)", name, code)

    def _verdict(self, token: str) -> ValidUser | AuthCloseReason:
        """The user the token speaks for, or the reason of the 4401 close it gets."""
        forced = self.faults.take_rejected_upgrade()
        if forced is not None:
            return forced
        check = self.users.check(token)
        if isinstance(check, InvalidToken):
            return "auth_failed"
        if isinstance(check, ExpiredUser):
            return "auth_expired"
        return check
