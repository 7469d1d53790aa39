"""Pacing full garbage collections (`open_client(full_collection_every=S)`, #18).

While a pacer runs, CPython's automatic full collections are deferred (the collector's
third threshold is `DEFERRED`), and the pacer runs one itself S seconds after its last,
at the first quiet moment, or S seconds later at the latest (with
``full_collection_while_busy=False``, only at a quiet moment). Autojump clock; the pacer's
own tests pass a recorder for `gc.collect`, the client's watch real collections through
`gc.callbacks`; two threads, each with a Trio loop, wait on events, not on time.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio

from gatewayops.effects import open_client
from gatewayops.effects._gc_pacing import DEFERRED, QUIET_POLL_SECONDS, pace_full_collections
from gatewayops.store import Result
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, handshake, refresh_ok, runtime_end

EVERY = 10.0


@pytest.fixture(autouse=True)
def _thresholds_kept() -> Iterator[None]:
    """Every test starts and ends with the collector's usual thresholds."""
    before = gc.get_threshold()
    yield
    assert gc.get_threshold() == before
    assert before[2] != DEFERRED


class _Collections:
    """A stand-in for `gc.collect` that notes when it was called (trio clock)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> int:
        self.times.append(trio.current_time())
        return 0


async def test_a_quiet_client_is_collected_once_per_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Always quiet: a full collection every S seconds, and no more often."""
    collections = _Collections()
    with trio.move_on_after(3.5 * EVERY):
        await pace_full_collections(EVERY, lambda: True, collections)
    assert collections.times == [EVERY, 2 * EVERY, 3 * EVERY]


