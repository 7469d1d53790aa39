"""The bounded outbox: a client that stops reading is closed, and the gateway stays small."""

from __future__ import annotations

import logging

import pytest
import trio
from _gateway_helpers import connect, connect_without_reading, paused_run
from _mux_helpers import ready_mux
from trio.testing import MockClock, wait_all_tasks_blocked

from gatewayops.gateway import Emit, Pause, Script, open_gateway
from gatewayops.gateway._outbox import CloseFrame, Outbox
from gatewayops.gateway._socket import CLOSE_TIMEOUT
from gatewayops.protocol import EventType, Resume, SessionStatus, Subscribe

CHUNK = {"chunkType": "text", "content": "x" * 65_536}
MAX_FRAMES = 64
MAX_CHARS = 256 * 1024


def _flood(events: int) -> Script:
    """`agent_runtime_init`, then one 64 KiB text chunk every second."""
    steps: list[Emit | Pause] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={})]
    for _ in range(events):
        steps += [Pause(seconds=1), Emit(type=EventType.STREAM_CHUNK, data=CHUNK)]
    return Script(name="flood", steps=tuple(steps))


async def test_outbox_refuses_a_frame_past_its_frame_count() -> None:
    """With `max_frames=2` the third frame is refused and not queued."""
    outbox = Outbox(max_frames=2, max_chars=1000)
    assert outbox.put("a")
    assert outbox.put("b")
    assert not outbox.put("c")
    assert (outbox.frames, outbox.chars) == (2, 2)


async def test_outbox_refuses_a_frame_past_its_character_count() -> None:
    """With `max_chars=10` frames fit up to exactly 10 characters in all, and no further."""
    outbox = Outbox(max_frames=100, max_chars=10)
    assert outbox.put("12345")
    assert not outbox.put("123456")
    assert outbox.put("12345")
    assert not outbox.put("1")
    assert (outbox.frames, outbox.chars) == (2, 10)


async def test_outbox_yields_frames_in_order_then_the_close() -> None:
    """`get` returns the queued frames first in, first out, then the close, for good."""
    outbox = Outbox(max_frames=10, max_chars=100)
    outbox.put("first")
    outbox.put("second")
    outbox.close(1008, "done")
    close = CloseFrame(code=1008, reason="done")
    assert [await outbox.get() for _ in range(4)] == ["first", "second", close, close]
    assert (outbox.frames, outbox.chars) == (0, 0)


async def test_discarding_close_frees_the_queue_at_once() -> None:
    """`close(discard=True)` drops what is queued, so the close comes next."""
    outbox = Outbox(max_frames=10, max_chars=100)
    outbox.put("stale")
    outbox.close(1008, "full", discard=True)
    assert (outbox.frames, outbox.chars) == (0, 0)
    assert await outbox.get() == CloseFrame(code=1008, reason="full")


async def test_put_after_close_is_refused() -> None:
    """A frame queued after `close` raises `trio.ClosedResourceError` (the socket must not)."""
    outbox = Outbox(max_frames=10, max_chars=100)
    outbox.close(1008, "done")
    with pytest.raises(trio.ClosedResourceError):
        outbox.put("late")


