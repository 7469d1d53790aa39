"""Each fault switch does what it says, seen from a raw v1 socket."""

from __future__ import annotations

import pytest
import trio
from _gateway_helpers import connect, ids, paused_run, unanswered_upgrade
from trio.testing import MockClock, wait_all_tasks_blocked

from gatewayops.exceptions import FrameTooLarge, OperationNotFound, ProtocolError
from gatewayops.gateway import Emit, Finish, Gateway, Pause, Script, clean_run, long_run
from gatewayops.protocol import (
    DEFAULT_MAX_FRAME_CHARS,
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    EventType,
    Heartbeat,
    HeartbeatAck,
    Resume,
    SessionComplete,
    SessionStatus,
    decode,
)


async def test_expire_tokens_mid_run_then_refresh_resumes_without_loss(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Expiry tells live sockets `auth_expired`; old tokens stay expired; a fresh one resumes."""
    with trio.fail_after(60):
        handle = gateway.start_run(long_run(chunks=10, delay=1.0), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            seen, _ = await client.resume("")
            seen += await client.events_until(EventType.STREAM_CHUNK)
            assert gateway.faults.expire_tokens(handle.operation_id) == 1
            while not isinstance(message := await client.receive(), AuthExpired):
                assert isinstance(message, AgentEventMessage)
                seen.append(message)
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(handle.token) == AuthExpired()
            await trio.sleep(3)
            fresh = await gateway.refresh_token("t")
            assert await client.authenticate(fresh) == AuthSuccess()
            rest, _ = await client.resume(seen[-1].id or "")
            rest += await client.events_until(EventType.AGENT_RUNTIME_END)
    assert ids(seen + rest) == list(range(1, len(seen) + len(rest) + 1))


async def test_forget_makes_auth_fail_and_refresh_raise(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Forgotten: `auth` and `resume` get `operation not found`; refresh raises."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as old:
            await old.expect_auth_success(handle.token)
            gateway.faults.forget(handle.operation_id)
            await gateway.wait_statistics(lambda s: s.live_runs == 0)
            async with connect(gateway, handle.operation_id) as client:
                answer = await client.authenticate(handle.token)
                await client.expect_closed()
            await old.send(Resume(last_event_id="", want_status=True))
            assert await old.receive() == AuthFailed(reason="operation not found")
        with pytest.raises(OperationNotFound):
            await gateway.refresh_token("t")
        with pytest.raises(OperationNotFound):
            gateway.operation_status(handle.operation_id)
    assert answer == AuthFailed(reason="operation not found")


async def test_drop_sockets_closes_abnormally(gateway: Gateway, autojump_clock: MockClock) -> None:
    """Dropped sockets end with close code 1006 (no close frame); a reconnect works."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.resume("")
            assert gateway.faults.drop_sockets(handle.operation_id) == 1
            reason = await client.expect_closed()
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
    assert reason.code == 1006


async def test_blackholed_handshake_is_never_answered_then_next_connects(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A black-holed handshake is never answered until the client hangs up; the next works."""
    with trio.fail_after(60):
        handle = gateway.start_run(paused_run(), topic_id="t")
        gateway.faults.blackhole_handshakes(1)
        assert await unanswered_upgrade(gateway, handle.operation_id, wait=30)
        await gateway.wait_statistics(lambda s: s.held_connections == 0)
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)


async def test_blackhole_until_cleared(gateway: Gateway, autojump_clock: MockClock) -> None:
    """`blackhole_handshakes(None)` holds every connection until `clear_blackhole`."""
    with trio.fail_after(60):
        handle = gateway.start_run(paused_run(), topic_id="t")
        gateway.faults.blackhole_handshakes(None)
        for _ in range(2):
            assert await unanswered_upgrade(gateway, handle.operation_id, wait=10)
        gateway.faults.clear_blackhole()
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
    assert gateway.statistics().accepted_total == 1


async def test_ignore_auth_leaves_the_socket_unanswered(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """With `ignore_auth(1)` the next socket's `auth` gets no answer (nor an auth-deadline close).

    The socket after it works normally.
    """
    with trio.fail_after(120):
        handle = gateway.start_run(paused_run(), topic_id="t")
        gateway.faults.ignore_auth(1)
        async with connect(gateway, handle.operation_id) as client:
            await client.send_auth(handle.token)
            assert await client.silent_for(60)
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)


async def test_stop_heartbeat_acks(gateway: Gateway, autojump_clock: MockClock) -> None:
    """With acks stopped a `heartbeat` gets no answer; after resuming acks it does again."""
    with trio.fail_after(120):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            gateway.faults.stop_heartbeat_acks(handle.operation_id)
            await client.send(Heartbeat())
            assert await client.silent_for(60)
            gateway.faults.resume_heartbeat_acks()
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()


async def test_hibernate_loses_buffer_but_keeps_status_and_counter(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Hibernated: resume replays nothing, reports the true status, and ids continue."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(chunks=2), topic_id="t")
        await wait_all_tasks_blocked()
        assert gateway.faults.hibernate(handle.operation_id) == 3
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            replayed, status = await client.resume("")
            await gateway.interrupt(handle.operation_id)
            end = await client.expect(AgentEventMessage)
    assert replayed == []
    assert status.status is SessionStatus.RUNNING
    assert end.id == "4"
    assert end.event.data == {"reason": "interrupted"}
    assert [message.id for message in gateway.events(handle.operation_id)] == ["4"]


async def test_hibernated_finished_run_still_reports_completed(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A finished, hibernated operation replays nothing but `resume_complete{completed}`."""
    with trio.fail_after(10):
        handle = gateway.start_run(clean_run(), topic_id="t")
        await gateway.wait_finished(handle.operation_id)
        gateway.faults.hibernate(handle.operation_id)
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            replayed, status = await client.resume("")
    assert replayed == []
    assert status.status is SessionStatus.COMPLETED


async def test_malformed_server_frame(gateway: Gateway, autojump_clock: MockClock) -> None:
    """`send_malformed_frame` delivers a non-JSON frame; the socket keeps working afterwards."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            assert gateway.faults.send_malformed_frame(handle.operation_id) == 1
            with pytest.raises(ProtocolError):
                decode(await client.receive_text())
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()


async def test_oversized_server_frame(gateway: Gateway) -> None:
    """`send_oversized_frame` delivers a well-formed frame just over the codec's size limit."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        limit = DEFAULT_MAX_FRAME_CHARS
        async with connect(gateway, handle.operation_id, max_message_size=2 * limit) as client:
            await client.expect_auth_success(handle.token)
            assert gateway.faults.send_oversized_frame(handle.operation_id) == 1
            frame = await client.receive_text()
            with pytest.raises(FrameTooLarge):
                decode(frame)
            assert decode(frame, max_frame_chars=2 * limit) == HeartbeatAck()
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
    assert len(frame) == limit + 1


async def test_mirror_member_terminal_sends_foreign_end_then_echo(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A mirrored member end is a foreign terminal plus an echo; the supervisor runs on."""
    script = Script(
        name="supervisor",
        steps=(
            Emit(type=EventType.AGENT_RUNTIME_INIT, data={}),
            Pause(seconds=1000),
            Emit(type=EventType.STREAM_CHUNK, data={"chunkType": "text", "content": "still here"}),
            Finish(),
        ),
    )
    with trio.fail_after(2000):
        handle = gateway.start_run(script, topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.resume("")
            mirrored_id = gateway.faults.mirror_member_terminal(
                handle.operation_id, member_operation_id="op-member"
            )
            mirrored = await client.expect(AgentEventMessage)
            assert await client.receive() == SessionComplete()
            stale = gateway.operation_status(handle.operation_id)
            async with connect(gateway, handle.operation_id) as second:
                await second.expect_auth_success(handle.token)
                replay, reported = await second.resume("")
            rest = await client.events_until(EventType.AGENT_RUNTIME_END)
    assert mirrored.id == mirrored_id
    assert mirrored.event.type == EventType.AGENT_RUNTIME_END
    assert mirrored.event.operation_id == "op-member"
    assert not mirrored.event.is_own(handle.operation_id)
    assert stale is SessionStatus.COMPLETED
    assert reported.status is SessionStatus.COMPLETED
    assert mirrored in replay
    assert [message.event.type for message in rest] == ["stream_chunk", "agent_runtime_end"]
    assert rest[-1].event.operation_id == handle.operation_id
    assert gateway.operation_status(handle.operation_id) is SessionStatus.COMPLETED


async def test_mirror_without_stale_status(gateway: Gateway, autojump_clock: MockClock) -> None:
    """With `leave_status=False` the supervisor's persisted status stays `running`."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        gateway.faults.mirror_member_terminal(
            handle.operation_id, reason="error", leave_status=False
        )
        assert gateway.operation_status(handle.operation_id) is SessionStatus.RUNNING
        gateway.faults.mirror_member_terminal(handle.operation_id, reason="error")
        assert gateway.operation_status(handle.operation_id) is SessionStatus.ERROR
        assert gateway.events(handle.operation_id)[-1].event.operation_id == "op-1-member"


async def test_faults_on_unknown_operations_raise(gateway: Gateway) -> None:
    """Faults aimed at an operation that does not exist raise `OperationNotFound`."""
    for fault in (
        gateway.faults.expire_tokens,
        gateway.faults.forget,
        gateway.faults.hibernate,
        gateway.faults.mirror_member_terminal,
    ):
        with pytest.raises(OperationNotFound):
            fault("op-ghost")
    assert gateway.faults.drop_sockets("op-ghost") == 0
    with pytest.raises(ValueError, match="non-negative"):
        gateway.faults.blackhole_handshakes(-1)


async def test_clear_turns_off_lasting_switches(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """After `clear()`, handshakes, `auth` and heartbeats are answered again."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        gateway.faults.blackhole_handshakes(None)
        gateway.faults.ignore_auth(None)
        gateway.faults.stop_heartbeat_acks()
        gateway.faults.clear()
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
