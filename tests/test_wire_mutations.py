"""Input nobody wrote by hand: valid frame sequences mutated at the wire level.

Hypothesis builds a plausible v1 session (as the gateway would send it), then mutates it
as text and JSON -- drops, duplicates and reorders frames, deletes fields, changes their
types, puts in huge numbers and strings, wrong or backwards ids, truncated and garbage
frames -- interleaved with socket drops and timer firings. Every frame goes through the
real decoder (`frame_received`) and `reduce`, and after every step the checks that must
survive any input hold (PROTOCOL.md invariants 1, 4 and 24):

* nothing raises (the reducer's safety net is not what ends a run either);
* each operation is notified at most once, and the pure invariant checker of
  `gatewayops.replay` finds no violation;
* an operation that received its own terminal event, or an `auth_failed`, on its live
  socket has finished.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import gatewayops.store._link_v1 as link_v1
from _checked_steps import CheckedSteps
from gatewayops.protocol import AgentEventMessage, AuthFailed
from gatewayops.store import (
    Action,
    GatewayState,
    Link,
    MessageReceived,
    Operation,
    OperationStarted,
    OperationStatus,
    SocketClosed,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    carries,
    frame_received,
    link_resources,
    operation_resources,
)
from gatewayops.testing._wire_mutations import (
    HUGE,
    RAW,
    Wire,
    copied,
    encode,
    garbled,
    reshuffled,
)

OP = "op-1"
CONFIG = StoreConfig()

# --------------------------------------------------------------------------- valid sessions


def _event(type_: str, data: Any, owner: str = OP) -> dict[str, Any]:
    return {"type": type_, "operationId": owner, "stepIndex": 0, "timestamp": 1, "data": data}


_MIDDLE = st.sampled_from(
    [
        ("stream_start", {"assistantMessage": {"id": "m1"}}),
        ("stream_chunk", {"chunkType": "text", "content": "hello "}),
        ("stream_chunk", {"chunkType": "reasoning", "reasoning": "thinking"}),
        ("stream_chunk", {"chunkType": "text", "content": "v2", "snapshotMode": "replace"}),
        ("tool_start", {"toolCalling": {"id": "t1", "identifier": "web", "apiName": "q"}}),
        ("tool_end", {"isSuccess": True, "payload": {"toolCalling": {"id": "t1"}}}),
        ("tool_execute", {"toolCallId": "c1", "identifier": "calc", "arguments": "{}"}),
        ("stream_end", {"finalContent": "done"}),
        (
            "agent_intervention_request",
            {
                "toolCallId": "ask-1",
                "apiName": "askUserQuestion",
                "arguments": '{"questions": [{"question": "Go?", "options": [{"label": "Yes"}]}]}',
                "deadline": 30_001,
            },
        ),
        (
            "agent_intervention_response",
            {
                "toolCallId": "ask-1",
                "result": "Yes",
                "resolutionRequestId": "r",
                "producerAck": True,
            },
        ),
        ("step_start", {"phase": "human_approval", "requiresApproval": True}),
        ("step_complete", {"phase": "execution_complete"}),
        (
            "stream_chunk",
            {
                "chunkType": "tools_calling",
                "toolsCalling": [
                    {"id": "t2", "identifier": "web", "apiName": "q", "arguments": "{"}
                ],
            },
        ),
        ("tool_end", {"isSuccess": True, "payload": {"id": "t2", "identifier": "web"}}),
        ("step_start", {"uiMessages": [{"id": "m1", "role": "assistant", "content": "hi"}]}),
        (
            "message_patch",
            {
                "revision": 1,
                "deletes": ["m0"],
                "upserts": [{"afterId": None, "message": {"id": "m2", "role": "assistant"}}],
            },
        ),
    ]
)
_ENDS: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"type": "agent_event", "event": _event("agent_runtime_end", {})},
        {"type": "agent_event", "event": _event("agent_runtime_end", {"reason": "interrupted"})},
        {"type": "agent_event", "event": _event("error", {"message": "boom"})},
        {
            "type": "agent_event",
            "event": _event(
                "error",
                {"errorType": "AgentRuntimeError", "error": "no cli", "body": {"cmd": "npm i"}},
            ),
        },
        {
            "type": "agent_event",
            "event": _event("agent_runtime_end", {"messagePatchMode": True, "messageRevision": 3}),
        },
        {"type": "resume_complete", "status": "completed", "gap": True},
        {"type": "session_complete"},
        {"type": "resume_complete", "status": "completed"},
        {"type": "auth_failed", "reason": "operation not found"},
    ]
)


@st.composite
def sessions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """What a gateway sends one operation: handshake, events with rising ids, an end."""
    frames: list[dict[str, Any]] = [{"type": "auth_success"}]
    if draw(st.booleans()):
        frames.append({"type": "resume_complete", "status": "running"})
    for index, (type_, data) in enumerate(draw(st.lists(_MIDDLE, max_size=12)), start=1):
        frames.append({"type": "agent_event", "id": str(index), "event": _event(type_, data)})
        if draw(st.integers(0, 5)) == 0:
            frames.append({"type": "heartbeat_ack"})
    if draw(st.booleans()):  # a group member's end, mirrored, and its echo
        member = _event("agent_runtime_end", {}, owner="member-op")
        frames += [{"type": "agent_event", "event": member}, {"type": "session_complete"}]
    frames.append(draw(_ENDS))
    return frames


# --------------------------------------------------------------------------- mutations

_DROP_SOCKET = 0
"""The marker of a socket drop between frames."""


def _new_id(draw: st.DrawFn, frame: dict[str, Any]) -> None:
    if frame.get("type") == "agent_event":
        frame["id"] = draw(st.sampled_from(["0", "1", HUGE, "", 7, RAW + HUGE, None]))


def _new_owner(draw: st.DrawFn, frame: dict[str, Any]) -> None:
    if isinstance(frame.get("event"), dict):
        frame["event"]["operationId"] = draw(st.sampled_from(["other", "", 0, 5, None]))


@st.composite
def mutated(draw: st.DrawFn) -> Wire:
    """A session's frames as wire text, mutated, with socket drops between them."""
    frames = reshuffled(draw, copied(draw(sessions())), 6, {"id": _new_id, "owner": _new_owner})
    return garbled(draw, [encode(frame) for frame in frames], (_DROP_SOCKET,))


