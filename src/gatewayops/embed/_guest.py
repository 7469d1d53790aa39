"""One Trio run as a guest on somebody else's event loop (DESIGN.md section 3).

Owns: `start_guest`, the one place that calls `trio.lowlevel.start_guest_run`;
`GuestRun`, the handle the host keeps (cancel the Trio function, ask whether the run
has finished, get its result or its error, be called back when it finishes); and the
asyncio host.

Guest mode runs every Trio task on the host's thread (only Trio's wait for I/O happens
in a helper thread), so host callbacks may call synchronous Trio and gatewayops APIs
(`Client.dispatch`, `start`, `stop`, `Nursery.start_soon`) directly, and store
listeners are called on the host's thread. The one thing a host callback must never do
is `trio.from_thread.run*`: it blocks the host thread waiting for Trio, which can only
run on that same thread, so it deadlocks.

Lifetime, as the Trio docs recommend: start the host loop, start the guest, and let
the guest run finishing be what ends the host loop. `GuestRun.cancel` is the way to
ask it to finish (e.g. from a window's close button).

asyncio needs no adapter: ``loop.call_soon_threadsafe`` is exactly the thread-safe
"run this soon", ``loop.call_soon`` the cheaper same-thread one, and asyncio's Unix
loops own ``signal.set_wakeup_fd`` (so Trio is told to leave it alone). So the asyncio
host lives here too: `start_asyncio_guest`, and `run_trio_guest` to await a Trio
function from a coroutine (cancelling the awaiting task cancels it and waits for its
cleanup).

Must not know: any GUI toolkit (`_tk` supplies Tk's "run this soon") or gatewayops'
client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, TypeVarTuple, Unpack

import attrs
import outcome
import trio

__all__ = [
    "GuestRun",
    "GuestRunCancelled",
    "GuestRunNotFinished",
    "RunSyncSoon",
    "run_trio_guest",
    "start_asyncio_guest",
    "start_guest",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

RunSyncSoon = Callable[[Callable[[], object]], object]
"""``run_sync_soon(fn)``: have the host loop call ``fn()`` on its thread, soon."""


class GuestRunNotFinished(RuntimeError):
    """`GuestRun.result` was asked for before the Trio run finished."""


class GuestRunCancelled(RuntimeError):
    """`GuestRun.result` was asked for, but `GuestRun.cancel` ended the run first."""


@attrs.frozen
class _Returned(Generic[T]):
    value: T


class GuestRun(Generic[T]):
    """The host's handle on one Trio guest run; made by `start_guest`.

    Every method must be called on the host loop's thread.
    """

    def __init__(self) -> None:
        self._scope: trio.CancelScope | None = None
        self._cancel_requested = False
        self._finished = False
        self._returned: _Returned[T] | None = None
        self._error: BaseException | None = None
        self._done_callbacks: list[Callable[[GuestRun[T]], object]] = []

    @property
    def finished(self) -> bool:
        """Whether the Trio run has ended (every task of it has exited)."""
        return self._finished

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called (the run may still be finishing)."""
        return self._cancel_requested

    @property
    def error(self) -> BaseException | None:
        """The exception the run ended with, or None (still running, or no error)."""
        return self._error

    def cancel(self) -> None:
        """Cancel the Trio function; the run finishes once its cleanup has run.

        Safe to call at any time, any number of times, also before the function has
        started and after the run finished. Returns at once: wait for `finished` (or
        a done callback) before stopping the host loop.
        """
        self._cancel_requested = True
        if self._scope is not None:
            self._scope.cancel()

    def result(self) -> T:
        """What the Trio function returned.

        Raises:
            GuestRunNotFinished: the run has not finished yet.
            GuestRunCancelled: `cancel` ended the function before it returned.
            BaseException: whatever the Trio function raised (re-raised each call).
        """
        if not self._finished:
            raise GuestRunNotFinished("the Trio guest run has not finished yet")
        if self._error is not None:
            raise self._error
        if self._returned is None:
            raise GuestRunCancelled("the Trio guest run was cancelled before it returned")
        return self._returned.value

    def add_done_callback(self, callback: Callable[[GuestRun[T]], object]) -> None:
        """Call ``callback(run)`` on the host thread once the run has finished.

        Callbacks run in the order they were added; one added after the run finished
        is called at once.
        """
        if self._finished:
            callback(self)
        else:
            self._done_callbacks.append(callback)

    async def _main(
        self, async_fn: Callable[[Unpack[Ts]], Awaitable[T]], *args: *Ts
    ) -> _Returned[T] | None:
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._cancel_requested:
                scope.cancel()
            return _Returned(await async_fn(*args))
        return None

    def _finish(self, run_outcome: outcome.Outcome[_Returned[T] | None]) -> None:
        self._scope = None
        self._finished = True
        if isinstance(run_outcome, outcome.Error):
            self._error = run_outcome.error
        else:
            self._returned = run_outcome.unwrap()
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            callback(self)


