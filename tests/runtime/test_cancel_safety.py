"""Cancel-safety: a call cancelled at any scheduler tick returns promptly, leaving no task.

Each sweep repeats one call against a real loopback listener and interrupts it at tick
0, 1, ... `TICKS` - 1 (more than a dial, handshake, echo and close take together: 29).
A tick is one pass of Trio's run loop: `_AtTick`, an instrument, acts between two
passes, so where the interruption lands depends only on how far the call got, not on
the order in which Trio runs the tasks of a pass. While the call runs, the test task
checkpoints in a loop, which keeps the run loop turning (one pass per checkpoint) even
when every task waits on a socket. That is also why there is no ``autojump_clock``
here: with only a real socket pending, it would jump the clock to the next deadline
and fire ``connect_timeout`` instead of waiting for the kernel. Real time is used only
as the failure bound (`BOUND`), never to synchronise.

A call stuck behind a shield cannot be cancelled, so neither can the Trio run hosting
it: every sweep runs in its own `trio.run` on a daemon thread (`Watchdog`), and a stuck
call fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from functools import partial

import pytest
import trio
import trio.testing
import wsproto
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from gatewayops.effects import open_client
from gatewayops.store import InterruptConfirmed, Result
from gatewayops.transport import CloseInfo, MemoryTransport, WebSocketTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, refresh_ok

TICKS = 48
BOUND = 2.0
"""Seconds (real time) a cancelled call may take to return: far above the milliseconds
it takes, far below ``close_timeout`` and ``connect_timeout``."""

Handler = Callable[[trio.SocketStream], Awaitable[None]]


class _AtTick(trio.abc.Instrument):
    """Calls `act()` once, between run-loop passes `tick` and `tick + 1` from now.

    `act` runs outside any task, as a host callback in guest mode does (`embed`).
    """

    def __init__(self, tick: int, act: Callable[[], object]) -> None:
        self._left = tick
        self._act: Callable[[], object] | None = act

    def after_io_wait(self, timeout: float) -> None:
        if self._act is not None and self._left == 0:
            self._act()
            self._act = None
        self._left -= 1


@contextmanager
def at_tick(tick: int, act: Callable[[], object]) -> Iterator[None]:
    """Within the block, call `act()` between run-loop passes `tick` and `tick + 1`."""
    instrument = _AtTick(tick, act)
    trio.lowlevel.add_instrument(instrument)
    try:
        yield
    finally:
        trio.lowlevel.remove_instrument(instrument)


def task_count() -> int:
    """How many tasks the current Trio run has."""

    def count(task: trio.lowlevel.Task) -> int:
        children = (child for nursery in task.child_nurseries for child in nursery.child_tasks)
        return 1 + sum(map(count, children))

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return count(root)


class Watchdog:
    """Runs a sweep in its own Trio run and thread; fails the test if a call gets stuck."""

    def __init__(self) -> None:
        self._stuck: list[str] = []
        self._errors: list[BaseException] = []
        self._over = threading.Event()

    def run(self, sweep: Callable[[], Awaitable[None]]) -> None:
        """Run ``trio.run(sweep)``; raise what it raised, or fail on a stuck call."""

        def main() -> None:
            try:
                trio.run(sweep)
            except BaseException as error:
                self._errors.append(error)
            finally:
                self._over.set()

        threading.Thread(target=main, name="cancel sweep", daemon=True).start()
        over = self._over.wait(timeout=2 * TICKS * BOUND)
        assert not self._stuck, self._stuck[0]
        assert over, "the sweep did not finish"
        if self._errors:
            raise self._errors[0]

    async def returns_promptly(self, call: Callable[[], Awaitable[None]], what: str) -> None:
        """`call()` returns within `BOUND` and the run's task count is back afterwards."""
        baseline = task_count()
        returned = trio.Event()

        async def run() -> None:
            await call()
            returned.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            with trio.move_on_after(BOUND):
                while not returned.is_set():  # one run-loop pass per checkpoint
                    await trio.lowlevel.checkpoint()
            if not returned.is_set():
                self._stuck.append(f"{what}: no return within {BOUND} s")
                self._over.set()  # the nursery cannot exit now; the test fails at once
        await trio.testing.wait_all_tasks_blocked()  # the listener sees the hang-up
        assert task_count() == baseline, f"{what}: tasks left behind"


@pytest.fixture
def watchdog() -> Watchdog:
    """A fresh `Watchdog` per test."""
    return Watchdog()


async def silent(stream: trio.SocketStream) -> None:
    """A listener's handler that accepts and never answers; returns on hang-up."""
    async with stream:
        with suppress(trio.BrokenResourceError):
            while await stream.receive_some():
                pass


async def echo(codes: list[int], stream: trio.SocketStream) -> None:
    """A wsproto server: accepts the upgrade, echoes text, answers a close (code kept)."""
    ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    async with stream:
        with suppress(trio.BrokenResourceError):
            while data := await stream.receive_some():
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        await stream.send_all(ws.send(AcceptConnection()))
                    elif isinstance(event, TextMessage):
                        await stream.send_all(ws.send(TextMessage(data=event.data)))
                    elif isinstance(event, CloseConnection):
                        codes.append(event.code)
                        await stream.send_all(ws.send(event.response()))


