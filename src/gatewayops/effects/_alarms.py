"""One task per runtime that fires every deadline the runtime keeps.

Owns: `Alarms`, a heap of alarms (a deadline on the Trio clock and a callback), and
the one task that sleeps until the earliest and calls the callback of every alarm then
due, earliest first and, at equal deadlines, in the order they were set. The store's
timers and the sockets' quiet checks are alarms: a live operation costs a heap entry,
not a Trio task with its cancel scopes and coroutine frames (#18).

Rules:

* A callback runs synchronously in the alarm task and must not raise: it is one of
  the runtime's own functions, which report through `dispatch_from_task`.
* An alarm set while callbacks run fires after the next checkpoint, never in the same
  pass, even when already due: a 0 ms delay means a later turn of the event loop (as a
  ``trio.sleep(0)`` in a task of its own did).
* An alarm lets its callback go once it fired or was cancelled: the callback often
  refers to what holds the alarm, and that cycle must not wait for a full collection.
* Cancelling marks the alarm; a cancelled alarm is dropped when it reaches the top of
  the heap, and the heap is rebuilt without the cancelled ones once they are more than
  half of it, so its size follows the alarms still set (a long tool deadline cancelled
  early does not stay for hours).
* The task runs while an alarm is set: it starts with the first and ends when none is
  left (a client with nothing to time holds no task), or at `close`, after which no
  callback runs.

Must not know: what the alarms are for, the store, or sockets.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import trio

__all__ = ["Alarm", "Alarms"]

Spawn = Callable[..., None]
"""``spawn(async_fn, *args)``: run a task in the runtime's nursery."""


class Alarm:
    """One deadline and what to call at it (compared by deadline, then by setting order)."""

    __slots__ = ("callback", "cancelled", "deadline", "order")

    def __init__(self, deadline: float, order: int, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.order = order
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: Alarm) -> bool:
        return (self.deadline, self.order) < (other.deadline, other.order)


class Alarms:
    """The runtime's deadlines, fired by one task."""

    def __init__(self, spawn: Spawn) -> None:
        self._spawn = spawn
        self._heap: list[Alarm] = []
        self._cancelled = 0
        """Cancelled alarms still in the heap."""
        self._orders = 0
        self._sleep: trio.CancelScope | None = None
        """The task's sleep, woken early (its deadline moved) by an earlier alarm."""
        self._running = False
        self._closed = False

    def __len__(self) -> int:
        """Alarms set and not yet fired or cancelled."""
        return len(self._heap) - self._cancelled

    @property
    def heap_size(self) -> int:
        """Entries in the heap, cancelled ones included (at most about twice `len`)."""
        return len(self._heap)

    def at(self, deadline: float, callback: Callable[[], None]) -> Alarm:
        """Call `callback` at `deadline` (Trio clock); an infinite deadline never fires."""
        self._orders += 1
        alarm = Alarm(deadline, self._orders, callback)
        if self._closed or deadline == math.inf:
            alarm.cancelled = True  # never fires, and holds no place in the heap
            return alarm
        heapq.heappush(self._heap, alarm)
        if not self._running:
            self._spawn(self._run)
            self._running = True
        elif self._sleep is not None and deadline < self._sleep.deadline:
            self._sleep.deadline = deadline
        return alarm

    def cancel(self, alarm: Alarm) -> None:
        """Make sure `alarm` never fires (nothing if it fired or was cancelled already)."""
        if alarm.cancelled:
            return
        alarm.cancelled = True
        alarm.callback = _spent
        self._cancelled += 1
        if self._cancelled * 2 > len(self._heap):
            self._heap = [each for each in self._heap if not each.cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0
        if not len(self) and self._sleep is not None:
            self._sleep.cancel()  # nothing left to wait for: the task ends

    def close(self) -> None:
        """Cancel every alarm at once and let the task end."""
        self._closed = True
        for alarm in self._heap:
            alarm.cancelled = True
            alarm.callback = _spent
        self._heap.clear()
        self._cancelled = 0
        if self._sleep is not None:
            self._sleep.cancel()

    async def _run(self) -> None:
        try:
            while len(self) and not self._closed:
                with trio.CancelScope(deadline=self._heap[0].deadline) as self._sleep:
                    await trio.sleep_forever()
                self._sleep = None
                self._fire_due(trio.current_time())
        finally:
            self._running = False
            if not len(self):  # only cancelled alarms are left: they go with the task
                self._heap.clear()
                self._cancelled = 0

    def _fire_due(self, now: float) -> None:
        """Fire what is due now, but none set from here on (see the module docstring)."""
        last = self._orders
        while (heap := self._heap) and heap[0].deadline <= now and heap[0].order <= last:
            alarm = heapq.heappop(heap)  # a callback may compact the heap: `heap` anew each time
            if alarm.cancelled:
                self._cancelled -= 1
                continue
            alarm.cancelled = True  # a later `cancel` of a fired alarm is a no-op
            callback, alarm.callback = alarm.callback, _spent
            callback()


def _spent() -> None:
    """The callback of an alarm that fired or was cancelled: the one it had is let go,
    so no reference cycle through it (a timer and its alarm) outlives the alarm."""
