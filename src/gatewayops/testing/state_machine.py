"""A Hypothesis state machine that drives the pure reducer against a simple model.

`GatewayMachine` plays the application, the transport, the timers and every effect
handler at once, in arbitrary interleavings, over several operations and topics: server
messages (valid, duplicated, out of order, foreign operation ids, echoes, terminal or
not), socket events of the current or a stale generation, timer firings (live or long
gone), refresh results, tool results, send failures, stops, detaches and re-attaches.
After every step it checks the invariants of PROTOCOL.md section 11 that apply to v1
against a model kept from the effects it has seen. Use it as::

    from gatewayops.testing.state_machine import GatewayMachine
    TestGatewayMachine = GatewayMachine.TestCase

Must not know: Trio or I/O (it only calls `reduce`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import hypothesis.strategies as st
from hypothesis import event
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

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
    Action,
    BadMessageReceived,
    ConnectionStatus,
    ExecuteTool,
    FinishSource,
    GatewayState,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    MessageReceived,
    NotifyFinished,
    Operation,
    OperationAttached,
    OperationDetached,
    OperationStarted,
    OperationStatus,
    ReconnectRequested,
    RefreshStatus,
    RefreshToken,
    RequestInterrupt,
    SendFailed,
    SendMessage,
    Socket,
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
    is_input_loading,
    operation_resources,
    reduce,
)

__all__ = ["GatewayMachine"]

GATEWAY_URL = "ws://127.0.0.1:9"
TOPICS = ("topic-a", "topic-b", "topic-c")
MAX_LIVE = 3
_CHUNK = {"chunkType": "text", "content": "x"}
_REASONS = (None, "interrupted", "waiting_for_async_tool", "error")


_AUTHENTICATED_BY_SUCCESS = frozenset(
    {ConnectionStatus.AUTHENTICATING, ConnectionStatus.CONNECTED, ConnectionStatus.EXPIRED}
)


def _reaches_live_socket(op: Operation, action: Action) -> bool:
    """Whether transport news is about the operation's current socket (not stale)."""
    return (
        isinstance(action, MessageReceived)
        and op.status is OperationStatus.RUNNING
        and action.generation == op.connection.generation
        and op.connection.status is not ConnectionStatus.RECONNECTING
        and op.connection.status is not ConnectionStatus.DISCONNECTED
    )


@attrs.define
class _ServerSide:
    """What the fake gateway of one operation has produced (ids, events, tools)."""

    next_id: int = 0
    sent: list[AgentEventMessage] = attrs.Factory(list)
    tool_calls: int = 0

    def with_ids(self) -> list[AgentEventMessage]:
        """Sent events that carry an envelope id (the only ones a replay repeats)."""
        return [message for message in self.sent if message.id is not None]


