"""Timers on a virtual clock: heartbeats, the connect watchdog, and backoff.

PROTOCOL.md 2.1, 2.3, 11 (invariant 13) and 12.1, 12.4.
"""

from __future__ import annotations

import itertools

import pytest
import trio

from gatewayops.protocol import Auth, AuthSuccess, Heartbeat, HeartbeatAck, Resume
from gatewayops.store import SocketClosed, SocketFailed
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, Recorder, chunk, client_on, expect, handshake


def gaps(times: list[float]) -> list[float]:
    """Differences between consecutive times, rounded to the millisecond."""
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


async def test_heartbeat_every_30s_and_reconnect_after_three_missed_acks(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Unanswered heartbeats go out at 30/60/90 s; at 120 s the socket is replaced."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        t0 = trio.current_time()
        beats = []
        for _ in range(3):
            await expect(server, Heartbeat)
            beats.append(trio.current_time() - t0)
        assert beats == [30, 60, 90]
        info = await server.wait_closed()
        assert (trio.current_time() - t0, info.by_client, info.code) == (120, True, 1000)
        second = await transport.accept()
        assert trio.current_time() - t0 == 121  # one backoff step later
        await expect(second, Auth)


async def test_acked_heartbeats_keep_the_socket(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A server that acks every heartbeat keeps one socket for ten minutes."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        for _ in range(20):
            await expect(server, Heartbeat)
            server.send_message(HeartbeatAck())
        assert trio.current_time() == pytest.approx(600)
        assert server.closed is None
        assert len(transport.attempts) == 1


async def test_watchdog_replaces_a_socket_whose_auth_is_never_answered(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A socket that opens but never gets `auth_success` is closed at 15 s and redialled."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server = await transport.accept()
        await expect(server, Auth)
        info = await server.wait_closed()
        assert (trio.current_time(), info.by_client, info.code) == (15, True, 1000)
        again = await transport.accept()
        assert trio.current_time() == 16
        await expect(again, Auth)


async def test_watchdog_covers_a_black_holed_handshake(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A dial that hangs forever is abandoned at 15 s; the next dial follows the backoff."""
    transport.black_hole_next()
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server = await transport.accept()
        assert trio.current_time() == 16
        assert len(transport.attempts) == 2
        await expect(server, Auth)


async def test_backoff_doubles_to_a_30s_cap_while_dials_fail(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Refused dials are retried after 1, 2, 4, 8, 16, 30, 30 s (jitter off)."""
    transport.refuse_next(8)
    recorder = Recorder()
    async with client_on(transport, recorder=recorder) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server = await transport.accept()
        await expect(server, Auth)
    failures = recorder.times_of(SocketFailed)
    assert gaps(failures) == [1, 2, 4, 8, 16, 30, 30]
    assert all(failed.retryable for failed in recorder.of_type(SocketFailed))


async def test_backoff_resets_only_after_a_healthy_connection(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Sockets that open, or even authenticate, and drop keep backing off; an event
    after `auth_success` proves the connection healthy and resets it to 1 s (11.25)."""
    recorder = Recorder()
    async with client_on(transport, recorder=recorder) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        for _ in range(3):  # opened, then dropped before authenticating
            server = await transport.accept()
            await expect(server, Auth)
            server.close(1011, "try later")
        server = await transport.accept()  # authenticated, then dropped: still unhealthy
        await expect(server, Auth)
        server.send_message(AuthSuccess())
        await expect(server, Resume)
        server.close(1011, "try later")
        server = await transport.accept()  # authenticated and streaming: healthy
        await expect(server, Auth)
        server.send_message(AuthSuccess())
        await expect(server, Resume)
        server.send_message(chunk("alive", id="1"))
        await trio.testing.wait_all_tasks_blocked()
        server.abort()
        server = await transport.accept()
        closes = recorder.times_of(SocketClosed)
        assert gaps([*closes, trio.current_time()]) == [1, 2, 4, 8, 1]
        codes = [c.code for c in recorder.of_type(SocketClosed)]
        assert codes == [1011, 1011, 1011, 1011, 1006]


async def test_jitter_is_seeded_and_never_exceeds_the_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """With jitter, each backoff lies in [delay/2, delay], identically for the same seed."""
    runs = []
    for _ in range(2):
        transport = MemoryTransport()
        transport.refuse_next(6)
        recorder = Recorder()
        async with client_on(transport, recorder=recorder, jitter=True) as client:
            client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
            await transport.accept()
        runs.append(gaps(recorder.times_of(SocketFailed)))
    assert runs[0] == runs[1]
    for gap, delay in zip(runs[0], [1, 2, 4, 8, 16], strict=True):
        assert delay / 2 <= gap <= delay
    assert runs[0] != [1, 2, 4, 8, 16]
