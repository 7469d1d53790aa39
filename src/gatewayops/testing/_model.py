"""The simple model `GatewayMachine` (and `GatewayMachineV2`) checks the reducer against.

Owns: what the machine expects, kept from the actions it takes and the effects it sees,
never from reading the reducer's decisions back: which operations were notified and
how, each operation's followed status and each topic's marker as the application's
actions set them, the effect results still owed (refreshes, interrupts, tools, answers,
fetches of the server's message list: never two at once for an operation), the
tool results put on the wire, the echoes a mirrored member terminal owes (v1's and
v2's, whose `subscribe` starts them again), and how many own events each operation
accepted (v2: less the repeats its numeric ids show), and which finished operations
the store keeps (the newest `retain_finished`, in the order the model saw them
notified, less those the application forgot) and which it forgot. The step invariants
of PROTOCOL.md section 11 are not here: the machine runs the store's one
`InvariantChecker` for those. Must not know: Trio or I/O.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
from hypothesis import event

from gatewayops.protocol import (
    AgentEventMessage,
    AuthSuccess,
    ServerMessage,
    SessionComplete,
    ToolResult,
    sequence_number,
)
from gatewayops.protocol._v2_messages import (
    MuxAgentEvent,
    MuxSessionComplete,
    MuxToolResult,
    StatusChange,
    Subscribe,
)
from gatewayops.store import (
    ConnectionStatus,
    ExecuteTool,
    FetchMessages,
    GatewayState,
    Link,
    NotifyFinished,
    Operation,
    OperationStatus,
    Outcome,
    RefreshToken,
    RequestInterrupt,
    SendMessage,
    SubmitIntervention,
    is_input_loading,
)

__all__ = ["TOPICS", "Model", "ServerSide"]

TOPICS = ("topic-a", "topic-b", "topic-c")
_AUTHENTICATED_BY_SUCCESS = frozenset({ConnectionStatus.AUTHENTICATING, ConnectionStatus.CONNECTED})


def _repeats(event_id: str | None, cursor: str) -> bool:
    """Whether a v2 frame with this envelope id is one the session has seen (both ids
    numeric and it not greater; an empty cursor stands at 0)."""
    number = sequence_number(event_id)
    seen = sequence_number(cursor or "0")
    return number is not None and seen is not None and number <= seen


@attrs.define
class ServerSide:
    """What the fake gateway of one operation has produced (ids, events, tools)."""

    next_id: int = 0
    sent: list[AgentEventMessage] = attrs.Factory(list)
    tool_calls: int = 0
    asks: int = 0

    def with_ids(self) -> list[AgentEventMessage]:
        """Sent events that carry an envelope id (the only ones a replay repeats)."""
        return [message for message in self.sent if message.id is not None]


@attrs.define
class Model:
    """What the machine expects of the store."""

    notified: Counter[str] = attrs.Factory(Counter)
    outcomes: dict[str, Outcome] = attrs.Factory(dict)
    status: dict[str, OperationStatus] = attrs.Factory(dict)
    marker: dict[str, str | None] = attrs.Factory(lambda: dict.fromkeys(TOPICS))
    pending_refresh: set[str] = attrs.Factory(set)
    pending_interrupt: set[str] = attrs.Factory(set)
    pending_tools: dict[str, list[str]] = attrs.Factory(dict)
    sent_tool_results: list[SendMessage] = attrs.Factory(list)
    pending_submissions: list[SubmitIntervention] = attrs.Factory(list)
    pending_fetches: set[str] = attrs.Factory(set)
    owed_echoes: Counter[str] = attrs.Factory(Counter)
    accepted_own_events: Counter[str] = attrs.Factory(Counter)
    retain_finished: int = 1_000
    kept: list[str] = attrs.Factory(list)
    """Finished operations the store should keep, oldest first."""
    forgotten: list[str] = attrs.Factory(list)
    """Operations the store should have forgotten, in order."""

    # ------------------------------------------------------------------ what the app did

    def followed(self, op_id: str, topic: str) -> None:
        """The application follows `op_id` on `topic` (start, attach, reconnect)."""
        self.status[op_id] = OperationStatus.RUNNING
        self.marker[topic] = op_id

    def detached(self, op_id: str) -> None:
        """The application stopped following `op_id`."""
        self.status[op_id] = OperationStatus.DETACHED

    def forgot(self, op_id: str) -> None:
        """`op_id` is forgotten (by the application, or past the retention)."""
        self.kept.remove(op_id)
        self.forgotten.append(op_id)
        self.pending_tools.pop(op_id, None)  # its tools' results can no longer matter

    def topic_free_for(self, topic: str, op_id: str) -> bool:
        """Whether `op_id` may follow on `topic` (no other running operation holds it)."""
        holder = self.marker[topic]
        return holder in (None, op_id) or self.status.get(holder) is not OperationStatus.RUNNING

    # ------------------------------------------------------------------ what the store did

    def observe(self, state: GatewayState, effect: Any) -> None:
        """Take note of one effect of a step."""
        match effect:
            case NotifyFinished(operation_id=op_id, topic_id=topic, outcome=outcome):
                event(f"finished: {outcome.result.value} via {outcome.source.value}")
                self.notified[op_id] += 1
                self.outcomes[op_id] = outcome
                self.status[op_id] = OperationStatus.FINISHED
                if self.marker.get(topic) == op_id:
                    self.marker[topic] = None
                self.kept.append(op_id)
                if len(self.kept) > self.retain_finished:
                    self.forgot(self.kept[0])
            case RefreshToken(operation_id=op_id):
                self.pending_refresh.add(op_id)
            case RequestInterrupt(operation_id=op_id):
                self.pending_interrupt.add(op_id)
            case ExecuteTool(operation_id=op_id, tool_call_id=call_id):
                self.pending_tools.setdefault(op_id, []).append(call_id)
            case SendMessage(message=ToolResult() | MuxToolResult()):
                self.sent_tool_results.append(effect)
            case SendMessage(message=Subscribe(operation_id=op_id)):
                self.owed_echoes[op_id] = 0  # a new replay: the guard starts again
            case SubmitIntervention():
                self.pending_submissions.append(effect)
            case FetchMessages(operation_id=op_id):
                assert op_id not in self.pending_fetches, f"{op_id}: the list asked twice"
                self.pending_fetches.add(op_id)

    def received(self, old: Operation, link: Link, message: ServerMessage, finished: bool) -> None:
        """Invariant 8, against the model: each foreign end owes one ignored echo; and the
        count of own events accepted (a resume replay shows each key once)."""
        op_id = old.id
        match message:
            case AuthSuccess() if link.status in _AUTHENTICATED_BY_SUCCESS:
                self.owed_echoes[op_id] = 0
            case AgentEventMessage(id=envelope_id, event=agent_event):
                key = envelope_id or (
                    f"{agent_event.type}_{agent_event.step_index}_{agent_event.timestamp}"
                )
                duplicate = old.resume.buffering and key in old.resume.seen
                if agent_event.is_own(op_id):
                    self.owed_echoes[op_id] = 0
                    if not duplicate:
                        self.accepted_own_events[op_id] += 1
                elif agent_event.type == "agent_runtime_end":
                    self.owed_echoes[op_id] += 1
            case SessionComplete():
                self._ended_unless_owed(op_id, finished)

    def received_v2(self, old: Operation, message: object, finished: bool) -> None:
        """The same over v2, for a hub frame of a session its link carries: a numeric
        envelope id not after the cursor is a repeat (dropped, PROTOCOL.md 7.4); an own
        event is accepted (a `tool_execute` only by an executor), and a terminal
        `status_change` is an end or an owed echo as `session_complete` is."""
        op_id = old.id
        match message:
            case MuxAgentEvent() | MuxSessionComplete() | StatusChange() if _repeats(
                message.id, old.last_event_id
            ):
                assert not finished, f"{op_id}: a repeated frame ended the session"
            case MuxAgentEvent(event=agent_event):
                if agent_event.is_own(op_id):
                    self.owed_echoes[op_id] = 0
                    if agent_event.type != "tool_execute" or old.executor:
                        self.accepted_own_events[op_id] += 1
                elif agent_event.type == "agent_runtime_end":
                    self.owed_echoes[op_id] += 1
            case MuxSessionComplete():
                self._ended_unless_owed(op_id, finished)
            case StatusChange(status=status) if status is not None and status.is_terminal:
                self._ended_unless_owed(op_id, finished)

    def _ended_unless_owed(self, op_id: str, finished: bool) -> None:
        if self.owed_echoes[op_id]:
            self.owed_echoes[op_id] -= 1
            assert not finished, f"{op_id}: an owed echo ended the session"
        else:
            assert finished, f"{op_id}: a genuine end was ignored"

    # ------------------------------------------------------------------ comparisons

    def check(self, state: GatewayState) -> None:
        """Compare the state with the model (what no single step shows)."""
        for op in state.operations.values():
            expected = 1 if op.is_finished else 0
            assert self.notified[op.id] == expected, f"{op.id}: notified {self.notified[op.id]}x"
            buffered = sum(m.event.is_own(op.id) for m in op.resume.buffer)
            shown = op.transcript.events + buffered
            assert shown == self.accepted_own_events[op.id], f"{op.id}: {shown} shown"
        for op_id in self.forgotten:
            assert op_id not in state.operations, f"{op_id} was forgotten, yet it is back"
            assert self.notified[op_id] == 1, f"{op_id} forgotten after {self.notified[op_id]}"
        for op_id in self.kept:
            op = state.operations[op_id]
            assert op.is_finished, f"{op_id} left its terminal state"
            assert op.outcome == self.outcomes[op_id], f"{op_id} changed its outcome"
        finished = sorted(op.id for op in state.operations.values() if op.is_finished)
        assert finished == sorted(self.kept), f"kept {finished}, expected {sorted(self.kept)}"
        for topic in TOPICS:
            marker = self.marker[topic]
            expected_loading = marker is not None and self.status[marker] is OperationStatus.RUNNING
            assert is_input_loading(state, topic) == expected_loading, topic
            found = state.topics.get(topic)
            actual = None if found is None else found.running_operation
            assert actual == marker, f"{topic}: marker {actual!r}, expected {marker!r}"
