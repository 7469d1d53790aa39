"""Client tools: every `tool_execute` yields exactly one `tool_result` frame.

PROTOCOL.md 6.1, 11 (invariant 14) and 12.5.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from gatewayops.effects import ToolHandler
from gatewayops.protocol import ToolError, ToolResult
from gatewayops.transport import ConnectionEnded, MemoryTransport

from .helpers import (
    GATEWAY,
    OP,
    TOKEN,
    TOPIC,
    client_on,
    expect,
    handshake,
    runtime_end,
    tool_execute,
)


async def add(arguments: dict[str, Any]) -> Any:
    """A tool returning a JSON value (the sum and the arguments it got)."""
    await trio.sleep(0.2)
    return {"sum": arguments["a"] + arguments["b"]}


async def echo(arguments: dict[str, Any]) -> Any:
    """A tool returning a string as is."""
    await trio.lowlevel.checkpoint()
    return "plain text"


async def broken(arguments: dict[str, Any]) -> Any:
    """A tool that raises."""
    await trio.lowlevel.checkpoint()
    raise ValueError("division by zero in user code")


async def stuck(arguments: dict[str, Any]) -> Any:
    """A tool that never returns."""
    await trio.sleep_forever()


CASES: dict[str, tuple[dict[str, ToolHandler], str, ToolResult]] = {
    "success-json": (
        {"calc/add": add},
        '{"a": 1, "b": 2}',
        ToolResult(tool_call_id="call-1", success=True, content='{"sum": 3}'),
    ),
    "success-identifier-only": (
        {"calc": echo},
        "",
        ToolResult(tool_call_id="call-1", success=True, content="plain text"),
    ),
    "exception": (
        {"calc/add": broken},
        "{}",
        ToolResult(
            tool_call_id="call-1",
            success=False,
            error=ToolError(
                message="division by zero in user code", type="client_tool_execution_error"
            ),
        ),
    ),
    "timeout": (
        {"calc/add": stuck},
        "{}",
        ToolResult(
            tool_call_id="call-1",
            success=False,
            error=ToolError(
                message="tool did not finish in 1500 ms", type="client_executor_timeout"
            ),
        ),
    ),
    "missing": (
        {"other/add": add},
        "{}",
        ToolResult(
            tool_call_id="call-1",
            success=False,
            error=ToolError(
                message="no client tool handler for calc/add", type="executor_not_found"
            ),
        ),
    ),
    "bad-arguments": (
        {"calc/add": add},
        "[1, 2",
        ToolResult(
            tool_call_id="call-1",
            success=False,
            error=ToolError(
                message="invalid tool arguments: Expecting ',' delimiter: line 1 column 6 (char 5)",
                type="arguments_parse_error",
            ),
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_each_tool_execute_gets_exactly_one_result(
    case: str, transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Success, exception, timeout, missing handler and bad arguments: one frame each."""
    tools, arguments, expected = CASES[case]
    async with client_on(transport, tools=tools) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        started = trio.current_time()
        server.send_message(tool_execute(arguments=arguments, timeout_ms=2000))
        assert await expect(server, ToolResult) == expected
        if case == "timeout":
            assert trio.current_time() - started == 1.5  # 500 ms before the server's deadline
        server.send_message(runtime_end(id="9"))
        await client.wait_finished(OP)
        with pytest.raises(ConnectionEnded):
            await server.receive()  # nothing else was sent before the close
        assert client.statistics().running_effect_tasks == 0


async def test_a_result_finished_while_disconnected_is_sent_after_reconnect(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A tool result that lands while the socket is down is queued, then sent once."""
    async with client_on(transport, tools={"calc/add": add}) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        first, _ = await handshake(transport)
        first.send_message(tool_execute())
        first.abort()  # the tool (0.2 s) finishes while the client backs off (1 s)
        second, _ = await handshake(transport)
        result = await expect(second, ToolResult)
        assert result.content == '{"sum": 3}'
        second.send_message(runtime_end(id="9"))
        await client.wait_finished(OP)
        with pytest.raises(ConnectionEnded):
            await second.receive()
