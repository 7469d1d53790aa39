"""Full garbage collections at a pace the client sets, at quiet moments where it can.

Owns: `pace_full_collections`, the task `open_client(full_collection_every=S)` runs, and
the process-wide deferral of CPython's automatic full collections while any such task
runs. Must not know: the store or the runtime's resources (it is told when the client is
quiet by a function it is given).

Why: CPython collects the young generations often and cheaply (each looks only at
objects allocated since), and the whole heap whenever the objects promoted since the
last full collection exceed a quarter of the long-lived ones. A client following a
thousand streaming runs promotes that much every few seconds (each frame's new state
outlives a young collection), and each full collection traverses every live object: a
pause of hundreds of milliseconds that, in that client, frees nothing, because an ended
socket or timer leaves no cyclic garbage (tests/e2e/test_garbage.py).

The rule, written once here: while at least one pacer runs, the collector's third
threshold is `DEFERRED` (a full collection only after that many middle-generation
collections: never, in practice), and each pacer runs `gc.collect()` itself: `every`
seconds after its last one, at the first moment the client is quiet (no socket open),
and at the latest `every` seconds after that, quiet or not. So a full collection still
runs at least every ``2 * every`` seconds (cycles an application makes are still freed),
and, where the client has quiet moments, in one of them. A pacer told not to collect
while busy (``while_busy=False``) drops the "at the latest": its collection waits for a
quiet moment however long that takes, so no full-collection pause ever falls while a
socket is open, and cycles made meanwhile wait with it (the client itself makes none:
tests/e2e/test_garbage.py). When the last pacer stops, the threshold is put back to
what it was when the first started.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Callable

import trio

__all__ = ["DEFERRED", "QUIET_POLL_SECONDS", "check_collection_pacing", "pace_full_collections"]

DEFERRED = 1_000_000
"""The third collector threshold while a pacer runs."""
QUIET_POLL_SECONDS = 0.5
"""How often a pacer whose collection is due looks for a quiet moment."""


class _Deferral:
    """How many pacers run, and the threshold to put back when none does (a lock, as
    clients may run in several threads, each with a Trio loop of its own)."""

    def __init__(self) -> None:
        self.pacers = 0
        self.saved_threshold = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            if self.pacers == 0:
                young, middle, self.saved_threshold = gc.get_threshold()
                gc.set_threshold(young, middle, DEFERRED)
            self.pacers += 1

    def exit(self) -> None:
        with self.lock:
            self.pacers -= 1
            if self.pacers == 0:
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, self.saved_threshold)


_DEFERRAL = _Deferral()


def check_collection_pacing(every: float | None, while_busy: bool) -> None:
    """Refuse a pace that is not None or a positive, finite number of seconds, and a
    `while_busy` that is not a bool, or is False with no pace to wait on.

    Raises:
        ValueError: naming the argument and the value given.
    """
    if type(while_busy) is not bool:
        raise ValueError(f"full_collection_while_busy: expected a bool, got {while_busy!r}")
    if every is None:
        if not while_busy:
            raise ValueError(
                "full_collection_while_busy=False needs full_collection_every (a pace)"
            )
        return
    if isinstance(every, bool) or not isinstance(every, int | float) or not every > 0:
        raise ValueError(f"full_collection_every: expected positive seconds, got {every!r}")
    if not math.isfinite(every):
        raise ValueError(f"full_collection_every: expected finite seconds, got {every!r}")


async def pace_full_collections(
    every: float,
    quiet: Callable[[], bool],
    collect: Callable[[], object] = gc.collect,
    *,
    while_busy: bool = True,
    task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Defer automatic full collections and run them at this pace, until cancelled.

    Started with ``await nursery.start(...)``, which returns the cancel scope that stops
    it (the deferral is in force by then).

    Args:
        every: seconds from one full collection to the next one's earliest moment.
        quiet: whether the client is quiet now (a pause there bothers no stream).
        collect: runs a full collection (`gc.collect`; tests pass a recorder).
        while_busy: whether a collection that waited `every` seconds for a quiet moment
            runs anyway (True), or goes on waiting for one (False).
    """
    with trio.CancelScope() as scope:
        _DEFERRAL.enter()
        try:
            task_status.started(scope)
            while True:
                await trio.sleep(every)
                with trio.move_on_after(every if while_busy else math.inf):
                    while not quiet():
                        await trio.sleep(QUIET_POLL_SECONDS)
                collect()
        finally:
            _DEFERRAL.exit()