class GatewayMachine(RuleBasedStateMachine):
    """Random interleavings of everything that can happen to operations, checked."""

    def __init__(self) -> None:
        super().__init__()
        self.state = GatewayState(config=StoreConfig())
        self.servers: dict[str, _ServerSide] = {}
        self.notified: Counter[str] = Counter()
        self.outcomes: dict[str, Any] = {}
        self.model_status: dict[str, OperationStatus] = {}
        self.model_marker: dict[str, str | None] = dict.fromkeys(TOPICS)
        self.pending_refresh: set[str] = set()
        self.pending_interrupt: set[str] = set()
        self.pending_tools: dict[str, list[str]] = {}
        self.tool_results_delivered: Counter[tuple[str, str]] = Counter()
        self.sent_tool_results: list[SendMessage] = []
        self.owed_echoes: Counter[str] = Counter()
        self.accepted_own_events: Counter[str] = Counter()
        self.started = 0

    @initialize(
        refresh_budget=st.integers(min_value=1, max_value=3),
        max_backoff_ms=st.sampled_from([2_000, 4_000, 30_000]),
    )
    def configure(self, refresh_budget: int, max_backoff_ms: int) -> None:
        """Small budgets and caps, so runs reach them as well as everything else."""
        config = StoreConfig(refresh_budget=refresh_budget, max_backoff_ms=max_backoff_ms)
        self.state = GatewayState(config=config)

    # ------------------------------------------------------------------ driving

    def _step(self, action: Action) -> None:
        old_op = self.state.operations.get(action.operation_id)
        refresh_in_flight = old_op is not None and old_op.refresh.status is RefreshStatus.IN_FLIGHT
        accepted = old_op is not None and _reaches_live_socket(old_op, action)
        step = reduce(self.state, action)
        self.state = step.state
        if accepted and isinstance(action, MessageReceived):
            self._check_echo_model(old_op, action.message, step.effects)
        for effect in step.effects:
            self._observe(action, effect, refresh_in_flight)
        self._check_action_rules(action, old_op, step.effects)

    def _observe(self, action: Action, effect: Any, refresh_in_flight: bool) -> None:
        match effect:
            case NotifyFinished(operation_id=op_id, outcome=outcome):
                event(f"finished: {outcome.result.value} via {outcome.source.value}")
                self.notified[op_id] += 1
                self.outcomes[op_id] = outcome
                self.model_status[op_id] = OperationStatus.FINISHED
                topic = self.state.operations[op_id].topic_id
                if self.model_marker.get(topic) == op_id:
                    self.model_marker[topic] = None
            case RefreshToken(operation_id=op_id):
                assert not refresh_in_flight, f"{op_id}: a second refresh while one is in flight"
                self.pending_refresh.add(op_id)
            case RequestInterrupt(operation_id=op_id):
                self.pending_interrupt.add(op_id)
            case ExecuteTool(operation_id=op_id, tool_call_id=call_id):
                self.pending_tools.setdefault(op_id, []).append(call_id)
            case SendMessage(message=ToolResult(tool_call_id=call_id)):
                self.tool_results_delivered[(effect.operation_id, call_id)] += 1
                self.sent_tool_results.append(effect)

    def _check_echo_model(self, old: Any, message: ServerMessage, effects: Any) -> None:
        """Invariant 8, against a model: each foreign end owes one ignored session_complete."""
        op_id = old.id
        finished = any(isinstance(effect, NotifyFinished) for effect in effects)
        match message:
            case AuthSuccess() if old.connection.status in _AUTHENTICATED_BY_SUCCESS:
                self.owed_echoes[op_id] = 0
            case AgentEventMessage(id=envelope_id, event=event):
                # Only a resume replay is deduplicated (invariant 10): by id, else by
                # type, step and timestamp; the first copy wins.
                key = envelope_id or f"{event.type}_{event.step_index}_{event.timestamp}"
                duplicate = old.resume.buffering and key in old.resume.seen
                if event.is_own(op_id):
                    self.owed_echoes[op_id] = 0
                    if not duplicate:
                        self.accepted_own_events[op_id] += 1
                elif event.type == "agent_runtime_end":
                    self.owed_echoes[op_id] += 1
                if envelope_id:  # the cursor follows the server's ids, even backwards
                    cursor = self.state.operations[op_id].last_event_id
                    assert cursor == envelope_id, f"{op_id}: cursor {cursor!r} != {envelope_id!r}"
            case SessionComplete():
                if self.owed_echoes[op_id]:
                    self.owed_echoes[op_id] -= 1
                    assert not finished, f"{op_id}: an owed echo ended the session"
                else:
                    assert finished, f"{op_id}: a genuine session_complete was ignored"

    def _check_action_rules(self, action: Action, old: Operation | None, effects: Any) -> None:
        finished = any(isinstance(effect, NotifyFinished) for effect in effects)
        for effect in effects:  # the reducer's safety net must never be what ends a run here
            if isinstance(effect, NotifyFinished) and not isinstance(action, HandlingFailed):
                source = effect.outcome.source
                assert source is not FinishSource.INTERNAL_ERROR, effect.outcome.detail
        generation = getattr(action, "generation", None)
        if (
            old is not None
            and generation is not None
            and not isinstance(action, SendFailed)
            and generation != old.connection.generation
        ):
            assert self.state.operations[action.operation_id] == old, "stale news changed state"
            assert not effects, f"stale news had effects: {effects!r}"
        if isinstance(action, TimerFired) and finished:
            # Only a refresh that never answered may end a run, and only as an auth failure.
            op = self.state.operations[action.operation_id]
            assert action.timer.kind is TimerKind.REFRESH_TIMEOUT, f"silence completed {op.id}"
            assert op.outcome is not None
            assert op.outcome.source is FinishSource.REFRESH_FAILED, op.outcome
        if isinstance(action, MessageReceived) and isinstance(action.message, AuthExpired):
            op = self.state.operations[action.operation_id]
            assert not finished or (
                op.outcome is not None and op.outcome.source.value in ("refresh_budget",)
            ), "auth_expired alone completed an operation"
        if (
            isinstance(action, MessageReceived)
            and isinstance(action.message, AuthFailed)
            and old is not None
            and old.status is OperationStatus.RUNNING
            and action.generation == old.connection.generation
            and old.connection.status.value != "reconnecting"
        ):
            assert self.state.operations[action.operation_id].is_finished, "auth_failed ignored"

    def _op_ids(self) -> list[str]:
        return sorted(self.state.operations.keys())

    def _live_op(self, data: st.DataObject) -> Operation:
        live = sorted(op.id for op in self.state.operations.values() if not op.is_finished)
        finished_too = data.draw(st.sampled_from([False, False, False, True]), label="any op")
        choices = self._op_ids() if finished_too or not live else live
        op_id = data.draw(st.sampled_from(choices), label="operation")
        return self.state.operations[op_id]

    def _generation(self, data: st.DataObject, op: Operation) -> int:
        stale = data.draw(st.sampled_from([False, False, False, True]), label="stale generation")
        stale = stale and op.connection.generation > 1
        return op.connection.generation - 1 if stale else op.connection.generation

    # ------------------------------------------------------------------ app rules

    @rule(
        topic=st.sampled_from(TOPICS),
        attach=st.sampled_from([True, True, False]),
        cursor=st.sampled_from(["", "", "2"]),
    )
    def start_or_attach(self, topic: str, attach: bool, cursor: str) -> None:
        """The app starts a new run, or attaches to a running one (with or without cursor)."""
        marker = self.model_marker[topic]
        if marker is not None and self.model_status.get(marker) is OperationStatus.RUNNING:
            return  # the composer shows Stop: a new run cannot start on a busy topic
        if sum(not op.is_finished for op in self.state.operations.values()) >= MAX_LIVE:
            return  # keep few operations alive, so each gets deep into its lifecycle
        self.started += 1
        op_id = f"op-{self.started}"
        self.servers[op_id] = _ServerSide(next_id=int(cursor or 0))
        action: Action
        if attach:
            action = OperationAttached(
                operation_id=op_id,
                topic_id=topic,
                gateway_url=GATEWAY_URL,
                token="t0",
                last_event_id=cursor,
            )
        else:
            action = OperationStarted(
                operation_id=op_id, topic_id=topic, gateway_url=GATEWAY_URL, token="t0"
            )
        self._step(action)
        self.model_status[op_id] = OperationStatus.RUNNING
        self.model_marker[topic] = op_id

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
        if not now:
            return
        op = self._live_op(data)
        if op.status is OperationStatus.RUNNING:
            self._step(OperationDetached(operation_id=op.id))
            self.model_status[op.id] = OperationStatus.DETACHED
        elif op.status is OperationStatus.DETACHED:
            marker = self.model_marker[op.topic_id]
            if marker not in (None, op.id) and (
                self.model_status.get(marker) is OperationStatus.RUNNING
            ):
                return
            self._step(
                OperationAttached(
                    operation_id=op.id, topic_id=op.topic_id, gateway_url=GATEWAY_URL, token="t1"
                )
            )
            self.model_status[op.id] = OperationStatus.RUNNING
            self.model_marker[op.topic_id] = op.id

    @precondition(lambda self: self.pending_interrupt)
    @rule(data=st.data(), confirmed=st.booleans())
    def interrupt_result(self, data: st.DataObject, confirmed: bool) -> None:
        """The interrupt call returns: confirmed or not."""
        op_id = data.draw(st.sampled_from(sorted(self.pending_interrupt)))
        self.pending_interrupt.discard(op_id)
        action: Action = (
            InterruptConfirmed(operation_id=op_id)
            if confirmed
            else InterruptFailed(operation_id=op_id, error="unconfirmed")
        )
        self._step(action)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 9))
    def token_replaced_or_reconnected(self, data: st.DataObject, now: bool) -> None:
        """The app hands over a fresh token, and now and then asks to reconnect at once."""
        if not now:
            return
        op = self._live_op(data)
        if op.is_finished:
            self._step(TokenReplaced(operation_id=op.id, token="t2"))
            return
        if op.status is OperationStatus.DETACHED:
            marker = self.model_marker[op.topic_id]
            if marker not in (None, op.id) and (
                self.model_status.get(marker) is OperationStatus.RUNNING
            ):
                return  # reconnecting would be refused: the topic is busy
        self._step(TokenReplaced(operation_id=op.id, token="t2"))
        self._step(ReconnectRequested(operation_id=op.id))
        self.model_status[op.id] = OperationStatus.RUNNING
        self.model_marker[op.topic_id] = op.id

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 19))
    def carrying_out_fails(self, data: st.DataObject, now: bool) -> None:
        """Rarely, the runtime reports that carrying something out failed: the run ends."""
        if now:
            op = self._live_op(data)
            self._step(HandlingFailed(operation_id=op.id, error="internal error (test)"))
            if not op.is_finished:
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
        generation = self._generation(data, op)
        action: Action
        if kind == "opened":
            action = SocketOpened(operation_id=op.id, generation=generation)
        elif kind == "closed":
            action = SocketClosed(operation_id=op.id, generation=generation, code=1006)
        elif kind == "bad":
            action = BadMessageReceived(operation_id=op.id, generation=generation, error="junk")
        elif kind == "quiet":
            action = SocketWentQuiet(operation_id=op.id, generation=generation, quiet_ms=1)
        else:
            action = SocketFailed(
                operation_id=op.id, generation=generation, error=kind, retryable=kind == "failed"
            )
        self._step(action)

    def _running(self) -> list[str]:
        return sorted(
            op.id for op in self.state.operations.values() if op.status is OperationStatus.RUNNING
        )

    def _draw_running(self, data: st.DataObject, label: str) -> Operation:
        return self.state.operations[data.draw(st.sampled_from(self._running()), label=label)]

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def connection_progresses(self, data: st.DataObject) -> None:
        """The usual next step of a connection: it opens, is accepted, or backs off."""
        op = self._draw_running(data, "progressing")
        generation = op.connection.generation
        match op.connection.status:
            case ConnectionStatus.CONNECTING:
                self._step(SocketOpened(operation_id=op.id, generation=generation))
            case ConnectionStatus.AUTHENTICATING:
                self._receive(op.id, generation, AuthSuccess())
            case ConnectionStatus.RECONNECTING:
                timers = operation_resources(op, self.state.config)
                backoff = [
                    t for t in timers if isinstance(t, Timer) and t.kind is TimerKind.BACKOFF
                ]
                for timer in backoff:
                    self._step(TimerFired(operation_id=op.id, timer=timer))
            case _:
                self._receive(op.id, generation, HeartbeatAck())

    @precondition(lambda self: self._running())
    @rule(data=st.data(), reason=st.sampled_from(_REASONS))
    def member_terminal_is_mirrored(self, data: st.DataObject, reason: str | None) -> None:
        """A group member's end is mirrored onto this channel, then echoed (4.3)."""
        op = self._draw_running(data, "supervisor")
        server = self.servers[op.id]
        server.next_id += 1
        event = AgentEvent(
            type="agent_runtime_end",
            operation_id="member-op",
            step_index=len(server.sent),
            timestamp=float(len(server.sent)),
            data={"reason": reason},
        )
        message = AgentEventMessage(event=event, id=str(server.next_id))
        server.sent.append(message)
        self._receive(op.id, op.connection.generation, message)
        self._receive(op.id, op.connection.generation, SessionComplete())

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def network_drops(self, data: st.DataObject) -> None:
        """The live socket drops without a close frame (code 1006)."""
        op = self._draw_running(data, "dropped")
        self._step(SocketClosed(operation_id=op.id, generation=op.connection.generation, code=1006))

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def token_expires(self, data: st.DataObject) -> None:
        """The gateway says the token expired (PROTOCOL.md 5)."""
        op = self._draw_running(data, "expiring")
        self._receive(op.id, op.connection.generation, AuthExpired())

    @precondition(lambda self: self.state.operations)
    @rule(
        data=st.data(),
        message=st.sampled_from(
            [
                *[AuthSuccess()] * 4,
                *[AuthExpired()] * 4,
                AuthFailed(reason="operation not found"),
                HeartbeatAck(),
                SessionComplete(),
                UnknownMessage(type="status_change"),
                *(ResumeComplete(status=status) for status in SessionStatus),
            ]
        ),
    )
    def server_control(self, data: st.DataObject, message: ServerMessage) -> None:
        """The server sends a control frame on the current or a stale socket."""
        op = self._live_op(data)
        self._receive(op.id, self._generation(data, op), message)

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
        event = AgentEvent(
            type=event_type,
            operation_id=owner,
            step_index=len(server.sent),
            timestamp=float(len(server.sent)),
            data=payload,
        )
        message = AgentEventMessage(event=event, id=envelope_id)
        server.sent.append(message)
        self._receive(op.id, self._generation(data, op), message)

    def _event_shape(
        self, kind: str, op_id: str, server: _ServerSide, data: st.DataObject
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
        self._receive(op_id, self._generation(data, op), message)

    def _receive(self, op_id: str, generation: int, message: ServerMessage) -> None:
        self._step(MessageReceived(operation_id=op_id, generation=generation, message=message))

    # ------------------------------------------------------------------ effect results

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), live=st.booleans())
    def timer_fires(self, data: st.DataObject, live: bool) -> None:
        """A live timer elapses, or a long-cancelled one fires late."""
        op = self._live_op(data)
        timers = sorted(
            (r for r in operation_resources(op, self.state.config) if isinstance(r, Timer)),
            key=repr,
        )
        if live and timers:
            timer = data.draw(st.sampled_from(timers), label="timer")
        else:
            kind = data.draw(st.sampled_from(list(TimerKind)), label="stale timer kind")
            timer = Timer(operation_id=op.id, kind=kind, generation=0, seq=99, delay_ms=1)
        self._step(TimerFired(operation_id=op.id, timer=timer))

    @precondition(lambda self: self.pending_refresh)
    @rule(
        data=st.data(),
        result=st.sampled_from(["ok", "ok", "failed", "failed", "not_found"]),
        unasked=st.sampled_from([False, False, False, True]),
    )
    def refresh_result(self, data: st.DataObject, result: str, unasked: bool) -> None:
        """A token refresh returns (for a pending refresh, or now and then for another op)."""
        choices = self._op_ids() if unasked else sorted(self.pending_refresh)
        op_id = data.draw(st.sampled_from(choices), label="refresh of")
        self.pending_refresh.discard(op_id)
        action: Action
        if result == "ok":
            action = TokenRefreshed(operation_id=op_id, token="fresh")
        else:
            action = TokenRefreshFailed(
                operation_id=op_id, error="refresh failed", not_found=result == "not_found"
            )
        self._step(action)

    @precondition(lambda self: any(self.pending_tools.values()))
    @rule(data=st.data(), success=st.booleans(), twice=st.booleans())
    def tool_finishes(self, data: st.DataObject, success: bool, twice: bool) -> None:
        """A client tool finishes (its result reported once, or a buggy second time)."""
        op_id = data.draw(st.sampled_from(sorted(k for k, v in self.pending_tools.items() if v)))
        call_id = self.pending_tools[op_id].pop(0)
        result = ToolResult(tool_call_id=call_id, success=success, content="done")
        for _ in range(2 if twice else 1):
            self._step(ToolFinished(operation_id=op_id, result=result))

    @precondition(lambda self: self.sent_tool_results)
    @rule(data=st.data())
    def tool_result_send_fails(self, data: st.DataObject) -> None:
        """Writing a tool result failed (the socket died under it)."""
        effect = data.draw(st.sampled_from(self.sent_tool_results))
        self.sent_tool_results.remove(effect)
        assert isinstance(effect.message, ToolResult)
        self.tool_results_delivered[(effect.operation_id, effect.message.tool_call_id)] -= 1
        self._step(
            SendFailed(
                operation_id=effect.operation_id,
                generation=effect.generation,
                message=effect.message,
            )
        )

    # ------------------------------------------------------------------ invariants

    @invariant()
    def each_finished_operation_notified_exactly_once(self) -> None:
        """Invariant 1: exactly one NotifyFinished per finished operation, none before."""
        for op in self.state.operations.values():
            expected = 1 if op.is_finished else 0
            assert self.notified[op.id] == expected, f"{op.id}: notified {self.notified[op.id]}x"

    @invariant()
    def terminal_states_are_absorbing(self) -> None:
        """A finished operation keeps the outcome it was notified with."""
        for op_id, outcome in self.outcomes.items():
            op = self.state.operations[op_id]
            assert op.is_finished, f"{op_id} left its terminal state"
            assert op.outcome == outcome, f"{op_id} changed its outcome"

    @invariant()
    def nothing_survives_a_finished_operation(self) -> None:
        """Invariant 2: no socket or timer exists for a finished operation."""
        for op in self.state.operations.values():
            if op.is_finished:
                assert not operation_resources(op, self.state.config), f"{op.id} leaks"

    @invariant()
    def at_most_one_socket_and_bounded_backoff(self) -> None:
        """Invariants 12 and 13: one socket per operation; backoff never above the cap."""
        config = self.state.config
        for op in self.state.operations.values():
            found = operation_resources(op, config)
            assert sum(isinstance(r, Socket) for r in found) <= 1
            for resource in found:
                if isinstance(resource, Timer) and resource.kind is TimerKind.BACKOFF:
                    assert resource.delay_ms <= config.max_backoff_ms

    @invariant()
    def input_loading_matches_the_model(self) -> None:
        """`is_input_loading` is true exactly while the topic's marked run is running."""
        for topic in TOPICS:
            marker = self.model_marker[topic]
            expected = marker is not None and self.model_status[marker] is OperationStatus.RUNNING
            assert is_input_loading(self.state, topic) == expected, topic

    @invariant()
    def topic_markers_match_the_model(self) -> None:
        """Invariant 17: a marker is set by its run and cleared only when that run ends."""
        for topic in TOPICS:
            found = self.state.topics.get(topic)
            marker = None if found is None else found.running_operation
            assert marker == self.model_marker[topic], f"{topic}: marker {marker!r}"

    @invariant()
    def at_most_one_tool_result_per_tool_execute(self) -> None:
        """Invariant 14: no tool call gets two results on the wire."""
        for key, count in self.tool_results_delivered.items():
            assert count <= 1, f"{key}: {count} tool_result frames"

    @invariant()
    def every_accepted_event_shown_exactly_once(self) -> None:
        """Invariant 9: each own event the operation accepted is shown once: none lost
        (a buffered replay is flushed, never dropped), none duplicated."""
        for op in self.state.operations.values():
            buffered = sum(m.event.is_own(op.id) for m in op.resume.buffer)
            shown = op.transcript.events + buffered
            assert shown == self.accepted_own_events[op.id], f"{op.id}: {shown} shown"

    @invariant()
    def finished_operations_are_disconnected(self) -> None:
        """Invariant 2: a finished operation's connection is closed, not merely unlisted."""
        for op in self.state.operations.values():
            if op.is_finished:
                assert op.connection.status is ConnectionStatus.DISCONNECTED, op.id
