"""Client-executed tool calls: from `tool_execute` to the one `tool_result` each is owed.

Owns: the tool-call lifecycle (`TOOL_TABLE`, one lookup per change) and the handlers
that move a call through it: started by a `tool_execute` event, its result sent at once
when the socket is authenticated or queued until the next `auth_success` (PROTOCOL.md
12.5), re-queued when its write failed, expired when its deadline passes (nothing is
sent after that). A call owed a result lives in `Operation.tools`; once sent or
expired it moves to `Operation.settled_tools`, so the resources derived from pending
calls cost what is pending, not what the run ever asked. Must not know: sockets or
timers beyond the connection status, or how a tool is run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from gatewayops.protocol import ClientMessage, ToolExecuteData, ToolResult
from gatewayops.store._effects import Effect, ExecuteTool, SendMessage
from gatewayops.store._state import ConnectionStatus, Operation, Tool, ToolStatus

__all__ = [
    "TOOL_TABLE",
    "ToolEvent",
    "on_send_failed",
    "on_tool_deadline",
    "on_tool_finished",
    "send_queued_tool_results",
    "start_tool",
    "tool_timeout_ms",
]

_OpStep = tuple[Operation, tuple[Effect, ...]]
_TOOL_DEADLINE_MARGIN_MS = 500
_MIN_TOOL_TIMEOUT_MS = 100


class ToolEvent(enum.StrEnum):
    """What moves a tool call between its statuses."""

    RESULT_SENT = "result_sent"
    """Its result was written to an authenticated socket."""
    RESULT_QUEUED = "result_queued"
    """Its result is ready (or its write failed) while no socket is authenticated."""
    DEADLINE_PASSED = "deadline_passed"


_S, _E = ToolStatus, ToolEvent
TOOL_TABLE: Mapping[tuple[ToolStatus, ToolEvent], ToolStatus] = {
    (_S.RUNNING, _E.RESULT_SENT): _S.SENT,
    (_S.RUNNING, _E.RESULT_QUEUED): _S.QUEUED,
    (_S.QUEUED, _E.RESULT_SENT): _S.SENT,
    (_S.SENT, _E.RESULT_QUEUED): _S.QUEUED,
    (_S.RUNNING, _E.DEADLINE_PASSED): _S.EXPIRED,
    (_S.QUEUED, _E.DEADLINE_PASSED): _S.EXPIRED,
}
"""A pair that is missing does not apply: a result for a call that expired, a second
result, a deadline after the result was sent. The call is left as it is."""

_SETTLED = frozenset({ToolStatus.SENT, ToolStatus.EXPIRED})


def tool_timeout_ms(execution_timeout_ms: int) -> int:
    """Local budget of a tool: 500 ms before the server's deadline, at least 100 ms."""
    return max(execution_timeout_ms - _TOOL_DEADLINE_MARGIN_MS, _MIN_TOOL_TIMEOUT_MS)


def _find(op: Operation, tool_call_id: str) -> Tool | None:
    return op.tools.get(tool_call_id) or op.settled_tools.get(tool_call_id)


def _moved(
    op: Operation, tool: Tool, event: ToolEvent, result: ToolResult | None
) -> Operation | None:
    """`op` with `tool` moved by `event` (and holding `result`), or None if it does not apply."""
    status = TOOL_TABLE.get((tool.status, event))
    if status is None:
        return None
    moved = attrs.evolve(tool, status=status, result=result)
    if status in _SETTLED:
        return attrs.evolve(
            op, tools=op.tools.delete(tool.id), settled_tools=op.settled_tools.set(tool.id, moved)
        )
    settled = op.settled_tools.delete(tool.id) if tool.id in op.settled_tools else op.settled_tools
    return attrs.evolve(op, tools=op.tools.set(tool.id, moved), settled_tools=settled)


def start_tool(op: Operation, data: ToolExecuteData) -> _OpStep:
    """A `tool_execute` asks for a call: run it once (a repeated call id runs nothing)."""
    if _find(op, data.tool_call_id) is not None:
        return op, ()
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
    return attrs.evolve(op, tools=op.tools.set(tool.id, tool)), (effect,)


def _send(op: Operation, tool: Tool, result: ToolResult) -> _OpStep:
    moved = _moved(op, tool, ToolEvent.RESULT_SENT, None)
    if moved is None:
        return op, ()
    send = SendMessage(operation_id=op.id, generation=op.connection.generation, message=result)
    return moved, (send,)


def _queue(op: Operation, tool: Tool, result: ToolResult) -> _OpStep:
    moved = _moved(op, tool, ToolEvent.RESULT_QUEUED, result)
    return (op, ()) if moved is None else (moved, ())


def on_tool_finished(op: Operation, result: ToolResult) -> _OpStep:
    """A tool's one result: send it now if authenticated, else queue it."""
    tool = op.tools.get(result.tool_call_id)
    if tool is None:
        return op, ()
    if op.connection.status is ConnectionStatus.CONNECTED:
        return _send(op, tool, result)
    return _queue(op, tool, result)


def on_tool_deadline(op: Operation, tool_call_id: str) -> _OpStep:
    """The server's deadline passed: a result not yet sent never will be."""
    tool = op.tools.get(tool_call_id)
    moved = None if tool is None else _moved(op, tool, ToolEvent.DEADLINE_PASSED, None)
    return (op, ()) if moved is None else (moved, ())


def send_queued_tool_results(op: Operation) -> _OpStep:
    """Send every queued result on the (just authenticated) socket, in call order."""
    queued = sorted(
        (tool for tool in op.tools.values() if tool.status is ToolStatus.QUEUED),
        key=lambda tool: tool.order,
    )
    effects: list[Effect] = []
    for tool in queued:
        assert tool.result is not None  # a queued call always holds its result
        op, sent = _send(op, tool, tool.result)
        effects.extend(sent)
    return op, tuple(effects)


def on_send_failed(op: Operation, generation: int, message: ClientMessage) -> _OpStep:
    """A tool result that could not be written is queued again, never lost.

    It belongs to the operation, not the socket: if a newer socket is authenticated it
    goes there now; if the failed socket is still the current one (it is dying; its
    close will follow), it waits for the next `auth_success`.
    """
    if not isinstance(message, ToolResult):
        return op, ()
    tool = op.settled_tools.get(message.tool_call_id)
    if tool is None:
        return op, ()
    op, _ = _queue(op, tool, message)
    if generation == op.connection.generation:
        return op, ()
    if op.connection.status is not ConnectionStatus.CONNECTED:
        return op, ()
    queued = op.tools.get(message.tool_call_id)
    return (op, ()) if queued is None else _send(op, queued, message)
