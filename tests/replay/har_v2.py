"""A Chrome HAR capture of a browser on protocol v2, built from real v2 frames.

Every frame is a protocol message encoded by `gatewayops.protocol`'s v2 codec
(`encode_mux`), in the shape Chrome writes (``_webSocketMessages`` of ``send`` and
``receive`` entries with epoch times). Two ``/v2/ws`` sockets of one user, whose URL
carries the user token:

* socket 1: ``ready``; the browser subscribes to op-a (from the start, as executor) and
  op-b (from its cursor 2); the user feed (``op_lifecycle``) and a frame for op-x (which
  the browser never subscribed to) arrive among op-a's and op-b's events; op-a runs a
  client tool (its ``tool_result``) and ends with its own ``agent_runtime_end``; op-b
  ends with ``session_complete``; each is unsubscribed; a heartbeat and its ack; op-c
  is subscribed later and streams one chunk; then the socket drops.
* socket 2: ``ready``; op-c is subscribed again from its cursor and ends; op-d is
  subscribed, streams, and the browser unsubscribes while it still runs (the user left).
"""

from __future__ import annotations

import datetime
from typing import Any

from gatewayops.protocol import (
    AgentEvent,
    Heartbeat,
    HeartbeatAck,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    MuxToolResult,
    OpLifecycle,
    Ready,
    SessionStatus,
    Subscribe,
    ToolResult,
    Unsubscribe,
    encode_mux,
)

USER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.dXNlci10b2tlbi1zaWduYXR1cmU"
"""The user token in the sockets' URLs (shaped like a JWT, so it must be redacted)."""

GATEWAY = "wss://gw.example.com"
URL = f"{GATEWAY}/v2/ws?token={USER_TOKEN}&clientId=tab-1"
TOOL_RESULT = ToolResult(tool_call_id="call-a", success=True, content="3")
_T0 = 1_767_000_000.0


def _event(op: str, id: str, type_: str, data: Any = None) -> MuxAgentEvent:
    return MuxAgentEvent(
        operation_id=op, id=id, event=AgentEvent(type=type_, operation_id=op, data=data)
    )


def _chunk(op: str, id: str, text: str) -> MuxAgentEvent:
    return _event(op, id, "stream_chunk", {"chunkType": "text", "content": text})


_TOOL = {"toolCallId": "call-a", "identifier": "calc", "apiName": "add", "arguments": "{}"}

Frame = tuple[str, MuxServerMessage | MuxClientMessage]
"""``("receive", hub frame)`` or ``("send", browser frame)``."""

SOCKET_1: tuple[Frame, ...] = (
    ("receive", Ready(user_id="user-1", connection_id="conn-1")),
    ("send", Subscribe(operation_id="op-a", executor=True)),
    ("send", Subscribe(operation_id="op-b", last_event_id="2", executor=True)),
    ("receive", OpLifecycle(operation_id="op-z", status=SessionStatus.RUNNING, at=1.0)),
    ("receive", _event("op-a", "1", "agent_runtime_init", {})),
    ("receive", _chunk("op-b", "3", "replayed ")),
    ("receive", MuxResumeComplete(operation_id="op-b", status=SessionStatus.RUNNING)),
    ("receive", _chunk("op-x", "7", "not this browser's")),
    ("receive", _chunk("op-a", "2", "Hello ")),
    ("receive", _event("op-a", "3", "tool_execute", _TOOL)),
    ("send", MuxToolResult(operation_id="op-a", result=TOOL_RESULT)),
    ("send", Heartbeat()),
    ("receive", HeartbeatAck()),
    ("receive", _chunk("op-a", "4", "world")),
    ("receive", _chunk("op-b", "4", "live")),
    ("receive", _event("op-a", "5", "agent_runtime_end", {})),
    ("send", Unsubscribe(operation_id="op-a")),
    ("receive", OpLifecycle(operation_id="op-a", status=SessionStatus.COMPLETED, at=2.0)),
    ("receive", MuxSessionComplete(operation_id="op-b", id="5")),
    ("send", Unsubscribe(operation_id="op-b")),
    ("send", Subscribe(operation_id="op-c", executor=True)),
    ("receive", _chunk("op-c", "1", "before the drop")),
)
SOCKET_2: tuple[Frame, ...] = (
    ("receive", Ready(user_id="user-1", connection_id="conn-2")),
    ("send", Subscribe(operation_id="op-c", last_event_id="1", executor=True)),
    ("receive", _chunk("op-c", "2", " and after")),
    ("receive", _event("op-c", "3", "agent_runtime_end", {})),
    ("send", Unsubscribe(operation_id="op-c")),
    ("send", Subscribe(operation_id="op-d", executor=True)),
    ("receive", _chunk("op-d", "1", "left behind")),
    ("send", Unsubscribe(operation_id="op-d")),
)


def _entry(frames: tuple[Frame, ...], opened: float) -> dict[str, Any]:
    started = datetime.datetime.fromtimestamp(opened, datetime.UTC).isoformat()
    messages = [
        {"type": kind, "time": opened + 0.01 * (index + 1), "opcode": 1, "data": encode_mux(m)}
        for index, (kind, m) in enumerate(frames)
    ]
    return {
        "startedDateTime": started,
        "request": {
            "method": "GET",
            "url": URL,
            "headers": [{"name": "Cookie", "value": f"session={USER_TOKEN}"}],
        },
        "response": {"status": 101},
        "_resourceType": "websocket",
        "_webSocketMessages": messages,
    }


def v2_har(*sockets: tuple[Frame, ...]) -> dict[str, Any]:
    """The capture: a page load, then one ``/v2/ws`` entry per socket (default: both
    sockets above), each opened a second after the one before."""
    page = {
        "startedDateTime": datetime.datetime.fromtimestamp(_T0 - 1, datetime.UTC).isoformat(),
        "request": {"method": "GET", "url": f"https://app.example.com/chat?token={USER_TOKEN}"},
        "response": {"status": 200},
    }
    frames = sockets or (SOCKET_1, SOCKET_2)
    entries = [_entry(socket, _T0 + index) for index, socket in enumerate(frames)]
    return {"log": {"version": "1.2", "creator": {"name": "Chrome"}, "entries": [page, *entries]}}
