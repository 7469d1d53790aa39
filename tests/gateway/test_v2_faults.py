"""The v2 endpoint's faults and limits: 4401 storms, no `ready`, dropped links, the
watchdog, unacked heartbeats, and the idle close (PROTOCOL.md 7.1, 7.6)."""

from __future__ import annotations

import trio
from _gateway_helpers import paused_run
from _mux_helpers import open_mux, ready_mux
from trio.testing import MockClock
from trio_websocket import ConnectionClosed

from gatewayops.gateway import AUTH_CLOSE_CODE, IDLE_CHECK_INTERVAL, IDLE_TIMEOUT, Gateway
from gatewayops.protocol import (
    Heartbeat,
    HeartbeatAck,
    MuxAgentEvent,
    Ready,
    SessionStatus,
    StatusChange,
)


async def test_a_4401_storm_closes_n_upgrades_in_a_row_then_lets_one_in(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """reject_upgrades(3): three good tokens in a row are closed 4401 with the reason
    asked for; the fourth socket is greeted with ready."""
    gateway.v2.faults.reject_upgrades(3, reason="auth_failed")
    closes = []
    with trio.fail_after(20):
        for _ in range(3):
            async with open_mux(gateway) as client:
                closes.append(await client.expect_closed())
        async with open_mux(gateway) as client:
            await client.expect(Ready)
    assert [(close.code, close.reason) for close in closes] == [
        (AUTH_CLOSE_CODE, "auth_failed")
    ] * 3


async def test_a_link_that_never_says_ready_hears_nothing(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """withhold_ready(): the socket opens, no ready comes, and a heartbeat is not acked."""
    gateway.v2.faults.withhold_ready()
    with trio.fail_after(100):
        async with open_mux(gateway) as client:
            await client.send(Heartbeat())
            assert await client.silent_for(60)
            assert gateway.v2.statistics().sockets == 0
        async with open_mux(gateway) as client:
            await client.expect(Ready)


async def test_dropping_a_link_reports_its_live_subscriptions_and_frees_them(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """drop_links(): the user's socket is cut without a close frame (1006), the fault says
    how many subscriptions it carried, and the hub holds none afterwards."""
    first, second = gateway.start_run(paused_run()), gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(first.operation_id)
            await client.subscribe(second.operation_id)
            assert gateway.v2.faults.drop_links() == (1, 2)
            closed = await client.expect_closed()
        stats = await gateway.v2.wait_statistics(lambda stats: stats.sockets == 0)
    assert closed.code == 1006
    assert stats.subscriptions == 0


async def test_the_watchdog_ends_a_run_with_only_a_status_change(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """change_status(error): subscribers get status_change{error} and no terminal event;
    the run publishes nothing more and a later subscribe reports error."""
    handle = gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(handle.operation_id)
            gateway.v2.faults.change_status(handle.operation_id, SessionStatus.ERROR)
            change = await client.expect(StatusChange)
            assert await client.silent_for(5)
            _, done = await client.subscribe(handle.operation_id)
    assert change.status is SessionStatus.ERROR
    assert done.status is SessionStatus.ERROR
    assert await gateway.wait_finished(handle.operation_id) is SessionStatus.ERROR


async def test_a_live_status_change_is_not_an_end(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """change_status(waiting_input) is reported, and the run goes on publishing."""
    handle = gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(handle.operation_id)
            gateway.v2.faults.change_status(handle.operation_id, SessionStatus.WAITING_INPUT)
            change = await client.expect(StatusChange)
            gateway.faults.mirror_member_terminal(handle.operation_id, leave_status=False)
            await client.expect(MuxAgentEvent)
    assert change.status is SessionStatus.WAITING_INPUT


async def test_a_pending_subscribe_replays_nothing_and_still_goes_live(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """answer_pending(): resume_complete{pending: true} with the stored (here stale
    terminal) status and no replay; the operation's next event still arrives."""
    handle = gateway.start_run(paused_run(chunks=2))
    await trio.testing.wait_all_tasks_blocked()
    gateway.faults.mirror_member_terminal(handle.operation_id)  # a stale "completed"
    gateway.v2.faults.answer_pending()
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            replayed, done = await client.subscribe(handle.operation_id)
            gateway.faults.mirror_member_terminal(handle.operation_id, leave_status=False)
            live = await client.expect(MuxAgentEvent)
    assert replayed == []
    assert (done.pending, done.gap, done.status) == (True, False, SessionStatus.COMPLETED)
    assert live.operation_id == handle.operation_id


async def test_heartbeats_go_unacked_when_told(gateway: Gateway, autojump_clock: MockClock) -> None:
    """stop_heartbeat_acks(): a heartbeat on a live socket gets no answer until cleared."""
    with trio.fail_after(100):
        async with ready_mux(gateway) as (client, _):
            gateway.v2.faults.stop_heartbeat_acks()
            await client.send(Heartbeat())
            assert await client.silent_for(30)
            gateway.v2.faults.clear()
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()


async def test_a_silent_socket_is_closed_after_the_idle_timeout(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """No frame for 180 s: closed with 1000 at the next check (between 180 and 300 s)."""
    with trio.fail_after(1000):
        async with ready_mux(gateway) as (client, _):
            opened = trio.current_time()
            closed = await client.expect_closed()
            waited = trio.current_time() - opened
    assert (closed.code, closed.reason) == (1000, "idle timeout")
    assert IDLE_TIMEOUT < waited <= IDLE_TIMEOUT + IDLE_CHECK_INTERVAL


async def test_heartbeats_keep_a_socket_open(gateway: Gateway, autojump_clock: MockClock) -> None:
    """A heartbeat every 30 s keeps the socket open for ten minutes and more."""
    with trio.fail_after(1000):
        async with ready_mux(gateway) as (client, _):
            for _ in range(21):
                await client.send(Heartbeat())
                assert await client.receive() == HeartbeatAck()
                await trio.sleep(30)
            await client.send(Heartbeat())
            try:
                assert await client.receive() == HeartbeatAck()
            except ConnectionClosed as closed:  # pragma: no cover - the failure it guards
                raise AssertionError(f"closed after heartbeats: {closed.reason}") from None


async def test_a_gateway_going_away_closes_v2_sockets_with_1001(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """go_away closes a v2 socket with 1001 and waits until it is gone, as for v1."""
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _), trio.open_nursery() as nursery:
            nursery.start_soon(gateway.go_away)
            closed = await client.expect_closed()
    assert (closed.code, closed.reason) == (1001, "gateway shutting down")
    assert gateway.v2.statistics().sockets == 0
