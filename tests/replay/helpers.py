"""Builders for the replay tests: a scripted recorded session, and log surgery.

`record_session` drives a `Store` with a `Recorder` through two operations that cover
most of the lifecycle (auth, streaming, a client tool, an expired token and its
refresh, a reconnect, a buffered attach, a heartbeat, both kinds of ending) and keeps
the live state after every action, keyed by the action's record number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import immutables

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    AuthExpired,
    AuthSuccess,
    HeartbeatAck,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    ToolResult,
)
from gatewayops.replay import REDACTED, Recorder, open_recorder
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationAttached,
    OperationStarted,
    SocketOpened,
    Store,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    ToolFinished,
    link_resources,
)

GATEWAY = "ws://gateway.test"
SECRET = "jwt-very-secret"
FRESH_SECRET = "jwt-fresh-secret"
CONFIG = StoreConfig(heartbeat_interval_ms=5_000, refresh_budget=2)


def event(op: str, type_: str, data: Any = None, id: str | None = None) -> AgentEventMessage:
    """An `agent_event` frame of operation `op`."""
    return AgentEventMessage(event=AgentEvent(type=type_, operation_id=op, data=data), id=id)


def chunk(op: str, text: str, id: str) -> AgentEventMessage:
    """A text `stream_chunk` with envelope id `id`."""
    return event(op, "stream_chunk", {"chunkType": "text", "content": text}, id)


def received(op: str, generation: int, message: ServerMessage) -> MessageReceived:
    """A frame arriving on socket `generation` of `op` (v1: on the operation's own link)."""
    return MessageReceived(link_id=op, generation=generation, message=message)


def redacted(state: GatewayState) -> GatewayState:
    """`state` with every operation's token redacted, as a replay of its log has it."""
    operations = immutables.Map(
        {op_id: attrs.evolve(op, token=REDACTED) for op_id, op in state.operations.items()}
    )
    return attrs.evolve(state, operations=operations)


@attrs.define
class Session:
    """A recorded session: where the log is, and the live states it went through."""

    path: Path
    store: Store
    states: dict[int, GatewayState] = attrs.Factory(dict)
    """Live state after each action, keyed by the action's record number."""


def _heartbeat(store: Store, op: str) -> TimerFired:
    state = store.state
    timers = link_resources(state.link_of(state.operations[op]), state.config)
    (timer,) = (t for t in timers if isinstance(t, Timer) and t.kind is TimerKind.HEARTBEAT)
    return TimerFired(timer=timer)


def _script() -> list[Action | str]:
    """The session's actions; ``"heartbeat:OP"`` fires that operation's heartbeat timer."""
    tool = {"toolCallId": "call-1", "identifier": "calc", "apiName": "add", "arguments": "{}"}
    return [
        OperationStarted(operation_id="op-1", topic_id="t-1", gateway_url=GATEWAY, token=SECRET),
        SocketOpened(link_id="op-1", generation=1),
        received("op-1", 1, AuthSuccess()),
        *(received("op-1", 1, chunk("op-1", f"word{i} ", str(i))) for i in range(1, 4)),
        received("op-1", 1, event("op-1", "tool_execute", tool, "4")),
        ToolFinished(
            operation_id="op-1", result=ToolResult(tool_call_id="call-1", success=True, content="3")
        ),
        OperationAttached(operation_id="op-2", topic_id="t-2", gateway_url=GATEWAY, token=SECRET),
        SocketOpened(link_id="op-2", generation=1),
        received("op-2", 1, AuthSuccess()),
        received("op-2", 1, chunk("op-2", "again ", "1")),
        received("op-2", 1, chunk("op-2", "again ", "1")),
        received("op-2", 1, ResumeComplete(status=SessionStatus.RUNNING)),
        received("op-1", 1, AuthExpired()),
        TokenRefreshed(operation_id="op-1", token=FRESH_SECRET),
        SocketOpened(link_id="op-1", generation=2),
        received("op-1", 2, AuthSuccess()),
        "heartbeat:op-2",
        received("op-2", 1, HeartbeatAck()),
        received("op-1", 2, chunk("op-1", "word5 ", "5")),
        received("op-1", 2, SessionComplete()),
        received("op-2", 1, event("op-2", "agent_runtime_end", {}, "2")),
    ]


def record_session(path: Path) -> Session:
    """Record the scripted session to `path` and return it with its live states."""
    with open_recorder(path) as recorder:
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        session = Session(path=path, store=store)
        for step in _script():
            action = _heartbeat(store, step.split(":")[1]) if isinstance(step, str) else step
            seq = recorder.records + 1
            store.dispatch(action)
            session.states[seq] = store.state
    assert recorder.error is None
    return session


def lines(path: Path) -> list[str]:
    """The log's lines, with their newlines."""
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def record_objects(path: Path) -> list[dict[str, Any]]:
    """The log's records (after the header) as JSON objects."""
    return [json.loads(line) for line in lines(path)[1:]]


def seq_of(path: Path, frame_type: str, *, nth: int = 0) -> int:
    """The record number of the `nth` inbound frame of type `frame_type`."""
    found = [
        obj["seq"]
        for obj in record_objects(path)
        if obj["dir"] == "in" and obj["payload"].get("frame", {}).get("type") == frame_type
    ]
    return int(found[nth])


def line_of(path: Path, seq: int) -> int:
    """The 1-based line of record `seq` in the log at `path`."""
    for number, line in enumerate(lines(path), start=1):
        if number > 1 and json.loads(line)["seq"] == seq:
            return number
    raise AssertionError(f"no record {seq}")


def rewrite(path: Path, new_lines: list[str]) -> Path:
    """Write `new_lines` as the log at `path` (returned for chaining)."""
    path.write_text("".join(new_lines), encoding="utf-8")
    return path


__all__ = [
    "CONFIG",
    "FRESH_SECRET",
    "GATEWAY",
    "SECRET",
    "Recorder",
    "Session",
    "chunk",
    "event",
    "line_of",
    "lines",
    "received",
    "record_objects",
    "record_session",
    "redacted",
    "rewrite",
    "seq_of",
]
