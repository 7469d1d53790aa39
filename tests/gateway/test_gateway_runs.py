"""Operations and scripted runs without sockets: ids, buffer, status, event shapes."""

from __future__ import annotations

import math

import pytest
import trio
from trio.testing import MockClock, wait_all_tasks_blocked

from gatewayops.exceptions import OperationAlreadyExists, OperationNotFound
from gatewayops.gateway import (
    ClientTool,
    Gateway,
    Pause,
    Script,
    clean_run,
    demo_run,
    error_run,
    long_run,
    tool_run,
)
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._scripts import play
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.protocol import (
    EventType,
    SessionStatus,
    StreamChunkData,
    ToolResult,
    parse_event_data,
)


async def _played(script: Script) -> tuple[OperationRegistry, str]:
    registry = OperationRegistry(GatewayClock(epoch=0.0))
    operation = registry.create("op-x", "topic-x")
    await play(registry, operation, script)
    return registry, "op-x"


@pytest.mark.parametrize(
    "script",
    [
        clean_run(reasoning="hmm"),
        tool_run(client=False),
        error_run(),
        long_run(chunks=5, delay=0.1),
        demo_run(),
    ],
    ids=["clean", "server-tool", "error", "long", "demo"],
)
async def test_ready_scripts_emit_well_formed_events(
    script: Script, autojump_clock: MockClock
) -> None:
    """Every event of every ready script parses strictly and only the last is terminal."""
    registry, operation_id = await _played(script)
    events = [message.event for message in registry.require(operation_id).events]
    for event in events:
        parse_event_data(event)
        assert event.operation_id == operation_id
    assert events[0].type == EventType.AGENT_RUNTIME_INIT
    assert [event.is_terminal_type for event in events] == [False] * (len(events) - 1) + [True]


async def test_clean_run_streams_the_text_and_completes() -> None:
    """The text chunks of `clean_run` concatenate to its text; status ends `completed`."""
    registry, operation_id = await _played(clean_run("abcdefghij", chunks=3))
    operation = registry.require(operation_id)
    chunks = [parse_event_data(message.event) for message in operation.events]
    text = "".join(c.content or "" for c in chunks if isinstance(c, StreamChunkData))
    assert text == "abcdefghij"
    assert operation.status is SessionStatus.COMPLETED
    assert operation.events[-1].event.data == {}


async def test_error_run_ends_with_error_status() -> None:
    """`error_run` ends with an `error` event carrying its message, status `error`."""
    registry, operation_id = await _played(error_run("boom"))
    operation = registry.require(operation_id)
    assert operation.events[-1].event.type == EventType.ERROR
    assert operation.events[-1].event.data == {"message": "boom"}
    assert operation.status is SessionStatus.ERROR


async def test_ids_increase_and_events_after_the_end_are_dropped(mock_clock: MockClock) -> None:
    """Envelope ids are 1, 2, 3...; a publish after the terminal event is refused."""
    registry, operation_id = await _played(clean_run("ab", chunks=2))
    operation = registry.require(operation_id)
    numbers = [int(message.id or "") for message in operation.events]
    assert numbers == list(range(1, len(numbers) + 1))
    assert registry.publish(operation, EventType.STREAM_CHUNK, {}, 0) is None
    assert len(operation.events) == len(numbers)


async def test_timestamps_follow_the_trio_clock(autojump_clock: MockClock) -> None:
    """With a one-second pause between events, timestamps are one thousand ms apart."""
    registry, operation_id = await _played(long_run(chunks=2, delay=1.0))
    stamps = [message.event.timestamp for message in registry.require(operation_id).events]
    assert stamps[:3] == [0, 1000, 2000]


async def test_drop_buffer_keeps_status_and_counter() -> None:
    """Hibernation empties the buffer; the next event continues the id sequence."""
    registry = OperationRegistry(GatewayClock())
    operation = registry.create("op", "t")
    for _ in range(3):
        registry.publish(operation, EventType.STREAM_CHUNK, {"chunkType": "text"}, 0)
    assert operation.drop_buffer() == 3
    message = registry.publish(operation, EventType.STREAM_CHUNK, {"chunkType": "text"}, 0)
    assert message is not None
    assert message.id == "4"
    assert operation.status is SessionStatus.RUNNING


