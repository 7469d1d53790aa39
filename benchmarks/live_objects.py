"""Benchmark: what one live streaming operation holds, client against a bare loop (#18).

A plain script (no pytest)::

    .venv/bin/python benchmarks/live_objects.py [--ops 500]

The reference gateway runs in a process of its own on 127.0.0.1
(`scale.gateway_process`) and starts two sets of `--ops` runs of a streamed answer whose
events come 30 s apart, so that every run is still live while it is counted. One set is
followed by a bare trio-websocket loop (per run: ``auth``, then ``resume`` after
``auth_success``, then frames read until the first ``agent_event``, then held open),
the other by one `open_client`, until every run has shown its first event. At that
moment, for each side, after a full collection: the GC-tracked objects
(``len(gc.get_objects())``) and the Trio tasks below the root task, each minus what
there was before the side started, per operation, and the client's ratio to the bare
side. These are counts, not times: a shared machine does not disturb them.
Every wait has a deadline, so it stops by itself; it exits 1 if a side did not get
every run to its first event.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import sys
from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio
import trio_websocket

from gatewayops import open_client
from gatewayops.protocol import Auth, Resume, encode, operation_url
from scale import Handle, gateway_process, raise_fd_limit  # benchmarks/scale.py (a script)

EVENT_DELAY = 30.0
"""Seconds between a run's events: every run is still live when the sides are counted."""
QUEUE_SIZE = 4
"""trio-websocket's message queue on the bare side (the client's default)."""
DEADLINE = 120.0
"""Seconds a side may take to get every run to its first event."""


@attrs.frozen(kw_only=True)
class Held:
    """What one side holds per live operation, over what it held before it started."""

    objects: float
    tasks: float


def tasks_below(task: trio.lowlevel.Task) -> int:
    """The tasks in every nursery below `task`, at any depth."""
    return sum(1 + tasks_below(child) for n in task.child_nurseries for child in n.child_tasks)


class _Counter:
    """Counts objects and tasks before a side starts, and again while it holds its runs."""

    def __init__(self, operations: int) -> None:
        self._operations = operations
        root = trio.lowlevel.current_root_task()
        assert root is not None
        self._root = root
        gc.collect()
        self._objects = len(gc.get_objects())
        self._tasks = tasks_below(root)

    def held(self) -> Held:
        gc.collect()
        objects = len(gc.get_objects()) - self._objects
        tasks = tasks_below(self._root) - self._tasks
        return Held(objects=objects / self._operations, tasks=tasks / self._operations)


async def bare_side(base: str, handles: Sequence[Handle]) -> Held:
    """A bare trio-websocket loop holding every run open after its first event."""
    counter = _Counter(len(handles))
    streaming = 0
    all_streaming = trio.Event()

    async def follow(operation_id: str, token: str) -> None:
        nonlocal streaming
        url = operation_url(base, operation_id)
        async with trio_websocket.open_websocket_url(url, message_queue_size=QUEUE_SIZE) as ws:
            await ws.send_message(encode(Auth(token=token)))
            await ws.get_message()  # auth_success
            await ws.send_message(encode(Resume(last_event_id="")))
            while json.loads(await ws.get_message()).get("type") != "agent_event":
                pass
            streaming += 1
            if streaming == len(handles):
                all_streaming.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        for operation_id, _, token in handles:
            nursery.start_soon(follow, operation_id, token)
        with trio.fail_after(DEADLINE):
            await all_streaming.wait()
        held = counter.held()
        nursery.cancel_scope.cancel()
    return held


async def client_side(base: str, handles: Sequence[Handle]) -> Held:
    """One `open_client` following every run until each has shown its first event."""

    async def no_refresh(topic_id: str) -> str:
        raise AssertionError("the runs' tokens outlive the benchmark")

    counter = _Counter(len(handles))
    async with open_client(refresh_token=no_refresh) as client:
        for operation_id, topic_id, token in handles:
            client.start(
                operation_id=operation_id, topic_id=topic_id, gateway_url=base, token=token
            )
        with trio.fail_after(DEADLINE):
            while True:
                await trio.sleep(0.1)
                operations = client.state.operations
                if all(operations[handle[0]].transcript.events for handle in handles):
                    break
        return counter.held()


Side = Callable[[str, Sequence[Handle]], Awaitable[Held]]


def main(operations: int) -> int:
    """Count both sides and print the report; the exit status."""
    raise_fd_limit()
    ours, theirs = multiprocessing.Pipe()
    context = multiprocessing.get_context("spawn")
    gateway = context.Process(target=gateway_process, args=(theirs,), daemon=True)
    gateway.start()
    try:
        base, _ = ours.recv()
        print(f"gateway {base} in process {gateway.pid}; {operations} live operations per side")
        held: dict[str, Held] = {}
        sides: dict[str, Side] = {"bare": bare_side, "client": client_side}
        for name, side in sides.items():
            ours.send((operations, 3, EVENT_DELAY))
            handles = ours.recv()
            try:
                held[name] = trio.run(side, base, handles)
            except trio.TooSlowError:
                print(f"{name}: not every run showed its first event within {DEADLINE:.0f} s")
                return 1
        ours.send(None)
    finally:
        gateway.join(timeout=10)
        if gateway.is_alive():
            gateway.kill()
    print(f"  {'side':<8}{'GC objects/op':>15}{'tasks/op':>10}")
    for name, counted in held.items():
        print(f"  {name:<8}{counted.objects:>15.1f}{counted.tasks:>10.2f}")
    ratio = held["client"].objects / held["bare"].objects
    print(f"client / bare GC-tracked objects per live operation = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500, help="live operations per side (500)")
    sys.exit(main(parser.parse_args().ops))
