"""The client API: listeners, waiting, changes, misuse, stop, closing, stale sockets.

DESIGN.md section 3; PROTOCOL.md 11 (invariants 2, 12, 21, 22).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio

from gatewayops.effects import ClientClosed, ClientStatistics
from gatewayops.exceptions import OperationAlreadyExists, TopicBusy, UnknownOperation
from gatewayops.protocol import Auth, AuthExpired, HeartbeatAck, ResumeComplete, SessionStatus
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationStatus,
    Result,
    SocketOpened,
    TransportAction,
)
from gatewayops.transport import MemoryTransport

from .helpers import (
    GATEWAY,
    OP,
    TOKEN,
    TOPIC,
    Recorder,
    chunk,
    client_on,
    expect,
    handshake,
    runtime_end,
    settle,
    tool_execute,
)

ZERO = ClientStatistics(
    open_sockets=0,
    closing_sockets=0,
    armed_timers=0,
    running_effect_tasks=0,
    live_operations=0,
    background_tasks=0,
)


async def test_a_raising_listener_does_not_stop_the_others(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listener that raises is logged; later listeners and the run go on."""
    seen: list[Action] = []

    def bad(old: GatewayState, new: GatewayState, action: Action) -> None:
        raise RuntimeError("listener bug")

    def good(old: GatewayState, new: GatewayState, action: Action) -> None:
        seen.append(action)

    async with client_on(transport) as client:
        client.subscribe(bad)
        unsubscribe = client.subscribe(good)
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(runtime_end(id="1"))
        outcome = await client.wait_finished(OP)
        unsubscribe()
    assert outcome.result is Result.COMPLETED
    assert isinstance(seen[-1], MessageReceived)
    assert len(seen) == 4  # started, opened, auth_success, runtime_end
    assert "listener bug" in caplog.text