async def test_get_waits_for_the_next_frame() -> None:
    """A writer waiting in `get` wakes when a frame is put."""
    outbox = Outbox(max_frames=10, max_chars=100)
    got: list[str | CloseFrame] = []

    async def writer() -> None:
        got.append(await outbox.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await wait_all_tasks_blocked()
        assert got == []
        outbox.put("hello")
    assert got == ["hello"]


async def test_replay_past_the_bound_closes_1008_logged_and_counted(
    autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A `resume` whose replay overflows the outbox gets close 1008 with the reason, and no event.

    The replay is queued synchronously, so the overflow is decided before the writer
    sends any of it; the queued frames are dropped and the close goes out next.
    """
    async with open_gateway(max_outbox_frames=5) as gateway:
        run = gateway.start_run(paused_run(chunks=10), topic_id="t")
        async with connect(gateway, run.operation_id) as client:
            await client.expect_auth_success(run.token)
            await client.send(Resume(last_event_id="", want_status=True))
            closed = await client.expect_closed()
        stats = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
    assert (closed.code, closed.reason) == (1008, "outbox full: client not reading")
    assert stats.outbox_overflows_total == 1
    assert stats.subscribed_sockets == 0
    assert caplog.text.count("outbox full (5 frames") == 1


async def test_client_that_never_reads_is_cut_off_with_its_outbox_bounded(
    autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that stops reading a 64 KiB-per-second stream is closed, never held past bound.

    Sampled after every event, the outbox never holds more than 64 frames or 256 KiB; once
    it would, the queued frames are dropped, the overflow is logged and counted, and since
    the client cannot even read a close frame its TCP connection is dropped within
    `CLOSE_TIMEOUT`. The gateway then holds nothing for it.
    """
    async with open_gateway(max_outbox_frames=MAX_FRAMES, max_outbox_chars=MAX_CHARS) as gateway:
        run = gateway.start_run(_flood(events=1000), topic_id="t")
        async with connect_without_reading(gateway, run.operation_id) as client:
            await client.expect_auth_success(run.token)
            await client.resume("")
            samples = []
            await trio.sleep(0.5)
            while (stats := gateway.statistics()).outbox_overflows_total == 0:
                samples.append((stats.queued_frames, stats.queued_chars))
                await trio.sleep(1)
            overflowed = trio.current_time()
            with trio.fail_after(CLOSE_TIMEOUT + 1):
                after = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
        await gateway.interrupt(run.operation_id)
    assert max(frames for frames, _ in samples) <= MAX_FRAMES
    assert 0 < max(chars for _, chars in samples) <= MAX_CHARS
    assert trio.current_time() - overflowed == pytest.approx(CLOSE_TIMEOUT, abs=1)
    assert (after.queued_frames, after.queued_chars, after.subscribed_sockets) == (0, 0, 0)
    assert after.outbox_overflows_total == 1
    assert caplog.text.count("outbox full") == 1
    assert caplog.records[-1].levelno == logging.WARNING


async def test_outbox_bounds_scale_when_asked() -> None:
    """`put(..., scale=3)` lets the outbox hold three times its frame bound, no more."""
    outbox = Outbox(max_frames=2, max_chars=1000)
    queued = [outbox.put(str(index), scale=3) for index in range(6)]
    assert all(queued)
    assert not outbox.put("x", scale=3)
    assert not outbox.put("x")  # unscaled, it is long past full
    assert outbox.frames == 6


async def test_a_v2_replay_past_the_bound_of_a_socket_with_no_subscription_closes_1008(
    autojump_clock: MockClock,
) -> None:
    """A v2 socket that carries no subscription yet has the bound once: a 10-frame replay
    (9 events and `resume_complete`) into a 6-frame outbox closes it 1008."""
    async with open_gateway(max_outbox_frames=6) as gateway:
        big = gateway.start_run(paused_run(chunks=8))
        await wait_all_tasks_blocked()
        async with ready_mux(gateway) as (client, _):
            await client.send(Subscribe(operation_id=big.operation_id))
            closed = await client.expect_closed()
        stats = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
        await gateway.interrupt(big.operation_id)
    assert (closed.code, closed.reason) == (1008, "outbox full: client not reading")
    assert stats.outbox_overflows_total == 1


async def test_a_v2_socket_holds_the_outbox_bound_once_per_subscription(
    autojump_clock: MockClock,
) -> None:
    """The user's one socket carries what N v1 sockets would: with two subscriptions held,
    the same 10-frame replay fits its 6-frame-per-subscription outbox."""
    async with open_gateway(max_outbox_frames=6) as gateway:
        small = [gateway.start_run(paused_run(chunks=1)) for _ in range(2)]
        big = gateway.start_run(paused_run(chunks=8))
        await wait_all_tasks_blocked()
        async with ready_mux(gateway) as (client, _):
            for run in small:
                await client.subscribe(run.operation_id)
            events, done = await client.subscribe(big.operation_id)
            stats = gateway.statistics()
        for run in (*small, big):
            await gateway.interrupt(run.operation_id)
    assert (len(events), done.status) == (9, SessionStatus.RUNNING)
    assert stats.outbox_overflows_total == 0
