"""The v2 hub's subscriptions and routing over a raw socket (PROTOCOL.md 7.2-7.4)."""

from __future__ import annotations

import json

import trio
from _gateway_helpers import paused_run
from _mux_helpers import ids, ready_mux
from trio.testing import MockClock

from gatewayops.gateway import Gateway, clean_run, tool_run
from gatewayops.protocol import (
    EventType,
    Heartbeat,
    HeartbeatAck,
    HubError,
    MuxAgentEvent,
    MuxSessionComplete,
    MuxToolResult,
    OpLifecycle,
    SessionStatus,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    SubscribeFailure,
    ToolResult,
    Unsubscribe,
    sequence_number,
)


async def test_subscribe_replays_after_the_cursor_then_reports_the_status(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Events after lastEventId come first, then resume_complete{running, gap: false}."""
    handle = gateway.start_run(paused_run(chunks=3))
    with trio.fail_after(10):
        await trio.testing.wait_all_tasks_blocked()
        async with ready_mux(gateway) as (client, _):
            events, done = await client.subscribe(handle.operation_id, "2")
    assert ids(events) == [3, 4]
    assert all(event.operation_id == handle.operation_id for event in events)
    assert (done.status, done.gap, done.pending) == (SessionStatus.RUNNING, False, False)


async def test_live_events_follow_and_the_hub_omits_their_own_operation_id(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """After resume_complete, events arrive live; on the wire the event has no operationId
    of its own (the envelope's), and the decoder restores it."""
    handle = gateway.start_run(clean_run("one two", chunks=2, delay=1.0))
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(handle.operation_id)
            text = await client.receive_text()
    wire = json.loads(text)
    assert wire["type"] == "agent_event"
    assert wire["operationId"] == handle.operation_id
    assert "operationId" not in wire["event"]


async def test_an_ending_run_sends_its_event_then_status_change_then_session_complete(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """The terminal event, status_change{completed} and session_complete arrive in that
    order, each with the next id of the operation's sequence."""
    handle = gateway.start_run(clean_run("a b", chunks=2, delay=1.0))
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(handle.operation_id)
            events = await client.events_until(EventType.AGENT_RUNTIME_END)
            change = await client.expect(StatusChange)
            complete = await client.expect(MuxSessionComplete)
    assert change.status is SessionStatus.COMPLETED
    last = ids(events)[-1]
    assert [sequence_number(change.id), sequence_number(complete.id)] == [last + 1, last + 2]
    assert complete.summary == {"status": "completed", "lastEventId": complete.id}


async def test_subscribing_after_the_end_reports_the_terminal_status(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A subscription whose cursor is past the last event gets resume_complete{completed}."""
    handle = gateway.start_run(clean_run("done", chunks=1))
    await gateway.wait_finished(handle.operation_id)
    last = gateway.events(handle.operation_id)[-1].id
    assert last is not None
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            events, done = await client.subscribe(handle.operation_id, last)
    assert events == []
    assert done.status is SessionStatus.COMPLETED


async def test_an_unknown_operation_is_invalid_and_another_users_forbidden(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """subscribe_failed{invalid} for no such operation, {forbidden} for another user's."""
    theirs = gateway.start_run(paused_run(), user_id="user-2")
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.send(Subscribe(operation_id="op-missing"))
            missing = await client.expect(SubscribeFailed)
            await client.send(Subscribe(operation_id=theirs.operation_id))
            forbidden = await client.expect(SubscribeFailed)
    assert (missing.operation_id, missing.reason) == ("op-missing", SubscribeFailure.INVALID)
    assert forbidden.reason == SubscribeFailure.FORBIDDEN


async def test_one_socket_carries_several_operations_routed_by_envelope(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Two runs followed over one socket: every event names the operation it belongs to."""
    first = gateway.start_run(clean_run("a b c", chunks=3, delay=1.0))
    second = gateway.start_run(clean_run("d e f", chunks=3, delay=1.0))
    ended: set[str] = set()
    with trio.fail_after(30):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(first.operation_id)
            await client.subscribe(second.operation_id)
            while len(ended) < 2:
                message = await client.receive()
                if isinstance(message, MuxAgentEvent):
                    assert message.event.operation_id == message.operation_id
                    if message.event.type == EventType.AGENT_RUNTIME_END:
                        ended.add(message.operation_id)
    assert ended == {first.operation_id, second.operation_id}
    assert gateway.v2.statistics().subscriptions == 0


async def test_a_repeated_subscribe_replays_again_but_live_events_come_once(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Two subscribes of one operation on one socket: each gets its replay and status,
    the hub holds one subscription, and a live event arrives once."""
    handle = gateway.start_run(paused_run(chunks=2))
    await trio.testing.wait_all_tasks_blocked()
    operation = handle.operation_id
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            first, _ = await client.subscribe(operation)
            second, _ = await client.subscribe(operation, "2")
            assert gateway.v2.subscriptions() == {operation: 1}
            gateway.faults.mirror_member_terminal(operation, leave_status=False)
            mirrored = await client.expect(MuxAgentEvent)
            await client.expect(MuxSessionComplete)
            assert await client.silent_for(5)
    assert (ids(first), ids(second)) == ([1, 2, 3], [3])
    assert not mirrored.event.is_own(operation)


async def test_unsubscribe_stops_live_events(gateway: Gateway, autojump_clock: MockClock) -> None:
    """After unsubscribe, an event published on that operation does not reach the socket."""
    handle = gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.subscribe(handle.operation_id)
            await client.send(Unsubscribe(operation_id=handle.operation_id))
            await gateway.v2.wait_statistics(lambda stats: stats.subscriptions == 0)
            gateway.faults.mirror_member_terminal(handle.operation_id, leave_status=False)
            assert await client.silent_for(5)


async def test_the_users_lifecycle_feed(gateway: Gateway, autojump_clock: MockClock) -> None:
    """op_lifecycle: running (with its topic) when the user's run starts, its terminal
    status with a summary when it ends, gone when forgotten; another user's is not shown."""
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            gateway.start_run(clean_run("x", chunks=1), user_id="user-2")
            mine = gateway.start_run(clean_run("y", chunks=1), topic_id="topic-9")
            started = await client.expect(OpLifecycle, skip_feed=False)
            ended = await client.expect(OpLifecycle, skip_feed=False)
            gateway.faults.forget(mine.operation_id)
            gone = await client.expect(OpLifecycle, skip_feed=False)
    assert (started.operation_id, started.status) == (mine.operation_id, SessionStatus.RUNNING)
    assert started.meta == {"topicId": "topic-9"}
    assert ended.status is SessionStatus.COMPLETED
    assert ended.summary is not None
    assert (gone.gone, gone.status) == (True, None)


async def test_heartbeats_are_acked(gateway: Gateway, autojump_clock: MockClock) -> None:
    """Each heartbeat gets a heartbeat_ack."""
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            for _ in range(3):
                await client.send(Heartbeat())
                assert await client.receive() == HeartbeatAck()


async def test_a_bad_frame_is_answered_with_an_error_and_the_socket_stays(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A frame that does not decode gets error{bad_frame} naming the field; then heartbeats
    are still acked."""
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.ws.send_message('{"type":"subscribe","operationId":7}')
            error = await client.expect(HubError)
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
    assert error.code == "bad_frame"
    assert "subscribe.operationId" in error.message
    assert error.operation_id is None


async def test_tool_execute_goes_only_to_executors_and_their_result_reaches_the_run(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A watcher does not get tool_execute, an executor does; its tool_result{operationId}
    is what the run records."""
    handle = gateway.start_run(tool_run(delay=1.0))
    operation = handle.operation_id
    with trio.fail_after(30):
        async with ready_mux(gateway) as (watcher, _), ready_mux(gateway) as (executor, _):
            await watcher.subscribe(operation)
            await executor.subscribe(operation, executor=True)
            [*_, execute] = await executor.events_until(EventType.TOOL_EXECUTE)
            call_id = execute.event.data["toolCallId"]
            result = ToolResult(tool_call_id=call_id, success=True, content="42")
            await executor.send(MuxToolResult(operation_id=operation, result=result))
            seen = await watcher.events_until(EventType.AGENT_RUNTIME_END)
    assert EventType.TOOL_EXECUTE not in [message.event.type for message in seen]
    [outcome] = gateway.tool_outcomes(operation)
    assert outcome.result == result


async def test_a_tool_result_from_a_socket_not_subscribed_is_refused(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """tool_result for an operation this socket does not follow: error{not_subscribed}."""
    handle = gateway.start_run(paused_run())
    result = ToolResult(tool_call_id="call-1", success=True)
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            await client.send(MuxToolResult(operation_id=handle.operation_id, result=result))
            error = await client.expect(HubError)
    assert (error.code, error.operation_id) == ("not_subscribed", handle.operation_id)


async def test_a_cursor_before_a_hibernation_has_a_gap(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """After the buffer is lost, a subscription from before it gets gap: true; one from
    after it does not."""
    handle = gateway.start_run(paused_run(chunks=2))
    await trio.testing.wait_all_tasks_blocked()
    gateway.faults.hibernate(handle.operation_id)
    with trio.fail_after(10):
        async with ready_mux(gateway) as (client, _):
            behind, behind_done = await client.subscribe(handle.operation_id, "1")
            _, current_done = await client.subscribe(handle.operation_id, "3")
    assert (behind, behind_done.gap, current_done.gap) == ([], True, False)


async def test_resubscribing_from_each_cursor_after_a_drop_loses_nothing(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Three runs over one socket; the link drops mid-stream; a new socket resubscribes
    each from its own cursor. Every run's events arrive once each, in order, up to its
    terminal event (what the client's per-operation dedup relies on)."""
    runs = [gateway.start_run(clean_run("a b c d e f", chunks=6, delay=1.0)) for _ in range(3)]
    seen: dict[str, list[int]] = {run.operation_id: [] for run in runs}
    ended: set[str] = set()

    def keep(message: MuxAgentEvent) -> None:
        number = sequence_number(message.id)
        assert number is not None
        seen[message.operation_id].append(number)
        if message.event.type == EventType.AGENT_RUNTIME_END:
            ended.add(message.operation_id)

    def cursor(operation_id: str) -> str:
        return str(seen[operation_id][-1]) if seen[operation_id] else ""

    with trio.fail_after(60):
        async with ready_mux(gateway) as (client, _):
            for run in runs:
                replayed, _ = await client.subscribe(run.operation_id)
                for message in replayed:
                    keep(message)
            for _ in range(4):
                keep(await client.expect(MuxAgentEvent))
            assert gateway.v2.faults.drop_links() == (1, 3)
        async with ready_mux(gateway) as (client, _):
            for run in runs:
                replayed, _ = await client.subscribe(run.operation_id, cursor(run.operation_id))
                for message in replayed:
                    keep(message)
            while len(ended) < len(runs):
                live = await client.receive()
                if isinstance(live, MuxAgentEvent):
                    keep(live)
    for run in runs:
        assert seen[run.operation_id] == [int(m.id or 0) for m in gateway.events(run.operation_id)]
