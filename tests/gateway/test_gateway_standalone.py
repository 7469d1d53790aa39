"""`run_gateway`, the coroutine behind ``gatewayops serve``."""

from __future__ import annotations

import logging

import pytest
import trio
from _gateway_helpers import connect, upgrade_request
from trio.testing import MockClock

from gatewayops.gateway import RunHandle, StandaloneGateway, clean_run, run_gateway
from gatewayops.protocol import AgentEventMessage, EventType, SessionStatus


async def test_run_gateway_starts_demo_runs_and_reports_them(autojump_clock: MockClock) -> None:
    """`nursery.start(run_gateway)` reports the URL and demo handles; a client follows one."""
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            started: StandaloneGateway = await nursery.start(run_gateway, "127.0.0.1", 0)
            assert started.demo_runs == ()
            nursery.cancel_scope.cancel()
        async with trio.open_nursery() as nursery:
            started = await nursery.start(
                lambda task_status: run_gateway(port=0, demo_runs=2, task_status=task_status)
            )
            first, second = started.demo_runs
            assert first.operation_id != second.operation_id
            assert started.url == started.gateway.url
            assert started.url.startswith("ws://127.0.0.1:")
            async with connect(started.gateway, first.operation_id) as client:
                await client.expect_auth_success(first.token)
                replayed, _ = await client.resume("")
                events = replayed + await client.events_until(EventType.AGENT_RUNTIME_END)
            assert all(isinstance(message, AgentEventMessage) for message in events)
            assert (
                await started.gateway.wait_finished(second.operation_id) is SessionStatus.COMPLETED
            )
            nursery.cancel_scope.cancel()


async def test_run_gateway_starts_periodic_runs(autojump_clock: MockClock) -> None:
    """With `demo_every`, a new run starts every period and `on_run` hears of each."""
    handles: list[RunHandle] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            started = await nursery.start(
                lambda task_status: run_gateway(
                    port=0,
                    demo_every=10,
                    script=lambda: clean_run("periodic"),
                    on_run=handles.append,
                    task_status=task_status,
                )
            )
            await trio.sleep(35)
            assert len(handles) == 3
            assert started.gateway.statistics().operations == 3
            nursery.cancel_scope.cancel()


async def _serve_in(
    scope: trio.CancelScope,
    task_status: trio.TaskStatus[StandaloneGateway] = trio.TASK_STATUS_IGNORED,
) -> None:
    """`run_gateway` with one demo run, stopped by cancelling `scope` (as Ctrl-C would)."""
    with scope:
        await run_gateway(port=0, demo_runs=1, task_status=task_status)


async def test_a_stopped_gateway_closes_its_sockets_with_1001(autojump_clock: MockClock) -> None:
    """Stopping `run_gateway` closes every open socket with 1001 (going away) before it
    goes, rather than dropping the TCP connection."""
    stop = trio.CancelScope()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            started: StandaloneGateway = await nursery.start(_serve_in, stop)
            run = started.demo_runs[0]
            async with connect(started.gateway, run.operation_id) as client:
                await client.expect_auth_success(run.token)
                stop.cancel()
                closed = await client.expect_closed()
    assert (closed.code, closed.reason) == (1001, "gateway shutting down")


async def test_the_gateway_logs_each_connection_verdict_close_and_end(
    autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line per socket connected, auth verdict, handshake rejected, socket
    closed (with its code) and run ended; no line carries a token."""
    caplog.set_level(logging.INFO, logger="gatewayops.gateway")
    stop = trio.CancelScope()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            started: StandaloneGateway = await nursery.start(_serve_in, stop)
            gateway, run = started.gateway, started.demo_runs[0]
            async with connect(gateway, run.operation_id) as client:
                await client.expect_auth_success(run.token)
                await client.resume("")
                await client.events_until(EventType.AGENT_RUNTIME_END)
            async with connect(gateway, run.operation_id) as client:
                await client.authenticate("not-a-token")
            await upgrade_request(gateway, "/elsewhere")
            await gateway.wait_statistics(lambda stats: stats.open_sockets == 0)
            stop.cancel()
    lines = [record.getMessage() for record in caplog.records]
    assert "socket-1: connected for op-1" in lines
    assert "socket-1: authenticated for op-1" in lines
    assert "op-1 ended: completed (agent_runtime_end)" in lines
    assert "socket-1: disconnected (code 1000)" in lines
    assert "socket-2: auth_failed (invalid token: malformed), closed 1008" in lines
    assert "rejected a handshake for '/elsewhere' with HTTP 404" in lines
    assert run.token not in caplog.text