async def test_registry_lookups_raise_operation_not_found() -> None:
    """Unknown ids, forgotten ids and empty topics raise `OperationNotFound`; ids are unique."""
    registry = OperationRegistry(GatewayClock())
    registry.create("op", "t")
    with pytest.raises(OperationAlreadyExists):
        registry.create("op", "t")
    registry.forget("op")
    with pytest.raises(OperationNotFound):
        registry.require("op")
    with pytest.raises(OperationNotFound):
        registry.current_for_topic("t")
    with pytest.raises(OperationNotFound):
        registry.current_for_topic("nobody")


async def test_client_tool_times_out_and_run_continues(autojump_clock: MockClock) -> None:
    """An unanswered `tool_execute` waits its deadline, records a timeout, and the run ends."""
    registry = OperationRegistry(GatewayClock())
    operation = registry.create("op", "t")
    step = ClientTool(
        tool_call_id="call-x", identifier="i", api_name="a", arguments="{}", timeout_ms=3000
    )
    started = trio.current_time()
    await play(registry, operation, Script(name="tool", steps=(step,)))
    assert trio.current_time() - started == pytest.approx(3.0)
    assert [outcome.timed_out for outcome in operation.tool_outcomes] == [True]
    tool_end = operation.events[-2].event
    assert tool_end.type == EventType.TOOL_END
    assert tool_end.data["isSuccess"] is False
    assert operation.status is SessionStatus.COMPLETED


async def test_tool_result_reaches_only_the_waiting_call(autojump_clock: MockClock) -> None:
    """A result for the waiting id is taken once; unknown ids and duplicates are refused."""
    registry = OperationRegistry(GatewayClock())
    operation = registry.create("op", "t")
    step = ClientTool(tool_call_id="call-y", identifier="i", api_name="a", arguments="{}")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(play, registry, operation, Script(name="tool", steps=(step,)))
        await wait_all_tasks_blocked()
        assert not registry.deliver_tool_result(
            "op", ToolResult(tool_call_id="other", success=True)
        )
        assert registry.deliver_tool_result(
            "op", ToolResult(tool_call_id="call-y", success=True, content="42")
        )
        assert not registry.deliver_tool_result(
            "op", ToolResult(tool_call_id="call-y", success=True)
        )
    assert operation.tool_outcomes[0].result == ToolResult(
        tool_call_id="call-y", success=True, content="42"
    )
    assert operation.events[-2].event.data["result"] == "42"


async def test_interrupt_ends_a_run_once(gateway: Gateway, autojump_clock: MockClock) -> None:
    """`interrupt` ends a live run with reason "interrupted" (True), then reports False."""
    handle = gateway.start_run(Script(name="wait", steps=(Pause(seconds=math.inf),)), topic_id="t")
    await gateway.wait_statistics(lambda stats: stats.live_runs == 1)
    assert await gateway.interrupt(handle.operation_id, "t") is True
    assert await gateway.wait_finished(handle.operation_id) is SessionStatus.INTERRUPTED
    assert gateway.events(handle.operation_id)[-1].event.data == {"reason": "interrupted"}
    assert await gateway.interrupt(handle.operation_id) is False
    with pytest.raises(OperationNotFound):
        await gateway.interrupt(handle.operation_id, "another-topic")


async def test_start_run_with_an_unusable_token_ttl_starts_nothing(gateway: Gateway) -> None:
    """A `token_ttl` that would give an infinite `exp` raises `ValueError`; no run is registered."""
    with pytest.raises(ValueError, match="ttl_seconds=inf"):
        gateway.start_run(clean_run(), token_ttl=math.inf)
    stats = gateway.statistics()
    assert (stats.operations, stats.live_runs) == (0, 0)
