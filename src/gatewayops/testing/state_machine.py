"""A Hypothesis state machine that drives the pure reducer against a simple model.

`GatewayMachine` plays the application, the transport, the timers and every effect
handler at once, in arbitrary interleavings, over several operations and topics: server
messages (valid, duplicated, out of order, foreign operation ids, echoes, terminal or
not), socket events of the current or a stale generation, timer firings (live or long
gone), refresh results, tool results, send failures, stops, detaches, re-attaches,
tokens replaced, reconnects and internal failures. After every step it runs the store's
one `InvariantChecker` (PROTOCOL.md section 11) and compares the state with its own
model (`gatewayops.testing._model`: notifications, markers, echoes, events accepted).
Use it as::

    from gatewayops.testing.state_machine import GatewayMachine
    TestGatewayMachine = GatewayMachine.TestCase

Must not know: Trio or I/O (it only calls `reduce`).
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

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
    ToolResult,
    UnknownMessage,
)
from gatewayops.store import (
    TRANSPORT_ACTIONS,
    Action,
    BadMessageReceived,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InvariantChecker,
    Link,
    MessageReceived,
    NotifyFinished,
    Operation,
    OperationAttached,
    OperationDetached,
    OperationStarted,
    OperationStatus,
    ReconnectRequested,
    SendFailed,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
    carries,
    concerned,
    link_resources,
    operation_resources,
    reduce,
)
from gatewayops.testing._model import TOPICS, Model, ServerSide

__all__ = ["GatewayMachine"]

GATEWAY_URL = "ws://127.0.0.1:9"
MAX_LIVE = 3
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
]


class GatewayMachine(RuleBasedStateMachine):
    """Random interleavings of everything that can happen to operations, checked."""

    def __init__(self) -> None:
        super().__init__()
        self.state = GatewayState(config=StoreConfig())
        self.checker = InvariantChecker(self.state.config)
        self.model = Model()
        self.servers: dict[str, ServerSide] = {}
        self.steps = 0
        self.started = 0

    @initialize(
        refresh_budget=st.integers(min_value=1, max_value=3),
        max_backoff_ms=st.sampled_from([2_000, 4_000, 30_000]),
    )
    def configure(self, refresh_budget: int, max_backoff_ms: int) -> None:
        """Small budgets and caps, so runs reach them as well as everything else."""
        config = StoreConfig(refresh_budget=refresh_budget, max_backoff_ms=max_backoff_ms)
        self.state = GatewayState(config=config)
        self.checker = InvariantChecker(config)

    # ------------------------------------------------------------------ driving

    def _step(self, action: Action) -> None:
        old_state = self.state
        link_id, op_id = concerned(old_state, action)
        old_op = None if op_id is None else old_state.operations.get(op_id)
        old_link = None if link_id is None else old_state.links.get(link_id)
        step = reduce(old_state, action)
        self.state = step.state
        self.steps += 1
        found = self.checker.check((self.steps, None), action, old_state, step.state, step.effects)
        assert not found, [str(violation) for violation in found]
        for effect in step.effects:
            self.model.observe(self.state, effect)
            if isinstance(effect, NotifyFinished) and not isinstance(action, HandlingFailed):
                # The reducer's safety net must never be what ends a run here.
                assert effect.outcome.source is not FinishSource.INTERNAL_ERROR, effect.outcome
        if old_op is None or old_link is None:
            return
        generation = getattr(action, "generation", None)
        if type(action) in TRANSPORT_ACTIONS and type(action) is not SendFailed:
            assert generation is not None
            if generation != old_link.generation:  # stale news changes nothing
                assert step.state == old_state, "stale news changed state"
                assert not step.effects, f"stale news had effects: {step.effects!r}"
            elif (
                isinstance(action, MessageReceived)
                and old_op.status is OperationStatus.RUNNING
                and carries(old_link, generation)
            ):
                finished = any(isinstance(e, NotifyFinished) for e in step.effects)
                self.model.received(old_op, old_link, action.message, finished)

    def _link(self, op: Operation) -> Link:
        return self.state.link_of(op)

    def _live_op(self, data: st.DataObject) -> Operation:
        live = sorted(op.id for op in self.state.operations.values() if not op.is_finished)
        finished_too = data.draw(st.sampled_from([False, False, False, True]), label="any op")
        choices = sorted(self.state.operations) if finished_too or not live else live
        return self.state.operations[data.draw(st.sampled_from(choices), label="operation")]

    def _generation(self, data: st.DataObject, op: Operation) -> int:
        generation = self._link(op).generation
        stale = data.draw(st.sampled_from([False, False, False, True]), label="stale generation")
        return generation - 1 if stale and generation > 1 else generation

    def _running(self) -> list[str]:
        running = OperationStatus.RUNNING
        return sorted(op.id for op in self.state.operations.values() if op.status is running)

    def _draw_running(self, data: st.DataObject, label: str) -> Operation:
        return self.state.operations[data.draw(st.sampled_from(self._running()), label=label)]

    def _receive(self, op: Operation, generation: int, message: ServerMessage) -> None:
        self._step(MessageReceived(link_id=op.link_id, generation=generation, message=message))

    # ------------------------------------------------------------------ app rules

    @rule(
        topic=st.sampled_from(TOPICS),
        attach=st.sampled_from([True, True, False]),
        cursor=st.sampled_from(["", "", "2"]),
    )
    def start_or_attach(self, topic: str, attach: bool, cursor: str) -> None:
        """The app starts a new run, or attaches to a running one (with or without cursor)."""
        self.started += 1
        op_id = f"op-{self.started}"
        if not self.model.topic_free_for(topic, op_id):
            return  # the composer shows Stop: a new run cannot start on a busy topic
        if sum(not op.is_finished for op in self.state.operations.values()) >= MAX_LIVE:
            return  # keep few operations alive, so each gets deep into its lifecycle
        self.servers[op_id] = ServerSide(next_id=int(cursor or 0))
        action: Action = OperationStarted(
            operation_id=op_id, topic_id=topic, gateway_url=GATEWAY_URL, token="t0"
        )
        if attach:
            action = OperationAttached(
                operation_id=op_id,
                topic_id=topic,
                gateway_url=GATEWAY_URL,
                token="t0",
                last_event_id=cursor,
            )
        self._step(action)
        self.model.followed(op_id, topic)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), pressed=st.sampled_from([True, False, False, False]))
    def stop(self, data: st.DataObject, pressed: bool) -> None:
        """The user presses stop (now and then: most runs are left to end by themselves)."""
        if pressed:
            self._step(StopRequested(operation_id=self._live_op(data).id))

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True, False, False]))
    def detach_or_reattach(self, data: st.DataObject, now: bool) -> None:
        """The app looks away from an operation, or comes back to a detached one."""
        op = self._live_op(data)
        if not now or op.is_finished:
            return
        if op.status is OperationStatus.RUNNING:
            self._step(OperationDetached(operation_id=op.id))
            self.model.detached(op.id)
        elif self.model.topic_free_for(op.topic_id, op.id):
            attach = OperationAttached(
                operation_id=op.id, topic_id=op.topic_id, gateway_url=GATEWAY_URL, token="t1"
            )
            self._step(attach)
            self.model.followed(op.id, op.topic_id)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 9))
    def token_replaced_or_reconnected(self, data: st.DataObject, now: bool) -> None:
        """The app hands over a fresh token, and now and then asks to reconnect at once."""
        op = self._live_op(data)
        if not now:
            return
        self._step(TokenReplaced(operation_id=op.id, token="t2"))
        if not op.is_finished and self.model.topic_free_for(op.topic_id, op.id):
            self._step(ReconnectRequested(operation_id=op.id))
            self.model.followed(op.id, op.topic_id)

    @precondition(lambda self: self.model.pending_interrupt)
    @rule(data=st.data(), confirmed=st.booleans())
    def interrupt_result(self, data: st.DataObject, confirmed: bool) -> None:
        """The interrupt call returns: confirmed or not."""
        op_id = data.draw(st.sampled_from(sorted(self.model.pending_interrupt)))
        self.model.pending_interrupt.discard(op_id)
        action: Action = InterruptFailed(operation_id=op_id, error="unconfirmed")
        if confirmed:
            action = InterruptConfirmed(operation_id=op_id)
        self._step(action)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 19))
    def carrying_out_fails(self, data: st.DataObject, now: bool) -> None:
        """Rarely, the runtime reports that carrying something out failed: the run ends."""
        op = self._live_op(data)
        if now:
            self._step(HandlingFailed(operation_id=op.id, error="internal error (test)"))
            assert self.state.operations[op.id].is_finished, f"{op.id} left open"

    # ------------------------------------------------------------------ transport rules

    @precondition(lambda self: self.state.operations)
    @rule(
        data=st.data(),
        kind=st.sampled_from([*["opened"] * 6, "closed", "failed", "bad", "fatal", "quiet"]),
    )
    def socket_event(self, data: st.DataObject, kind: str) -> None:
        """The socket opens, closes, fails (retryable or not), goes quiet or sends garbage."""
        op = self._live_op(data)
        link, generation = op.link_id, self._generation(data, op)
        action: Action = SocketFailed(
            link_id=link, generation=generation, error=kind, retryable=kind == "failed"
        )
        if kind == "opened":
            action = SocketOpened(link_id=link, generation=generation)
        elif kind == "closed":
            action = SocketClosed(link_id=link, generation=generation, code=1006)
        elif kind == "bad":
            action = BadMessageReceived(link_id=link, generation=generation, error="junk")
        elif kind == "quiet":
            action = SocketWentQuiet(link_id=link, generation=generation, quiet_ms=1)
        self._step(action)

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
                self._receive(op, link.generation, AuthSuccess())
            case ConnectionStatus.RECONNECTING:
                for timer in link_resources(link, self.state.config):
                    if isinstance(timer, Timer) and timer.kind is TimerKind.BACKOFF:
                        self._step(TimerFired(timer=timer))
            case _:
                self._receive(op, link.generation, HeartbeatAck())

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

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def network_drops(self, data: st.DataObject) -> None:
        """The live socket drops without a close frame (code 1006)."""
        link = self._link(self._draw_running(data, "dropped"))
        self._step(SocketClosed(link_id=link.id, generation=link.generation, code=1006))

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

    @precondition(lambda self: self.state.operations)
    @rule(
        data=st.data(),
        kind=st.sampled_from(
            [
                *["chunk"] * 4,
                "start",
                "tool",
                "tool",
                "foreign_end",
                "foreign_error",
                "end",
                "error",
            ]
        ),
        with_id=st.booleans(),
    )
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
        if kind in ("foreign_end", "foreign_error"):
            reason = data.draw(st.sampled_from(_REASONS), label="reason")
            event_type = "agent_runtime_end" if kind == "foreign_end" else "error"
            return event_type, "member-op", {"reason": reason}
        if kind == "end":
            return "agent_runtime_end", op_id, {"reason": data.draw(st.sampled_from(_REASONS))}
        return "error", op_id, {"message": "boom"}

    def _replayable(self) -> list[str]:
        return sorted(op_id for op_id, server in self.servers.items() if server.with_ids())

    @precondition(lambda self: self._replayable())
    @rule(data=st.data())
    def server_replays_old_event(self, data: st.DataObject) -> None:
        """The server sends an event it already sent (replay overlap), with its id."""
        op_id = data.draw(st.sampled_from(self._replayable()))
        message = data.draw(st.sampled_from(self.servers[op_id].with_ids()))
        op = self.state.operations[op_id]
        self._receive(op, self._generation(data, op), message)

    # ------------------------------------------------------------------ effect results

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), live=st.booleans())
    def timer_fires(self, data: st.DataObject, live: bool) -> None:
        """A live timer elapses, or a long-cancelled one fires late."""
        op = self._live_op(data)
        config = self.state.config
        timers = sorted(
            (
                resource
                for resource in (
                    *link_resources(self._link(op), config),
                    *operation_resources(op, config),
                )
                if isinstance(resource, Timer)
            ),
            key=repr,
        )
        if live and timers:
            timer = data.draw(st.sampled_from(timers), label="timer")
        else:
            kind = data.draw(st.sampled_from(list(TimerKind)), label="stale timer kind")
            timer = Timer(owner=op.id, kind=kind, generation=0, seq=99, delay_ms=1)
        self._step(TimerFired(timer=timer))

    @precondition(lambda self: self.model.pending_refresh)
    @rule(
        data=st.data(),
        result=st.sampled_from(["ok", "ok", "failed", "failed", "not_found"]),
        unasked=st.sampled_from([False, False, False, True]),
    )
    def refresh_result(self, data: st.DataObject, result: str, unasked: bool) -> None:
        """A token refresh returns (for a pending refresh, or now and then for another op)."""
        choices = sorted(self.state.operations) if unasked else sorted(self.model.pending_refresh)
        op_id = data.draw(st.sampled_from(choices), label="refresh of")
        self.model.pending_refresh.discard(op_id)
        action: Action = TokenRefreshed(operation_id=op_id, token="fresh")
        if result != "ok":
            action = TokenRefreshFailed(
                operation_id=op_id, error="refresh failed", not_found=result == "not_found"
            )
        self._step(action)

    @precondition(lambda self: any(self.model.pending_tools.values()))
    @rule(data=st.data(), success=st.booleans(), twice=st.booleans())
    def tool_finishes(self, data: st.DataObject, success: bool, twice: bool) -> None:
        """A client tool finishes (its result reported once, or a buggy second time)."""
        pending = self.model.pending_tools
        op_id = data.draw(st.sampled_from(sorted(k for k, v in pending.items() if v)))
        call_id = pending[op_id].pop(0)
        result = ToolResult(tool_call_id=call_id, success=success, content="done")
        for _ in range(2 if twice else 1):
            self._step(ToolFinished(operation_id=op_id, result=result))

    @precondition(lambda self: self.model.sent_tool_results)
    @rule(data=st.data())
    def tool_result_send_fails(self, data: st.DataObject) -> None:
        """Writing a tool result failed (the socket died under it)."""
        effect = data.draw(st.sampled_from(self.model.sent_tool_results))
        self.model.sent_tool_results.remove(effect)
        failed = SendFailed(
            link_id=effect.link_id, generation=effect.generation, message=effect.message
        )
        self._step(failed)

    # ------------------------------------------------------------------ the model

    @invariant()
    def the_state_agrees_with_the_model(self) -> None:
        """Notifications, outcomes, markers, loading flags and events accepted, as modelled."""
        self.model.check(self.state)
