"""`Alarms`: the one task that fires the runtime's deadlines (timers, quiet checks; #18).

Autojump clock. The property test drives a random script of settings, cancellations
and waits through a real Trio run and compares what fired with a plain model: every
alarm not cancelled whose deadline has passed, by deadline then setting order.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.effects._alarms import Alarm, Alarms


class _Fired:
    """An `Alarms` in a nursery, and the names of the alarms it fired, in order."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.names: list[str] = []
        self.alarms = Alarms(nursery.start_soon)

    def at(self, delay: float, name: str) -> Alarm:
        return self.alarms.at(trio.current_time() + delay, lambda: self.names.append(name))


@pytest.fixture
async def fired() -> AsyncIterator[_Fired]:
    async with trio.open_nursery() as nursery:
        yield _Fired(nursery)
        nursery.cancel_scope.cancel()


async def test_alarms_fire_by_deadline_then_setting_order(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """Alarms fire at their deadlines, earliest first; equal deadlines in setting order."""
    fired.at(3, "c")
    fired.at(1, "a1")
    fired.at(2, "b")
    fired.at(1, "a2")
    await trio.sleep(1.5)
    assert fired.names == ["a1", "a2"]
    await trio.sleep(2)
    assert fired.names == ["a1", "a2", "b", "c"]


async def test_a_cancelled_alarm_never_fires(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """A cancelled alarm is skipped; cancelling one that already fired changes nothing."""
    early = fired.at(1, "early")
    doomed = fired.at(2, "doomed")
    fired.at(3, "kept")
    await trio.sleep(1.5)
    fired.alarms.cancel(early)
    fired.alarms.cancel(doomed)
    await trio.sleep(5)
    assert fired.names == ["early", "kept"]
    assert len(fired.alarms) == 0


async def test_an_earlier_alarm_wakes_the_sleeping_task(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """An alarm earlier than the one the task sleeps for fires at its own deadline."""
    fired.at(100, "late")
    await trio.sleep(1)
    start = trio.current_time()
    fired.alarms.at(start + 2, lambda: fired.names.append(f"at {trio.current_time() - start}"))
    await trio.sleep(3)
    assert fired.names == ["at 2.0"]


async def test_an_alarm_set_by_a_callback_fires_after_a_checkpoint(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """A 0-delay alarm set by a callback fires in a later pass, not the same one: an
    alarm that sets itself again each time lets other tasks run between its firings
    (in one pass, it would fire all its 1,000 times before this task ran again)."""
    count = 0

    def again() -> None:
        nonlocal count
        count += 1
        if count < 1_000:
            fired.alarms.at(trio.current_time(), again)

    fired.alarms.at(trio.current_time(), again)
    for _ in range(3):
        await trio.sleep(0)
    assert 1 <= count < 10


async def test_the_task_runs_only_while_an_alarm_is_set(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """No task before the first alarm, none once the last fired or was cancelled (even
    with cancelled alarms still in the heap), and a new one for the next alarm."""
    assert len(fired.nursery.child_tasks) == 0
    fired.at(1, "one")
    await trio.sleep(2)
    assert (fired.names, len(fired.nursery.child_tasks)) == (["one"], 0)
    later = fired.at(60, "cancelled")
    await trio.testing.wait_all_tasks_blocked()  # the task sleeps until 60 s
    fired.alarms.cancel(later)
    await trio.testing.wait_all_tasks_blocked()
    assert len(fired.nursery.child_tasks) == 0
    fired.at(1, "two")
    await trio.sleep(2)
    assert fired.names == ["one", "two"]
    fired.at(1, "three")  # the last live alarm: once it fired, the task ends at once
    fired.alarms.cancel(fired.at(60, "cancelled"))  # one of two: the heap keeps it
    await trio.sleep(2)
    assert (fired.names[-1], len(fired.nursery.child_tasks), fired.alarms.heap_size) == (
        "three",
        0,
        0,
    )


async def test_close_fires_nothing_more_and_ends_the_task(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """After `close` no alarm fires, a new one is not kept, and the task has ended."""
    fired.at(1, "pending")
    await trio.testing.wait_all_tasks_blocked()
    fired.alarms.close()
    fired.at(1, "after close")
    await trio.sleep(5)
    assert fired.names == []
    assert (len(fired.alarms), len(fired.nursery.child_tasks)) == (0, 0)


async def test_an_infinite_deadline_never_fires_and_holds_nothing(
    fired: _Fired, autojump_clock: trio.testing.MockClock
) -> None:
    """An alarm at `math.inf` (a delay beyond any clock) is neither kept nor timed."""
    fired.alarms.at(math.inf, lambda: fired.names.append("never"))
    assert (len(fired.alarms), len(fired.nursery.child_tasks)) == (0, 0)


def test_cancelled_alarms_do_not_pile_up() -> None:
    """Cancelling alarms far in the future keeps the heap within twice the live alarms."""
    alarms = Alarms(lambda *_: None)
    kept = [alarms.at(float(n), lambda: None) for n in range(10)]
    for n in range(10_000):
        alarms.cancel(alarms.at(1e9 + n, lambda: None))
    assert len(alarms) == len(kept)
    assert alarms.heap_size <= 2 * len(kept) + 1


Step = tuple[str, float]
"""("set", delay), ("cancel", index of an alarm set earlier) or ("wait", seconds)."""

steps = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from([0, 0.5, 1.5, 2.5, 4.5])),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(0, 3)),
    ),
    max_size=40,
)
"""Delays and waits never end at the same moment (halves against thirds), so whether
an alarm was due at the end is never a tie."""


def _run_script(script: list[Step]) -> tuple[list[int], list[int]]:
    """What fired in a real run of `script`, and what the model says should have."""
    fired: list[int] = []
    model: dict[int, tuple[float, int]] = {}  # alarm index -> (deadline, order)
    cancelled: set[int] = set()

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            alarms = Alarms(nursery.start_soon)
            handles: list[Alarm] = []

            def record(index: int) -> Callable[[], None]:
                return lambda: fired.append(index)

            for kind, value in script:
                if kind == "set":
                    index = len(handles)
                    deadline = trio.current_time() + value
                    handles.append(alarms.at(deadline, record(index)))
                    model[index] = (deadline, index)
                elif kind == "cancel" and value < len(handles):
                    index = int(value)
                    if index not in fired:
                        cancelled.add(index)
                    alarms.cancel(handles[index])
                elif kind == "wait":
                    await trio.sleep(value + 1 / 3)
            end = trio.current_time()
            nursery.cancel_scope.cancel()
            return end

    end = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    due = [
        index
        for index, (deadline, _) in sorted(model.items(), key=lambda item: item[1])
        if deadline < end and index not in cancelled
    ]
    return fired, due


@settings(max_examples=200, deadline=None)
@given(steps)
def test_what_fires_is_what_the_model_says(script: list[Step]) -> None:
    """Random settings, cancellations and waits: exactly the alarms not cancelled before
    their deadline fire, each once, by deadline then setting order."""
    fired, due = _run_script(script)
    assert fired == due