@asynccontextmanager
async def listening(handler: Handler) -> AsyncIterator[str]:
    """A loopback TCP listener running `handler` per connection; yields its base URL."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        yield f"ws://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def dial_and_idle(url: str, tick: int) -> None:
    """Dial `url`, wait in the block, and be cancelled at `tick`."""
    with trio.CancelScope() as scope, at_tick(tick, scope.cancel):
        async with WebSocketTransport().connect(f"{url}/ws"):
            await trio.sleep_forever()


def test_dial_to_a_silent_listener_cancelled_at_any_tick_returns(watchdog: Watchdog) -> None:
    """A dial whose handshake is never answered returns at once when cancelled."""

    async def sweep() -> None:
        async with listening(silent) as url:
            for tick in range(TICKS):
                call = partial(dial_and_idle, url, tick)
                await watchdog.returns_promptly(call, f"dial cancelled at tick {tick}")

    watchdog.run(sweep)


async def dial_and_echo(url: str, codes: list[int], tick: int) -> None:
    """Dial `url`, then send and receive until cancelled at `tick`.

    Cancelled in the block, the socket still closes with 1000; before, it sends no close.
    """
    codes.clear()
    opened = False
    with trio.CancelScope() as scope, at_tick(tick, scope.cancel):
        async with WebSocketTransport().connect(f"{url}/ws") as connection:
            opened = True
            while True:
                await connection.send("ping")
                assert await connection.receive() == "ping"
    assert codes == ([1000] if opened else [])


def test_dial_handshake_and_echo_cancelled_at_any_tick_return(watchdog: Watchdog) -> None:
    """Against a server that answers, a cancel at any tick of a dial, handshake, send or
    receive returns at once, and an opened socket closes with 1000 on the way out."""

    async def sweep() -> None:
        codes: list[int] = []
        async with listening(partial(echo, codes)) as url:
            for tick in range(TICKS):
                call = partial(dial_and_echo, url, codes, tick)
                await watchdog.returns_promptly(call, f"echo cancelled at tick {tick}")

    watchdog.run(sweep)


async def close_and_cancel(url: str, codes: list[int], tick: int) -> None:
    """Open a connection to `url`, close it, and cancel the close at `tick`."""
    codes.clear()
    async with WebSocketTransport().connect(f"{url}/ws") as connection:
        with trio.CancelScope() as scope, at_tick(tick, scope.cancel):
            await connection.aclose()
    assert codes == [1000]


def test_close_cancelled_at_any_tick_still_closes_with_1000(watchdog: Watchdog) -> None:
    """A close cancelled at any tick returns at once and still completes with code 1000."""

    async def sweep() -> None:
        codes: list[int] = []
        async with listening(partial(echo, codes)) as url:
            for tick in range(TICKS):
                call = partial(close_and_cancel, url, codes, tick)
                await watchdog.returns_promptly(call, f"close cancelled at tick {tick}")

    watchdog.run(sweep)


async def accept_all(transport: MemoryTransport) -> None:
    """Play a memory gateway that accepts every connection and says nothing."""
    while True:
        await transport.accept()


async def memory_dial_and_idle(transport: MemoryTransport, tick: int) -> None:
    """Dial the memory `transport`, wait in the block, and be cancelled at `tick`."""
    accepted = len(transport.connections)
    with trio.CancelScope() as scope, at_tick(tick, scope.cancel):
        async with transport.connect(f"{GATEWAY}/ws"):
            await trio.sleep_forever()
    closes = [server.closed for server in transport.connections[accepted:]]
    assert closes in ([], [CloseInfo(code=1000, by_client=True)])


def test_memory_dial_cancelled_at_any_tick_returns(watchdog: Watchdog) -> None:
    """The in-memory transport, cancelled at any tick, returns; if accepted, it closed with 1000."""

    async def sweep() -> None:
        transport = MemoryTransport()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(accept_all, transport)
            for tick in range(TICKS):
                call = partial(memory_dial_and_idle, transport, tick)
                await watchdog.returns_promptly(call, f"memory dial cancelled at tick {tick}")
            nursery.cancel_scope.cancel()

    watchdog.run(sweep)


async def follow_and_end(url: str, end: str, tick: int) -> None:
    """Follow an operation on `url`; detach or finish it at `tick`, while its socket dials.

    The finish is a stop whose interrupt is confirmed at once, so it lands on the tick.
    """
    async with open_client(refresh_token=refresh_ok, transport=WebSocketTransport()) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=url, token=TOKEN)
        ended = trio.Event()

        def detach() -> None:
            client.detach(OP)
            ended.set()

        def finish() -> None:
            client.stop(OP)
            client.dispatch(InterruptConfirmed(operation_id=OP))
            ended.set()

        with at_tick(tick, finish if end == "finish" else detach):
            await ended.wait()
        if end == "finish":
            outcome = await client.wait_finished(OP)
            assert outcome.result is Result.INTERRUPTED


@pytest.mark.parametrize("end", ["detach", "finish"])
def test_ending_an_operation_while_its_socket_dials_lets_the_client_close(
    watchdog: Watchdog, end: str
) -> None:
    """Detached or finished at any tick of its dial, the operation lets the client exit
    (and, finished, lets `wait_finished` return)."""

    async def sweep() -> None:
        async with listening(silent) as url:
            for tick in range(TICKS):
                call = partial(follow_and_end, url, end, tick)
                await watchdog.returns_promptly(call, f"{end} at tick {tick} of the dial")

    watchdog.run(sweep)
