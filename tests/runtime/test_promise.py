"""The runtime keeps the promise when something goes wrong: failures end the run rather
than leave it open, unschedulable values still get their one answer, silence is reported
(never taken for an ending), and the application's reconnect controls work end to end."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import gatewayops.effects._runtime as runtime_module
from gatewayops.protocol import (
    Auth,
    AuthSuccess,
    Heartbeat,
    HeartbeatAck,
    Resume,
    ToolError,
    ToolResult,
)
from gatewayops.store import (
    FinishSource,
    HandlingFailed,
    OperationStatus,
    Result,
    SocketWentQuiet,
    StoreConfig,
    is_quiet,
)
from gatewayops.transport import MemoryTransport

from .helpers import (
    FRESH_TOKEN,
    GATEWAY,
    OP,
    TOKEN,
    TOPIC,
    Recorder,
    chunk,
    client_on,
    expect,
    handshake,
    settle,
    tool_execute,
)


async def add(arguments: dict[str, Any]) -> Any:
    """A tool that would answer (it must not even be called here)."""
    await trio.lowlevel.checkpoint()
    raise AssertionError("a tool with an unschedulable deadline must not run")


async def test_a_deadline_beyond_any_clock_still_gets_its_one_result(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`executionTimeoutMs` of 10**400 cannot be scheduled: the tool is answered with a
    structured `client_tool_execution_error`, once, and the run goes on."""
    async with client_on(transport, tools={"calc/add": add}) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(tool_execute(timeout_ms=10**400))
        result = await expect(server, ToolResult)
        assert result.success is False
        assert isinstance(result.error, ToolError)
        assert result.error.type == "client_tool_execution_error"
        assert "cannot be scheduled" in result.error.message
        await settle()
        assert client.state.operations[OP].status is OperationStatus.RUNNING
        assert client.statistics().running_effect_tasks == 0


async def test_a_failure_carrying_out_effects_ends_the_run_and_closes_its_socket(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the runtime's own handling raises, the operation ends once as an internal error
    with its socket closed; `wait_finished` returns."""
    recorder = Recorder()
    async with client_on(transport, recorder=recorder) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        real_send = runtime_module.Runtime._send

        def broken_send(self: Any, effect: Any) -> None:
            if isinstance(effect.message, ToolResult):
                raise RuntimeError("cannot write a tool result")
            real_send(self, effect)

        monkeypatch.setattr(runtime_module.Runtime, "_send", broken_send)
        server.send_message(tool_execute(identifier="missing"))
        outcome = await client.wait_finished(OP)
        info = await server.wait_closed()
    assert outcome.result is Result.FAILED
    assert outcome.source is FinishSource.INTERNAL_ERROR
    assert "RuntimeError: cannot write a tool result" in outcome.detail
    assert info.by_client
    assert len(recorder.of_type(HandlingFailed)) == 1
    assert len(recorder.finished) == 1


async def test_a_quiet_socket_is_reported_after_the_quiet_time_and_not_by_acks(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Heartbeat acks are not news: after `quiet_after_ms` without another frame the run
    is quiet (still running); the next event clears it."""
    recorder = Recorder()
    config = StoreConfig(quiet_after_ms=100_000)
    async with client_on(transport, recorder=recorder, config=config) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        start = trio.current_time()
        for _ in range(3):  # acks at 30, 60, 90 s
            await expect(server, Heartbeat)
            server.send_message(HeartbeatAck())
        await trio.sleep_until(start + 100.5)
        assert is_quiet(client.state, OP)
        (quiet,) = recorder.of_type(SocketWentQuiet)
        assert recorder.times_of(SocketWentQuiet)[0] - start == pytest.approx(100, abs=0.01)
        assert quiet.quiet_ms == 100_000
        assert client.state.operations[OP].status is OperationStatus.RUNNING
        server.send_message(chunk("news", id="1"))
        await settle()
        assert not is_quiet(client.state, OP)


async def test_each_quiet_spell_is_reported_once(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Quiet is reported once per spell: not again while the silence lasts, and again
    `quiet_after_ms` after the next frame if that one is followed by silence."""
    recorder = Recorder()
    config = StoreConfig(quiet_after_ms=100_000, heartbeat_interval_ms=1_000_000)
    async with client_on(transport, recorder=recorder, config=config) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        await trio.sleep(350)
        assert len(recorder.of_type(SocketWentQuiet)) == 1
        server.send_message(chunk("news", id="1"))
        await settle()
        news = trio.current_time()
        await trio.sleep(350)
        _, second = recorder.times_of(SocketWentQuiet)  # exactly two spells
        assert second - news == pytest.approx(100, abs=0.01)


async def test_update_token_and_reconnect_dial_one_new_socket_from_the_cursor(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`Client.update_token` then `Client.reconnect`: the old socket closes, the new one
    authenticates with the new token and resumes after the cursor."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        first, _ = await handshake(transport)
        first.send_message(chunk("a", id="3"))
        await settle()
        client.update_token(OP, token=FRESH_TOKEN)
        client.reconnect(OP)
        info = await first.wait_closed()
        assert (info.by_client, info.code) == (True, 1000)
        second = await transport.accept()
        assert (await expect(second, Auth)).token == FRESH_TOKEN
        second.send_message(AuthSuccess())
        assert await expect(second, Resume) == Resume(last_event_id="3", want_status=True)
        assert client.statistics().open_sockets == 1


async def test_without_auto_reconnect_a_drop_leaves_the_run_unfollowed(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """With `auto_reconnect=False` one socket is ever dialled; a drop detaches the run
    (no outcome invented) until the application reconnects it."""
    async with client_on(transport, config=StoreConfig(auto_reconnect=False)) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.abort()
        await trio.sleep(60)
        op = client.state.operations[OP]
        assert (op.status, op.outcome) == (OperationStatus.DETACHED, None)
        assert client.statistics().open_sockets == 0
        assert client.statistics().armed_timers == 0
        client.reconnect(OP)
        await handshake(transport)
        assert client.state.operations[OP].status is OperationStatus.RUNNING
