"""The rules of `GatewayMachine` for what the sockets and the gateway server report.

Owns: socket news of the current or a stale generation (opened, closed, failed, quiet,
unreadable frames, drawn from `gatewayops.testing.strategies`), a connection's usual
next step (so runs get past the handshake), and the fake server of each operation: its
control frames, the agent events it streams (own or forwarded, terminal or not, with or
without an envelope id, tool calls, the agent's questions and the producer's replies
among them), replays of events it already sent, a member's terminal mirrored and then
echoed, and news arriving late for an operation the store forgot (dropped, reviving
nothing). Must not know: the application or effect
results (the app and effect rules), how a step is checked (`_machine_base`), Trio or I/O.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
from hypothesis.stateful import precondition, rule

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    HeartbeatAck,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    UnknownMessage,
)
from gatewayops.store import (
    ConnectionStatus,
    MessageReceived,
    SocketClosed,
    SocketOpened,
    Timer,
    TimerFired,
    TimerKind,
    link_resources,
)
from gatewayops.testing import strategies as gs
from gatewayops.testing._machine_base import MachineBase
from gatewayops.testing._model import ServerSide

__all__ = ["SocketAndServerRules"]

_CHUNK = {"chunkType": "text", "content": "x"}
_REASONS = (None, "interrupted", "waiting_for_async_tool", "error")
_CONTROL_FRAMES: list[ServerMessage] = [
    *[AuthSuccess()] * 4,
    *[AuthExpired()] * 4,
    AuthFailed(reason="operation not found"),
    HeartbeatAck(),
    SessionComplete(),
    UnknownMessage(type="status_change"),
    *(ResumeComplete(status=status) for status in SessionStatus),
    ResumeComplete(status=SessionStatus.RUNNING, gap=True),
    ResumeComplete(status=SessionStatus.COMPLETED, gap=True),
]
_EVENT_KINDS = [
    *["chunk"] * 4,
    "start",
    *["tool"] * 3,
    "foreign_end",
    "foreign_error",
    "end",
    "error",
    "ask",
    "reply",
    "patch",
    "approval",
]
_STEP_PHASES = ("human_approval", "execution")


def _question(call: str) -> dict[str, Any]:
    """A reviewable one-question request."""
    question = {"question": "Go on?", "options": [{"label": "Yes", "id": "yes"}]}
    return {
        "toolCallId": call,
        "apiName": "askUserQuestion",
        "arguments": json.dumps({"questions": [question]}),
        "deadline": 5_000,
    }


def _replies(call: str) -> st.SearchStrategy[dict[str, Any]]:
    """The producer's responses: an answer or a cancellation, echoed or acknowledged."""
    return st.fixed_dictionaries(
        {"toolCallId": st.just(call)},
        optional={
            "result": st.sampled_from(["yes", {"answers": ["yes"]}]),
            "cancelled": st.booleans(),
            "cancelReason": st.sampled_from(["timeout", "user_cancelled", "session_ended"]),
            "resolutionRequestId": st.sampled_from(["r-1", "elsewhere"]),
            "producerAck": st.booleans(),
        },
    )


