"""One operation's life on the user's v2 socket: its tools, `reconnect` and `detach`.

PROTOCOL.md 7.2 (`tool_result{operationId, ...}`), 7.4 (queued tool results go out
after every `subscribe` of a `ready`), 7.7 (`reconnect` resubscribes from the cursor,
`detach` unsubscribes without ending the run).
"""

from __future__ import annotations

from typing import Any

import trio

from gatewayops.protocol import MuxToolResult, Subscribe, ToolResult, Unsubscribe
from gatewayops.store import OperationStatus
from gatewayops.transport import MemoryTransport

from .helpers import OP, settle
from .mux_helpers import (
    OP2,
    expect,
    mux_chunk,
    mux_end,
    mux_event,
    ready,
    send,
    start,
    subscriptions,
    v2_client_on,
)


def tool_execute(*, id: str, call_id: str = "call-1") -> Any:
    """A `tool_execute` for `OP` asking for ``calc/add``."""
    data = {
        "toolCallId": call_id,
        "identifier": "calc",
        "apiName": "add",
        "arguments": '{"a": 1, "b": 2}',
        "executionTimeoutMs": 60_000,
    }
    return mux_event("tool_execute", data, id=id)


async def slow_add(arguments: dict[str, Any]) -> Any:
    """A tool that takes 5 s and returns the sum."""
    await trio.sleep(5)
    return {"sum": arguments["a"] + arguments["b"]}


async def test_a_tool_result_names_its_operation(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A `tool_execute` for an executor subscription runs the tool once; its result goes
    out as a v2 `tool_result` carrying the operation id."""
    async with v2_client_on(transport, tools={"calc/add": slow_add}) as client:
        start(client)
        server = await ready(transport)
        assert (await expect(server, Subscribe)).executor
        send(server, tool_execute(id="1"))
        sent = await expect(server, MuxToolResult)
        send(server, mux_end(id="2"))
        await client.wait_finished(OP)
    assert sent == MuxToolResult(
        operation_id=OP,
        result=ToolResult(tool_call_id="call-1", success=True, content='{"sum": 3}'),
    )


async def test_a_result_made_while_the_socket_is_down_follows_the_resubscribe(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A tool that finishes while the user's socket is down has its result queued; on
    the next `ready` it goes out after every operation's `subscribe`, once."""
    async with v2_client_on(transport, tools={"calc/add": slow_add}) as client:
        start(client)
        start(client, OP2)
        server = await ready(transport)
        await subscriptions(server, 2)
        send(server, tool_execute(id="1"))
        await settle()
        server.abort()
        await trio.sleep(10)  # the tool finishes (5 s) while no socket is ready
        again = await ready(transport)
        frames = [await expect(again, Subscribe), await expect(again, Subscribe)]
        result = await expect(again, MuxToolResult)
        send(again, mux_end(id="2"))
        send(again, mux_end(id="1", op=OP2))
        await client.wait_finished(OP)
        await client.wait_finished(OP2)
    assert {f.operation_id for f in frames} == {OP, OP2}
    assert (result.operation_id, result.result.tool_call_id) == (OP, "call-1")


async def test_reconnect_on_a_ready_socket_resubscribes_from_the_cursor(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`reconnect(op)` on a ready socket sends `unsubscribe` then `subscribe` from the
    operation's cursor on the same socket (no new dial); the replay is not shown twice."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, mux_chunk("a", id="1"))
        await settle()
        client.reconnect(OP)
        await expect(server, Unsubscribe)
        subscribe = await expect(server, Subscribe)
        send(server, mux_chunk("a", id="1"))
        send(server, mux_chunk("b", id="2"))
        send(server, mux_end(id="3"))
        await client.wait_finished(OP)
        text = client.state.operations[OP].transcript.text
    assert subscribe.last_event_id == "1"
    assert text == "ab"
    assert len(transport.attempts) == 1


async def test_detach_unsubscribes_without_ending_the_run(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`detach(op)` sends `unsubscribe` and leaves the run detached, not finished; the
    lazy socket, carrying nothing now, closes."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        client.detach(OP)
        await expect(server, Unsubscribe)
        info = await server.wait_closed()
        op = client.state.operations[OP]
    assert info.by_client
    assert (op.status, op.outcome) == (OperationStatus.DETACHED, None)
