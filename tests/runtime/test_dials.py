"""Dialling many operations at once without a storm: a bounded number of handshakes in
flight (`open_client(max_concurrent_dials=...)`), and the connect watchdog counting from
each dial's own start, not from when it was queued (autojump clock, memory transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from gatewayops.effects import Client, open_client
from gatewayops.protocol import Auth, AuthSuccess
from gatewayops.store import ConnectionStatus, StoreConfig, connection_status
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, TOKEN, expect, refresh_ok, settle


@asynccontextmanager
async def _client(transport: MemoryTransport, dials: int) -> AsyncIterator[Client]:
    async with open_client(
        refresh_token=refresh_ok,
        transport=transport,
        config=StoreConfig(connect_timeout_ms=15_000),
        jitter=False,
        max_concurrent_dials=dials,
    ) as client:
        yield client


async def test_no_more_dials_than_the_bound_are_in_flight(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Ten starts with a bound of 3 dial three sockets; each handshake that completes
    lets exactly one more dial begin."""
    async with _client(transport, dials=3) as client:
        for number in range(10):
            client.start(
                operation_id=f"op-{number}",
                topic_id=f"topic-{number}",
                gateway_url=GATEWAY,
                token=TOKEN,
            )
        await settle()
        assert len(transport.attempts) == 3
        await transport.accept()
        await settle()
        assert len(transport.attempts) == 4
        assert len(set(transport.attempts)) == 4  # four operations, one dial each


async def test_the_watchdog_counts_from_the_dial_not_from_the_queue(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """One dial at a time, each accepted and authenticated 10 s after it began: the
    third dial begins 20 s after it was queued, past the 15 s watchdog, and still no
    watchdog fires (each counted 10 s of its own), so every operation connects at its
    first attempt."""
    async with _client(transport, dials=1) as client:
        for number in range(3):
            client.start(
                operation_id=f"op-{number}",
                topic_id=f"topic-{number}",
                gateway_url=GATEWAY,
                token=TOKEN,
            )
        for _ in range(3):
            await trio.sleep(10)
            server = await transport.accept()
            await expect(server, Auth)
            server.send_message(AuthSuccess())
        await settle()
        assert trio.current_time() >= 30
        for number in range(3):
            assert connection_status(client.state, f"op-{number}") is ConnectionStatus.CONNECTED
        assert len(transport.attempts) == 3


async def test_the_watchdog_still_fires_for_a_dial_that_hangs(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A dial that never completes is given up by its watchdog 15 s after it began,
    which frees its slot for the next queued dial."""
    transport.black_hole_next()
    async with _client(transport, dials=1) as client:
        client.start(operation_id="op-0", topic_id="topic-0", gateway_url=GATEWAY, token=TOKEN)
        client.start(operation_id="op-1", topic_id="topic-1", gateway_url=GATEWAY, token=TOKEN)
        await trio.sleep(14.9)
        assert len(transport.attempts) == 1
        await trio.sleep(0.2)
        hung, next_one = (url.rsplit("=", 1)[1] for url in transport.attempts)
        assert {hung, next_one} == {"op-0", "op-1"}
        assert connection_status(client.state, hung) is ConnectionStatus.RECONNECTING


@pytest.mark.parametrize("dials", [0, -1, 1.5, True])
async def test_a_bound_that_is_not_a_positive_int_is_refused(
    transport: MemoryTransport, dials: object
) -> None:
    """`max_concurrent_dials` must be a positive int; the error names it."""
    with pytest.raises(ValueError, match="max_concurrent_dials: expected a positive int"):
        async with _client(transport, dials=dials):  # type: ignore[arg-type]
            pass