def start_guest(
    async_fn: Callable[[Unpack[Ts]], Awaitable[T]],
    *args: *Ts,
    run_sync_soon_threadsafe: RunSyncSoon,
    run_sync_soon_not_threadsafe: RunSyncSoon | None = None,
    host_uses_signal_set_wakeup_fd: bool = False,
) -> GuestRun[T]:
    """Start ``async_fn(*args)`` as a Trio guest run on the calling thread's host loop.

    Call it from the host loop's thread, before or while that loop runs; the run
    makes progress only while the host loop processes the callbacks it is given.
    Only one Trio run (guest or not) may exist per thread at a time.

    Args:
        async_fn: the Trio function, e.g. one that opens `gatewayops.open_client`.
        *args: its positional arguments.
        run_sync_soon_threadsafe: schedules a callable on the host loop; must work
            from any thread (Trio's I/O thread calls it).
        run_sync_soon_not_threadsafe: the same, only ever called on the host thread
            (a cheaper path, if the host has one).
        host_uses_signal_set_wakeup_fd: True if the host loop owns
            `signal.set_wakeup_fd` (asyncio does), so Trio leaves it alone.

    Returns:
        The run's handle; its done callbacks say when the run has finished.

    Raises:
        RuntimeError: a Trio run already exists on this thread.
    """
    run: GuestRun[T] = GuestRun()
    trio.lowlevel.start_guest_run(
        run._main,
        async_fn,
        *args,
        run_sync_soon_threadsafe=run_sync_soon_threadsafe,
        run_sync_soon_not_threadsafe=run_sync_soon_not_threadsafe,
        done_callback=run._finish,
        host_uses_signal_set_wakeup_fd=host_uses_signal_set_wakeup_fd,
    )
    return run


# ------------------------------------------------------------------ asyncio host


def start_asyncio_guest(
    loop: asyncio.AbstractEventLoop,
    async_fn: Callable[[Unpack[Ts]], Awaitable[T]],
    *args: *Ts,
) -> GuestRun[T]:
    """Start ``async_fn(*args)`` as a Trio guest run on `loop` (call it on the loop's thread).

    Keep the loop running until the run has `finished` (see `GuestRun`).
    """
    return start_guest(
        async_fn,
        *args,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        run_sync_soon_not_threadsafe=loop.call_soon,
        host_uses_signal_set_wakeup_fd=True,
    )


async def run_trio_guest(async_fn: Callable[[Unpack[Ts]], Awaitable[T]], *args: *Ts) -> T:
    """Run a Trio function from asyncio and return what it returns.

    Cancelling the awaiting asyncio task cancels the Trio function; the task's
    `asyncio.CancelledError` is raised only after the Trio run has finished its
    cleanup (sockets closed, tasks exited), so nothing is left running.

    Raises:
        BaseException: whatever the Trio function raised.
        asyncio.CancelledError: the awaiting task was cancelled.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    run = start_asyncio_guest(loop, async_fn, *args)
    run.add_done_callback(lambda _run: done.set_result(None))
    try:
        await asyncio.shield(done)
    except asyncio.CancelledError:
        run.cancel()
        while not done.done():
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                continue
        raise
    return run.result()
