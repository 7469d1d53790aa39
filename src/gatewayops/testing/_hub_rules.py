"""The rules `GatewayMachineV2` adds to the v1 machine's: the v2 hub and the user's link.

Owns: what the hub of protocol v2 sends on the user's one socket (PROTOCOL.md 7.3):
`ready` (on the socket that waits for it, or a stale one), the frames of each
operation's subscription routed by their envelope (agent events own or a member's,
terminal or not, tool calls; `session_complete`; `status_change` terminal or not;
`resume_complete` pending, with a gap or a status; `subscribe_failed`; a hub `error`
for one operation or for none; the user's `op_lifecycle` feed; unknown frames), each
with the next numeric id, none, a non-numeric one, or an id already sent (a replay);
a member's terminal mirrored and then echoed; a close with code 4401; the network
coming back; and the application disconnecting the user's link and connecting it again
(PROTOCOL.md 7.6), interleaved with all of it. The socket's other news (open, close,
fail, quiet, garbage), its timers and the v1 links of operations that fell back are the
v1 rules', which this machine keeps. Must not know: the application's other actions or
effect results, how a step is checked (`_machine_base`), Trio or I/O.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis.stateful import precondition, rule

from gatewayops.protocol import (
    AgentEvent,
    MuxServerMessage,
    ServerMessage,
    SessionStatus,
    UnknownMessage,
)
from gatewayops.protocol._v2_messages import (
    HubError,
    MuxAgentEvent,
    MuxResumeComplete,
    MuxSessionComplete,
    OpLifecycle,
    Ready,
    StatusChange,
    SubscribeFailed,
)
from gatewayops.store import (
    ConnectionStatus,
    Link,
    LinkConnectRequested,
    LinkDisconnectRequested,
    MessageReceived,
    NetworkRestored,
    Operation,
    Protocol,
    SocketClosed,
)
from gatewayops.store._link_v2 import mux_link_id
from gatewayops.testing._machine_base import NOW_AND_THEN, MachineBase
from gatewayops.testing._model import ServerSide

__all__ = ["HUB_URL", "HubRules"]

HUB_URL = "wss://hub.test"
"""The one gateway every operation of the v2 machine is followed on."""

_READY = Ready(user_id="user-1", connection_id="conn-1")
_EVENT_KINDS = (*["chunk"] * 3, *["tool"] * 2, "end", "error", "foreign_end")
_FRAME_KINDS = (
    "session_complete",
    "status_running",
    "status_terminal",
    "resume",
    "subscribe_failed",
    "hub_error",
    "link_error",
    "lifecycle",
    "unknown",
)
_ID_KINDS = ("next", "next", "next", "none", "text", "replay")
_TERMINAL = [status for status in SessionStatus if status.is_terminal]
_ECHOES = ("session_complete", "status_change")


class HubRules(MachineBase):
    """The v2 hub's frames on the user's link, 4401 closes and the network coming back."""

    gateway_urls = st.just(HUB_URL)

    def _mux(self) -> Link | None:
        return self.state.links.get(mux_link_id(HUB_URL))

    def _mux_has_socket(self) -> bool:
        link = self._mux()
        return link is not None and link.status in (
            ConnectionStatus.CONNECTING,
            ConnectionStatus.AUTHENTICATING,
            ConnectionStatus.CONNECTED,
        )

    def _hub_sends(self, data: st.DataObject, message: Any) -> None:
        """`message` on the user's socket (now and then on the one before it)."""
        link = self._mux()
        assert link is not None
        generation = link.generation
        if data.draw(NOW_AND_THEN, label="stale socket") and generation > 1:
            generation -= 1
        self._step(MessageReceived(link_id=link.id, generation=generation, message=message))

    # ------------------------------------------------------------------ the link

    def _acceptance(self, link: Link) -> ServerMessage | MuxServerMessage:
        """v2's hub accepts the user's socket with `ready` (v1's links as before)."""
        return _READY if link.protocol is Protocol.V2 else super()._acceptance(link)

    @precondition(lambda self: self._mux_has_socket())
    @rule(data=st.data())
    def hub_says_ready(self, data: st.DataObject) -> None:
        """The hub greets the socket: every session subscribes, queued results go out."""
        self._hub_sends(data, _READY)

    @precondition(lambda self: self._mux_has_socket())
    @rule(reason=st.sampled_from(["auth_expired", "auth_failed", ""]))
    def hub_refuses_the_user_token(self, reason: str) -> None:
        """The hub closes the socket with 4401: redialled at once, three times at most."""
        link = self._mux()
        assert link is not None
        self._step(
            SocketClosed(link_id=link.id, generation=link.generation, code=4401, reason=reason)
        )

    @precondition(lambda self: self._mux() is not None)
    @rule()
    def network_comes_back(self) -> None:
        """The browser says online again: a link waiting out its backoff dials now."""
        self._step(NetworkRestored())

    @precondition(lambda self: self._mux() is not None)
    @rule(disconnect=st.sampled_from([True, False, False, False]))
    def app_disconnects_or_connects(self, disconnect: bool) -> None:
        """The application connects a disconnected link again (it dials; `ready`
        resubscribes each session from its cursor), or disconnects one that is not (its
        sessions wait, nothing dials), now and then (else its connect changes nothing):
        the link is held for short stretches, so the rest still happens on it."""
        link = self._mux()
        assert link is not None
        if disconnect and not link.held:
            self._step(LinkDisconnectRequested(gateway_url=HUB_URL))
        else:
            self._step(LinkConnectRequested(gateway_url=HUB_URL))

    # ------------------------------------------------------------------ subscriptions

    @precondition(lambda self: self.state.operations and self._mux() is not None)
    @rule(data=st.data(), kind=st.sampled_from(_EVENT_KINDS), id_kind=st.sampled_from(_ID_KINDS))
    def hub_event(self, data: st.DataObject, kind: str, id_kind: str) -> None:
        """An agent event of one operation's subscription (its run may have ended or
        moved to v1): a chunk, a tool call, its own end or error, a member's end."""
        self._subscription_frame(data, kind, id_kind)

    @precondition(lambda self: self.state.operations and self._mux() is not None)
    @rule(data=st.data(), kind=st.sampled_from(_FRAME_KINDS), id_kind=st.sampled_from(_ID_KINDS))
    def hub_frame(self, data: st.DataObject, kind: str, id_kind: str) -> None:
        """Another frame routed to one operation's subscription, or a link-wide one."""
        self._subscription_frame(data, kind, id_kind)

    def _subscription_frame(self, data: st.DataObject, kind: str, id_kind: str) -> None:
        op = self._live_op(data)
        server = self.servers[op.id]
        envelope_id = _envelope_id(data, id_kind, server)
        self._hub_sends(data, self._frame(data, kind, op, server, envelope_id))

    @precondition(lambda self: self._running() and self._mux() is not None)
    @rule(data=st.data(), echo=st.sampled_from(_ECHOES))
    def member_terminal_is_mirrored_over_v2(self, data: st.DataObject, echo: str) -> None:
        """A member's end is forwarded to the supervisor's subscription, then its echo."""
        op = self._draw_running(data, "supervisor")
        server = self.servers[op.id]
        server.next_id += 1
        end = AgentEvent(type="agent_runtime_end", operation_id="member-op", data={})
        self._hub_sends(data, MuxAgentEvent(operation_id=op.id, event=end, id=str(server.next_id)))
        server.next_id += 1
        self._hub_sends(data, self._frame(data, echo, op, server, str(server.next_id)))

    def _frame(
        self, data: st.DataObject, kind: str, op: Operation, server: ServerSide, id: str | None
    ) -> Any:
        keys: dict[str, Any] = {"operation_id": op.id}
        if kind in ("chunk", "tool", "end", "error", "foreign_end"):
            return MuxAgentEvent(**keys, event=_event(kind, op.id, server), id=id)
        if kind == "session_complete":
            return MuxSessionComplete(**keys, id=id)
        if kind in ("status_running", "status_terminal", "status_change"):
            terminal = data.draw(st.sampled_from(_TERMINAL), label="terminal status")
            status = SessionStatus.RUNNING if kind == "status_running" else terminal
            return StatusChange(**keys, status=status, id=id)
        if kind == "resume":
            return MuxResumeComplete(
                **keys,
                status=data.draw(st.none() | st.sampled_from(SessionStatus), label="status"),
                gap=data.draw(st.booleans(), label="gap"),
                pending=data.draw(NOW_AND_THEN, label="pending"),
            )
        if kind == "subscribe_failed":
            reason = data.draw(st.sampled_from(["forbidden", "invalid"]), label="reason")
            return SubscribeFailed(**keys, reason=reason)
        if kind == "hub_error":
            return HubError(code="rate_limited", message="slow down", operation_id=op.id)
        if kind == "link_error":
            return HubError(code="bad_frame", message="?")
        if kind == "lifecycle":
            return OpLifecycle(**keys, status=SessionStatus.RUNNING)
        return UnknownMessage(type="doc_update", payload={"operationId": op.id})


def _envelope_id(data: st.DataObject, id_kind: str, server: ServerSide) -> str | None:
    """The id the hub puts on a frame: the next, none, not a number, or a repeat."""
    if id_kind == "none":
        return None
    if id_kind == "text":
        return f"x{server.next_id}"
    if id_kind == "replay" and server.next_id:
        return str(data.draw(st.integers(1, server.next_id), label="repeated id"))
    server.next_id += 1
    return str(server.next_id)


def _event(kind: str, op_id: str, server: ServerSide) -> AgentEvent:
    if kind == "tool":
        server.tool_calls += 1
        call = {"toolCallId": f"{op_id}-call-{server.tool_calls}", "executionTimeoutMs": 5000}
        return AgentEvent(type="tool_execute", operation_id=op_id, data=call)
    if kind == "chunk":
        chunk = {"chunkType": "text", "content": "x"}
        return AgentEvent(type="stream_chunk", operation_id=op_id, data=chunk)
    if kind == "foreign_end":
        return AgentEvent(type="agent_runtime_end", operation_id="member-op", data={})
    if kind == "end":
        return AgentEvent(type="agent_runtime_end", operation_id=op_id, data={})
    return AgentEvent(type="error", operation_id=op_id, data={"message": "boom"})
