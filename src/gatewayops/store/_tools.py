"""Client-executed tool calls: from `tool_execute` to the one `tool_result` each is owed.

Owns: the tool-call lifecycle (`TOOL_TABLE`, one lookup per change) and the handlers
that move a call through it: started by a `tool_execute` event; its first result sent
at once when the link is authenticated, or queued until the next `auth_success`
(PROTOCOL.md 12.5); queued again when its write failed; expired when its deadline passes
(nothing is sent after that). A call owed a result lives in `Operation.tools`; once
sent or expired it moves to `Operation.settled_tools`, so the resources derived from
pending calls cost what is pending, not what the run ever asked. The handlers return the
results to send as `ToolResult` messages; the caller puts them on the link. Must not
know: sockets, timers, links, or how a tool is run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from gatewayops.protocol import ClientMessage, ToolExecuteData, ToolResult
from gatewayops.store._effects import ExecuteTool
from gatewayops.store._lifecycle import IGNORED, transition
from gatewayops.store._state import Operation, Tool, ToolStatus

__all__ = [
    "TOOL_TABLE",
    "ToolEvent",
    "queued_results",
    "start_tool",
    "tool_deadline_passed",
    "tool_finished",
    "tool_timeout_ms",
    "tool_write_failed",
]

_TOOL_DEADLINE_MARGIN_MS = 500
_MIN_TOOL_TIMEOUT_MS = 100


class ToolEvent(enum.StrEnum):
    """What moves a tool call between its statuses."""

    FINISHED_ONLINE = "finished_online"
    """The tool produced its result while the link is authenticated: it is sent."""
    FINISHED_OFFLINE = "finished_offline"
    """The tool produced its result while no link is authenticated: it is queued."""
    FLUSHED = "flushed"
    """A queued result is sent on a link just authenticated."""
    WRITE_FAILED = "write_failed"
    """The frame of a sent result could not be written: it is queued again."""
    DEADLINE_PASSED = "deadline_passed"


_S, _E = ToolStatus, ToolEvent
TOOL_TABLE: Mapping[tuple[ToolStatus, ToolEvent], Any] = {
    (_S.RUNNING, _E.FINISHED_ONLINE): _S.SENT,
    (_S.RUNNING, _E.FINISHED_OFFLINE): _S.QUEUED,
    # A second result for a call is a handler's bug: the first one stands.
    (_S.QUEUED, _E.FINISHED_ONLINE): IGNORED,
    (_S.QUEUED, _E.FINISHED_OFFLINE): IGNORED,
    (_S.QUEUED, _E.FLUSHED): _S.SENT,
    (_S.SENT, _E.WRITE_FAILED): _S.QUEUED,
    (_S.EXPIRED, _E.WRITE_FAILED): IGNORED,  # reported after the deadline: never resent
    (_S.RUNNING, _E.DEADLINE_PASSED): _S.EXPIRED,
    (_S.QUEUED, _E.DEADLINE_PASSED): _S.EXPIRED,
}
"""(Results for unknown or settled calls never reach the table: only pending calls and,
for a failed write, settled ones are looked up.)"""

_SETTLED = frozenset({ToolStatus.SENT, ToolStatus.EXPIRED})
_Moved = tuple[Operation, tuple[ClientMessage, ...]]


def tool_timeout_ms(execution_timeout_ms: int) -> int:
    """Local budget of a tool: 500 ms before the server's deadline, at least 100 ms."""
    return max(execution_timeout_ms - _TOOL_DEADLINE_MARGIN_MS, _MIN_TOOL_TIMEOUT_MS)


def _moved(op: Operation, tool: Tool, event: ToolEvent, result: ToolResult | None) -> _Moved:
    """`op` with `tool` moved by `event`, and the result to send if it was sent."""
    status = transition(TOOL_TABLE, tool.status, event)
    if status is None:
        return op, ()
    moved = attrs.evolve(tool, status=status, result=None if status in _SETTLED else result)
    if status in _SETTLED:
        op = attrs.evolve(
            op, tools=op.tools.delete(tool.id), settled_tools=op.settled_tools.set(tool.id, moved)
        )
    else:
        settled = op.settled_tools
        if tool.id in settled:
            settled = settled.delete(tool.id)
        op = attrs.evolve(op, tools=op.tools.set(tool.id, moved), settled_tools=settled)
    sent = (result,) if status is ToolStatus.SENT and result is not None else ()
    return op, sent


def start_tool(op: Operation, data: ToolExecuteData) -> tuple[Operation, ExecuteTool | None]:
    """A `tool_execute` asks for a call: run it once (a repeated call id runs nothing)."""
    if data.tool_call_id in op.tools or data.tool_call_id in op.settled_tools:
        return op, None
    tool = Tool(
        id=data.tool_call_id,
        order=len(op.tools) + len(op.settled_tools),
        deadline_ms=max(data.execution_timeout_ms, _MIN_TOOL_TIMEOUT_MS),
    )
    effect = ExecuteTool(
        operation_id=op.id,
        tool_call_id=data.tool_call_id,
        identifier=data.identifier,
        api_name=data.api_name,
        arguments=data.arguments,
        timeout_ms=tool_timeout_ms(data.execution_timeout_ms),
    )
    return attrs.evolve(op, tools=op.tools.set(tool.id, tool)), effect


def tool_finished(op: Operation, result: ToolResult, *, online: bool) -> _Moved:
    """A tool's result: sent now if `online` (the link is authenticated), else queued."""
    tool = op.tools.get(result.tool_call_id)
    if tool is None:
        return op, ()
    event = ToolEvent.FINISHED_ONLINE if online else ToolEvent.FINISHED_OFFLINE
    return _moved(op, tool, event, result)


def tool_deadline_passed(op: Operation, tool_call_id: str) -> Operation:
    """The server's deadline passed: a result not yet sent never will be."""
    tool = op.tools.get(tool_call_id)
    return op if tool is None else _moved(op, tool, ToolEvent.DEADLINE_PASSED, None)[0]


def queued_results(op: Operation) -> _Moved:
    """Every queued result, in call order, for a link just authenticated (all sent)."""
    queued = sorted(
        (tool for tool in op.tools.values() if tool.status is ToolStatus.QUEUED),
        key=lambda tool: tool.order,
    )
    messages: list[ClientMessage] = []
    for tool in queued:
        op, sent = _moved(op, tool, ToolEvent.FLUSHED, tool.result)
        messages.extend(sent)
    return op, tuple(messages)


def tool_write_failed(op: Operation, message: ClientMessage, *, resend: bool) -> _Moved:
    """A result whose write failed is queued again, never lost; with `resend` (a newer
    link is authenticated) it is sent again at once."""
    if not isinstance(message, ToolResult):
        return op, ()
    tool = op.settled_tools.get(message.tool_call_id)
    if tool is None:
        return op, ()
    op, _ = _moved(op, tool, ToolEvent.WRITE_FAILED, message)
    queued = op.tools.get(message.tool_call_id)
    if not resend or queued is None:
        return op, ()
    return _moved(op, queued, ToolEvent.FLUSHED, message)
