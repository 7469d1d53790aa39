"""The user's v2 socket on a virtual clock: full-jitter backoff and the heartbeat.

PROTOCOL.md 7.1 (heartbeat every 30 s, the 4th unanswered tick gives up) and 7.6
(backoff with full jitter: delay = floor(random * cap), cap = min(30 s, 1 s * 2^attempt)).
"""

from __future__ import annotations

import itertools
import math
import random

import trio

from gatewayops.protocol import Heartbeat, HeartbeatAck, Subscribe
from gatewayops.store import ConnectionStatus, SocketFailed, StoreConfig, connection_status
from gatewayops.transport import MemoryTransport

from .helpers import OP, Recorder
from .mux_helpers import expect, ready, send, start, v2_client_on

SEED = 1234
MANY_DIALS = StoreConfig(protocol="v2", v2_dial_budget=100)


def gaps(times: list[float]) -> list[float]:
    """Differences between consecutive times, rounded to the millisecond."""
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


def full_jitter_draws(seed: int, caps_ms: list[int]) -> list[float]:
    """The delays (seconds) PROTOCOL.md 7.6 draws from a `random.Random(seed)`."""
    rng = random.Random(seed)
    return [math.floor(rng.random() * cap) / 1000 for cap in caps_ms]


async def refused_dial_times(seed: int, refusals: int) -> list[float]:
    """When each of `refusals` refused dials of the user's socket failed (trio clock)."""
    transport = MemoryTransport()
    transport.refuse_next(refusals)
    recorder = Recorder()
    async with v2_client_on(
        transport, recorder=recorder, config=MANY_DIALS, jitter=True, random_seed=seed
    ) as client:
        start(client)
        await transport.accept()  # the dial after the last refusal
    return recorder.times_of(SocketFailed)


async def test_backoff_draws_the_full_jitter_of_protocol_7_6(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """With a seeded random source each backoff of the user's socket waits exactly
    floor(random * cap) ms, cap doubling from 1 s and capped at 30 s (not v1's upper
    half of the delay)."""
    caps = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
    times = await refused_dial_times(SEED, len(caps) + 1)
    assert gaps(times) == full_jitter_draws(SEED, caps)


async def test_full_jitter_reaches_below_half_the_cap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Over a dozen backoffs some wait less than half their cap (v1's jitter never
    does) and none waits as long as its cap; the same seed gives the same delays."""
    caps = [min(30_000, 1_000 << n) for n in range(12)]
    first = gaps(await refused_dial_times(SEED, len(caps) + 1))
    again = gaps(await refused_dial_times(SEED, len(caps) + 1))
    assert first == again
    assert all(0 <= gap < cap / 1000 for gap, cap in zip(first, caps, strict=True))
    assert any(gap < cap / 2000 for gap, cap in zip(first, caps, strict=True))


async def test_heartbeat_every_30s_and_redial_after_three_missed_acks(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Unanswered heartbeats, exactly the bytes ``{"type":"heartbeat"}``, go out on the
    user's socket at 30/60/90 s; at 120 s the socket is given up and redialled, and the
    operation is subscribed again."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        t0 = trio.current_time()
        beats = []
        frames = []
        for _ in range(3):
            frames.append(await server.receive())
            beats.append(trio.current_time() - t0)
        assert beats == [30, 60, 90]
        assert frames == ['{"type":"heartbeat"}'] * 3  # exactly these bytes (7.1)
        info = await server.wait_closed()
        assert (trio.current_time() - t0, info.by_client) == (120, True)
        assert connection_status(client.state, OP) is ConnectionStatus.RECONNECTING
        again = await ready(transport)
        assert (await expect(again, Subscribe)).operation_id == OP


async def test_acked_heartbeats_keep_the_user_socket(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A hub that acks every heartbeat keeps one user socket for ten minutes."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        for _ in range(20):
            await expect(server, Heartbeat)
            send(server, HeartbeatAck())
        assert trio.current_time() == 600
        assert server.closed is None
        assert len(transport.attempts) == 1