async def test_aclose_leaves_no_socket_timer_or_task(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Closing mid-flight closes sockets with 1000 and cancels timers, tools and refreshes."""
    refresh_started = trio.Event()

    async def slow_refresh(topic_id: str) -> str:
        refresh_started.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def slow_tool(arguments: dict[str, Any]) -> str:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with client_on(
        transport, refresh_token=slow_refresh, tools={"calc": slow_tool}
    ) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        first, _ = await handshake(transport)
        client.start(operation_id="op-2", topic_id="topic-2", gateway_url=GATEWAY, token=TOKEN)
        second = await transport.accept()  # authenticating: watchdog armed
        await expect(second, Auth)
        client.start(
            operation_id="op-3", topic_id="topic-3", gateway_url=GATEWAY, token=TOKEN
        )  # never accepted
        first.send_message(tool_execute(identifier="calc"))
        first.send_message(AuthExpired())
        await settle()
        busy = client.statistics()
        assert (busy.open_sockets, busy.running_effect_tasks) == (3, 2)
        assert busy.armed_timers == 5  # heartbeat, two watchdogs, refresh timeout, tool deadline
        await client.aclose()
        assert client.statistics() == ClientStatistics(
            open_sockets=0,
            closing_sockets=0,
            armed_timers=0,
            running_effect_tasks=0,
            live_operations=3,
            background_tasks=0,
        )
        assert first.closed is not None
        assert first.closed.code == 1000
        assert second.closed is not None
        assert second.closed.by_client
        with pytest.raises(ClientClosed):
            client.start(operation_id="op-4", topic_id="topic-4", gateway_url=GATEWAY, token=TOKEN)
        with pytest.raises(ClientClosed):
            await client.wait_finished(OP)
        await client.aclose()  # idempotent
    assert refresh_started.is_set()


async def test_everything_is_released_after_an_operation_finishes(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Once `wait_finished` returns and tasks settle, every statistic is zero."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(ResumeComplete(status=SessionStatus.COMPLETED))
        await client.wait_finished(OP)
        await settle()
        assert client.statistics() == ZERO


def _tasks_below(task: trio.lowlevel.Task) -> int:
    return sum(1 + _tasks_below(child) for n in task.child_nurseries for child in n.child_tasks)


async def test_a_streaming_operation_holds_one_task_of_the_client(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Three operations mid-stream, each with a heartbeat timer and a quiet check armed
    and nothing to write, hold three socket tasks and one alarm task in all (#18): no
    task per timer, per quiet watch, or per idle writer."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    before = _tasks_below(root)
    async with client_on(transport) as client:
        for n in range(3):
            client.start(
                operation_id=f"op-{n}", topic_id=f"t-{n}", gateway_url=GATEWAY, token=TOKEN
            )
            server, _ = await handshake(transport)
            server.send_message(chunk("hello", id="1", op=f"op-{n}"))
        await settle()
        assert client.statistics().armed_timers == 3
        assert _tasks_below(root) - before == 3 + 1


async def test_wait_finished_returns_at_once_for_a_finished_run_and_rejects_unknown_ids(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A finished operation's outcome comes back without waiting; an unknown id raises."""
    transport.reject_next(404)
    async with client_on(transport) as client:
        with pytest.raises(UnknownOperation):
            await client.wait_finished("nope")
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        first = await client.wait_finished(OP)
        with trio.CancelScope() as scope:
            scope.cancel()
            again = await client.wait_finished(OP)  # no checkpoint: not cancelled
        assert again == first


async def test_changes_yields_snapshots_and_ends_with_the_finished_one(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`changes()` starts with the current snapshot and ends after the finished one."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        snapshots = []

        async def follow() -> None:
            async for op in client.changes(OP):
                snapshots.append(op)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            server, _ = await handshake(transport)
            for n in range(3):
                server.send_message(chunk(f"{n}", id=str(n + 1)))
                await trio.sleep(1)
            server.send_message(runtime_end(id="4"))
    assert snapshots[-1].status is OperationStatus.FINISHED
    assert [s.transcript.text for s in snapshots if s.transcript.text][:3] == ["0", "01", "012"]
    assert sum(s.is_finished for s in snapshots) == 1


async def test_changes_ends_when_the_client_closes(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A `changes()` iterator of an unfinished operation ends when the client closes."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        seen = 0

        async def follow() -> None:
            nonlocal seen
            async for _ in client.changes(OP):
                seen += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await settle()
            await client.aclose()
    assert seen >= 1


async def test_misuse_errors_reach_the_caller(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`start`/`stop`/`detach` misuse raises the reducer's `LocalUsageError`s."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        with pytest.raises(OperationAlreadyExists):
            client.start(operation_id=OP, topic_id="topic-2", gateway_url=GATEWAY, token=TOKEN)
        with pytest.raises(TopicBusy):
            client.start(operation_id="op-2", topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        with pytest.raises(UnknownOperation):
            client.stop("nope")
        with pytest.raises(UnknownOperation):
            client.detach("nope")
        with pytest.raises(UnknownOperation):
            client.changes("nope")


async def test_stop_ends_the_run_once_the_interrupt_is_confirmed(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`stop` calls the interrupt dependency; a refusal keeps the run, a confirmation ends it."""
    answers = [False, True]
    calls: list[tuple[str, str]] = []

    async def interrupt(operation_id: str, topic_id: str) -> bool:
        calls.append((operation_id, topic_id))
        await trio.sleep(1)
        return answers.pop(0)

    async with client_on(transport, interrupt=interrupt) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        client.stop(OP)
        await trio.sleep(2)
        assert client.state.operations[OP].status is OperationStatus.RUNNING
        client.stop(OP)
        outcome = await client.wait_finished(OP)
        assert server.closed is not None
        assert server.closed.by_client
    assert calls == [(OP, TOPIC), (OP, TOPIC)]
    assert outcome.result is Result.INTERRUPTED


async def test_detach_closes_the_socket_without_finishing(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`detach` closes the socket and timers but leaves the operation unfinished."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        client.detach(OP)
        info = await server.wait_closed()
        await settle()
        stats = client.statistics()
    assert info.by_client
    assert info.code == 1000
    assert (stats.open_sockets, stats.armed_timers, stats.live_operations) == (0, 0, 1)


async def test_dispatch_from_a_listener_is_queued_in_order(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A listener's dispatch runs after the current one, and misuse there is only logged."""
    order: list[str] = []

    async with client_on(transport) as client:

        def listener(old: GatewayState, new: GatewayState, action: Action) -> None:
            order.append(type(action).__name__)
            if isinstance(action, SocketOpened) and action.link_id == OP:  # v1: the op's own link
                client.start(
                    operation_id="op-2", topic_id="topic-2", gateway_url=GATEWAY, token=TOKEN
                )
                client.start(
                    operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN
                )  # misuse: logged, not raised
                order.append("queued")

        client.subscribe(listener)
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        await transport.accept()
        await settle()
        assert "op-2" in client.state.operations
    assert order[:4] == ["OperationStarted", "SocketOpened", "queued", "OperationStarted"]


async def test_a_stale_socket_never_reaches_the_store_after_a_reconnect(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """After a heartbeat give-up, the old socket's late frames change nothing."""
    recorder = Recorder()
    stale: list[TransportAction] = []

    def check(old: GatewayState, new: GatewayState, action: Action) -> None:
        link = old.links.get(OP)  # v1: the operation's own link has its id
        generation = getattr(action, "generation", None)
        if link is not None and generation is not None and generation != link.generation:
            stale.append(action)  # type: ignore[arg-type]

    async with client_on(transport, recorder=recorder) as client:
        client.subscribe(check)
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        old, _ = await handshake(transport)
        old.send_message(chunk("a", id="1"))
        await old.wait_closed()  # the 120 s heartbeat give-up
        new, resume = await handshake(transport)
        assert resume.last_event_id == "1"
        with pytest.raises(Exception, match="connection ended"):
            old.send_message(chunk("late", id="2"))
        client.dispatch(MessageReceived(link_id=OP, generation=1, message=chunk("stale", id="5")))
        new.send_message(HeartbeatAck())
        new.send_message(chunk("b", id="2"))
        new.send_message(runtime_end(id="3"))
        await client.wait_finished(OP)
        text = client.state.operations[OP].transcript.text
    assert text == "ab"
    assert len(stale) == 1  # only the one dispatched by hand, and it was ignored


async def test_transport_logs_never_contain_tokens(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Running a whole session with debug logging never writes a token."""
    caplog.set_level(logging.DEBUG, logger="gatewayops")
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(runtime_end(id="1"))
        await client.wait_finished(OP)
        assert TOKEN not in repr(client.state)
    assert TOKEN not in caplog.text