class SocketAndServerRules(MachineBase):
    """Socket news and server frames, on the current socket or a stale one."""

    # ------------------------------------------------------------------ sockets

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data())
    def socket_event(self, data: st.DataObject) -> None:
        """The socket opens, closes, fails (retryable or not), goes quiet or sends garbage."""
        op = self._live_op(data)
        news = gs.socket_events(link_id=op.link_id, generation=self._generation(data, op))
        self._step(data.draw(news, label="socket event"))

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def connection_progresses(self, data: st.DataObject) -> None:
        """The usual next step of a connection: it opens, is accepted, or backs off."""
        op = self._draw_running(data, "progressing")
        link = self._link(op)
        match link.status:
            case ConnectionStatus.CONNECTING:
                self._step(SocketOpened(link_id=link.id, generation=link.generation))
            case ConnectionStatus.AUTHENTICATING:
                self._receive(op, link.generation, self._acceptance(link))
            case ConnectionStatus.RECONNECTING:
                for timer in link_resources(link, self.state.config):
                    if isinstance(timer, Timer) and timer.kind is TimerKind.BACKOFF:
                        self._step(TimerFired(timer=timer))
            case _:
                self._receive(op, link.generation, HeartbeatAck())

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def network_drops(self, data: st.DataObject) -> None:
        """The live socket drops without a close frame (code 1006)."""
        link = self._link(self._draw_running(data, "dropped"))
        self._step(SocketClosed(link_id=link.id, generation=link.generation, code=1006))

    # ------------------------------------------------------------------ the server

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def token_expires(self, data: st.DataObject) -> None:
        """The gateway says the token expired (PROTOCOL.md 5)."""
        op = self._draw_running(data, "expiring")
        self._receive(op, self._link(op).generation, AuthExpired())

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), message=st.sampled_from(_CONTROL_FRAMES))
    def server_control(self, data: st.DataObject, message: ServerMessage) -> None:
        """The server sends a control frame on the current or a stale socket."""
        op = self._live_op(data)
        self._receive(op, self._generation(data, op), message)

    @precondition(lambda self: self._running())
    @rule(data=st.data(), reason=st.sampled_from(_REASONS))
    def member_terminal_is_mirrored(self, data: st.DataObject, reason: str | None) -> None:
        """A group member's end is mirrored onto this channel, then echoed (4.3)."""
        op = self._draw_running(data, "supervisor")
        server = self.servers[op.id]
        server.next_id += 1
        end = AgentEvent(
            type="agent_runtime_end",
            operation_id="member-op",
            step_index=len(server.sent),
            timestamp=float(len(server.sent)),
            data={"reason": reason},
        )
        message = AgentEventMessage(event=end, id=str(server.next_id))
        server.sent.append(message)
        generation = self._link(op).generation
        self._receive(op, generation, message)
        self._receive(op, generation, SessionComplete())

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), kind=st.sampled_from(_EVENT_KINDS), with_id=st.booleans())
    def server_event(self, data: st.DataObject, kind: str, with_id: bool) -> None:
        """The server streams an agent event (own or forwarded, terminal or not)."""
        op = self._live_op(data)
        server = self.servers[op.id]
        event_type, owner, payload = self._event_shape(kind, op.id, server, data)
        envelope_id = None
        if with_id:
            server.next_id += 1
            envelope_id = str(server.next_id)
        agent_event = AgentEvent(
            type=event_type,
            operation_id=owner,
            step_index=len(server.sent),
            timestamp=float(len(server.sent)),
            data=payload,
        )
        message = AgentEventMessage(event=agent_event, id=envelope_id)
        server.sent.append(message)
        self._receive(op, self._generation(data, op), message)

    def _event_shape(
        self, kind: str, op_id: str, server: ServerSide, data: st.DataObject
    ) -> tuple[str, str, Any]:
        if kind == "chunk":
            return "stream_chunk", op_id, _CHUNK
        if kind == "start":
            return "stream_start", "", {"assistantMessage": {"id": f"m{len(server.sent)}"}}
        if kind == "tool":
            server.tool_calls += 1
            call = {"toolCallId": f"{op_id}-call-{server.tool_calls}", "executionTimeoutMs": 5000}
            return "tool_execute", op_id, call
        if kind == "ask" or (kind == "reply" and not server.asks):
            server.asks += 1
            return "agent_intervention_request", op_id, _question(f"{op_id}-ask-{server.asks}")
        if kind == "reply":
            asked = data.draw(st.integers(1, server.asks), label="reply to")
            return (
                "agent_intervention_response",
                op_id,
                data.draw(_replies(f"{op_id}-ask-{asked}"), label="reply"),
            )
        if kind == "approval":
            phase = data.draw(st.sampled_from(_STEP_PHASES), label="phase")
            return "step_start", op_id, {"phase": phase, "requiresApproval": True}
        if kind in ("foreign_end", "foreign_error"):
            reason = data.draw(st.sampled_from(_REASONS), label="reason")
            event_type = "agent_runtime_end" if kind == "foreign_end" else "error"
            return event_type, "member-op", {"reason": reason}
        if kind == "patch":  # the next revision, now and then one skipped; or the end
            held = self.state.operations[op_id].transcript.revision or 0
            revision = held + data.draw(st.sampled_from((1, 1, 1, 2, 0)), label="revision")
            if data.draw(st.sampled_from((False, False, True)), label="patch-mode end"):
                return (
                    "agent_runtime_end",
                    op_id,
                    {"messagePatchMode": True, "messageRevision": revision},
                )
            message = {"id": f"{op_id}-m{revision}", "role": "user", "content": "x"}
            patch = {"revision": revision, "upserts": [{"afterId": None, "message": message}]}
            return "message_patch", op_id, patch
        if kind == "end":
            return "agent_runtime_end", op_id, {"reason": data.draw(st.sampled_from(_REASONS))}
        return "error", op_id, {"message": "boom"}

    def _replayable(self) -> list[str]:
        kept = self.state.operations
        return sorted(
            op_id for op_id, server in self.servers.items() if op_id in kept and server.with_ids()
        )

    @precondition(lambda self: self._replayable())
    @rule(data=st.data())
    def server_replays_old_event(self, data: st.DataObject) -> None:
        """The server sends an event it already sent (replay overlap), with its id."""
        op_id = data.draw(st.sampled_from(self._replayable()))
        message = data.draw(st.sampled_from(self.servers[op_id].with_ids()))
        op = self.state.operations[op_id]
        self._receive(op, self._generation(data, op), message)

    @precondition(lambda self: self.model.forgotten)
    @rule(data=st.data(), message=st.sampled_from(_CONTROL_FRAMES))
    def late_news_for_a_forgotten_operation(
        self, data: st.DataObject, message: ServerMessage
    ) -> None:
        """A frame or socket news for an operation the store forgot changes nothing."""
        op_id = data.draw(st.sampled_from(self.model.forgotten), label="forgotten")
        generation = data.draw(st.integers(min_value=0, max_value=3), label="generation")
        before = self.state
        news = data.draw(
            st.one_of(
                st.just(MessageReceived(link_id=op_id, generation=generation, message=message)),
                gs.socket_events(link_id=op_id, generation=generation),
            ),
            label="late news",
        )
        self._step(news)
        assert self.state is before, f"late news revived or changed forgotten {op_id}"