async def test_a_busy_client_is_collected_at_its_first_quiet_moment(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Busy when the collection falls due, quiet 3.2 s later: collected at the first
    look after that (looks are `QUIET_POLL_SECONDS` apart), not before."""
    collections = _Collections()
    quiet_from = EVERY + 3.2
    with trio.move_on_after(EVERY + 5.0):
        await pace_full_collections(EVERY, lambda: trio.current_time() >= quiet_from, collections)
    assert collections.times == [math.ceil(3.2 / QUIET_POLL_SECONDS) * QUIET_POLL_SECONDS + EVERY]


async def test_a_client_never_quiet_is_still_collected_every_two_intervals(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Never quiet: a full collection still runs 2 S after the last, so an application's
    cycles are still freed."""
    collections = _Collections()
    with trio.move_on_after(4.5 * EVERY):
        await pace_full_collections(EVERY, lambda: False, collections)
    assert collections.times == [2 * EVERY, 4 * EVERY]


async def test_a_pacer_not_collecting_while_busy_waits_for_quiet_however_long(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """``while_busy=False``: busy for ten intervals, no collection runs; the first look
    after the client became quiet runs it, and the next interval counts from there."""
    collections = _Collections()
    quiet_from = 10 * EVERY + 0.2

    def quiet() -> bool:
        return trio.current_time() >= quiet_from

    with trio.move_on_after(12 * EVERY):
        await pace_full_collections(EVERY, quiet, collections, while_busy=False)
    first = EVERY + math.ceil((quiet_from - EVERY) / QUIET_POLL_SECONDS) * QUIET_POLL_SECONDS
    assert collections.times == [first, first + EVERY]


async def test_the_threshold_is_deferred_until_the_last_pacer_stops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Once a pacer has started, the third threshold is deferred; with two, the first to
    stop leaves the deferral and the second puts the usual threshold back."""
    usual = gc.get_threshold()
    async with trio.open_nursery() as nursery:
        first = await nursery.start(pace_full_collections, EVERY, lambda: True, _Collections())
        assert gc.get_threshold() == (usual[0], usual[1], DEFERRED)
        second = await nursery.start(pace_full_collections, EVERY, lambda: True, _Collections())
        first.cancel()
        await trio.sleep(0)
        assert gc.get_threshold()[2] == DEFERRED
        second.cancel()
    assert gc.get_threshold() == usual


@pytest.mark.parametrize("every", [0, -1.0, math.nan, math.inf, "10", True])
async def test_open_client_refuses_a_pace_that_is_not_positive_seconds(every: Any) -> None:
    """A pace of zero, below zero, NaN, infinity, or not a number raises ValueError."""
    with pytest.raises(ValueError, match="full_collection_every"):
        async with open_client(refresh_token=refresh_ok, full_collection_every=every):
            pass  # pragma: no cover


@pytest.mark.parametrize(
    ("every", "while_busy"), [(EVERY, "no"), (EVERY, None), (EVERY, 0), (None, False)]
)
async def test_open_client_refuses_a_while_busy_that_is_not_a_bool_or_has_no_pace(
    every: float | None, while_busy: Any
) -> None:
    """`full_collection_while_busy` must be a bool, and False only with a pace: each
    other value raises ValueError naming the argument."""
    with pytest.raises(ValueError, match="full_collection_while_busy"):
        async with open_client(
            refresh_token=refresh_ok,
            full_collection_every=every,
            full_collection_while_busy=while_busy,
        ):
            pass  # pragma: no cover


@pytest.fixture
async def full_collections() -> AsyncIterator[list[float]]:
    """The (Trio) times at which full collections started while the test ran."""
    started: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(trio.current_time())

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


async def test_a_pacing_client_collects_once_its_socket_has_closed(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    full_collections: list[float],
) -> None:
    """With `full_collection_every`, the open client defers full collections, runs none
    while a socket is open, runs one when the run ended and its socket closed, and
    leaves the thresholds as they were when it closes."""
    usual = gc.get_threshold()
    async with open_client(
        refresh_token=refresh_ok, transport=transport, full_collection_every=EVERY
    ) as client:
        assert gc.get_threshold() == (usual[0], usual[1], DEFERRED)
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        await trio.sleep(EVERY + 3.0)
        assert full_collections == []  # due at S, but a socket is open
        ended_at = trio.current_time()
        server.send_message(runtime_end(id="1"))
        outcome = await client.wait_finished(OP)
        await trio.sleep(2 * QUIET_POLL_SECONDS)
    assert outcome.result is Result.COMPLETED
    assert len(full_collections) == 1
    assert ended_at < full_collections[0] <= ended_at + 2 * QUIET_POLL_SECONDS


async def test_a_client_not_collecting_while_busy_runs_none_while_its_socket_is_open(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    full_collections: list[float],
) -> None:
    """``full_collection_while_busy=False``: three intervals with a socket open (past
    the 2 S at which a default pacer collects anyway), and no full collection ran."""
    async with open_client(
        refresh_token=refresh_ok,
        transport=transport,
        full_collection_every=EVERY,
        full_collection_while_busy=False,
    ) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        await handshake(transport)
        await trio.sleep(3 * EVERY)
        assert full_collections == []


def test_pacers_in_two_threads_share_one_deferral() -> None:
    """Clients in two threads, each with a Trio loop of its own: the deferral holds
    while either pacer runs and the usual threshold comes back after the last."""
    usual = gc.get_threshold()

    def pacer_thread(started: threading.Event, stop: threading.Event) -> None:
        async def main() -> None:
            async with trio.open_nursery() as nursery:
                scope = await nursery.start(pace_full_collections, 1_000.0, lambda: True)
                started.set()
                await trio.to_thread.run_sync(stop.wait)
                scope.cancel()

        trio.run(main)

    events = [(threading.Event(), threading.Event()) for _ in range(2)]
    threads = [threading.Thread(target=pacer_thread, args=pair) for pair in events]
    for thread, (started, _) in zip(threads, events, strict=True):
        thread.start()
        assert started.wait(timeout=30)
    assert gc.get_threshold() == (usual[0], usual[1], DEFERRED)
    events[0][1].set()
    threads[0].join(timeout=30)
    assert gc.get_threshold()[2] == DEFERRED
    events[1][1].set()
    threads[1].join(timeout=30)
    assert gc.get_threshold() == usual