# --------------------------------------------------------------------------- driving


class _Drive(CheckedSteps):
    """Feeds one operation the mutated frames, checking every step."""

    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.step(OperationStarted(operation_id=OP, topic_id="t", gateway_url="ws://gw", token="x"))
        self.step(SocketOpened(link_id=OP, generation=1))

    @property
    def op(self) -> Operation:
        return self.state.operations[OP]

    @property
    def link(self) -> Link:
        return self.state.link_of(self.op)

    def step(self, action: Action) -> GatewayState:
        old_state = super().step(action)
        if OP in old_state.operations and _must_finish(old_state, action):
            assert self.op.is_finished, f"{action!r} did not end the run"
        return old_state

    def drop_socket(self) -> None:
        if self.op.is_finished:
            return
        self.step(SocketClosed(link_id=OP, generation=self.link.generation, code=1006))
        for timer in _timers(self.state):
            if timer.kind is TimerKind.BACKOFF:
                self.step(TimerFired(timer=timer))
        if not self.op.is_finished:
            self.step(SocketOpened(link_id=OP, generation=self.link.generation))

    def fire_a_timer(self, pick: int) -> None:
        live = sorted(_timers(self.state), key=repr)
        if live:
            self.step(TimerFired(timer=live[pick % len(live)]))


def _timers(state: GatewayState) -> list[Timer]:
    op = state.operations[OP]
    owned = link_resources(state.link_of(op), state.config) | operation_resources(op, state.config)
    return [r for r in owned if isinstance(r, Timer)]


def _must_finish(old: GatewayState, action: Action) -> bool:
    """Whether `action` is an own terminal event or an auth failure on the live socket."""
    op = old.operations[OP]
    if not isinstance(action, MessageReceived) or op.status is not OperationStatus.RUNNING:
        return False
    if not carries(old.link_of(op), action.generation):
        return False
    message = action.message
    if isinstance(message, AuthFailed):
        return True
    return (
        isinstance(message, AgentEventMessage)
        and message.event.is_terminal_type
        and message.event.is_own(OP)
    )


def _survive(frames: Wire, ticks: list[int]) -> None:
    drive = _Drive()
    for index, text in enumerate(frames):
        if drive.op.is_finished:
            break
        if not isinstance(text, str):
            drive.drop_socket()
            continue
        drive.step(frame_received(OP, drive.link.generation, text))
        if index in ticks:
            drive.fire_a_timer(index)


_TICKS = st.lists(st.integers(0, 40), max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=mutated(), ticks=_TICKS)
def test_mutated_sessions_never_break_the_promise(frames: Wire, ticks: list[int]) -> None:
    """Whatever the mutations, no step raises or breaks an invariant, nothing is notified
    twice, and an own terminal event or `auth_failed` on the live socket ends the run."""
    _survive(frames, ticks)


def test_the_mutation_test_catches_a_terminal_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks can fail: with `auth_failed` made non-terminal, some mutated session
    (the plain ones included) trips them."""
    monkeypatch.setattr(link_v1, "on_auth_rejected", lambda op, reason: (op, ()))
    seeded = settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )(given(frames=mutated(), ticks=_TICKS)(_survive))
    with pytest.raises(AssertionError, match=r"did not end the (run|operation)"):
        seeded()
