"""`run_gateway`, the coroutine behind ``gatewayops serve``."""

from __future__ import annotations

import trio
from _gateway_helpers import connect
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
