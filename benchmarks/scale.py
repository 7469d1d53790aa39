"""Benchmark: N concurrent streaming operations in one client process, beside a bare
trio-websocket client doing the same reads (#18).

A plain script (no pytest)::

    .venv/bin/python benchmarks/scale.py [--sizes 200,1000] [--big] [--chunks 20]

The reference gateway runs in a process of its own on 127.0.0.1 (spawned, so what this
process measures is the client alone). For each N it has the gateway start N runs of a
clean streamed answer (`--chunks` text chunks, `--delay` seconds apart) and follows them:

* **bare**: N trio-websocket connections, each sending ``auth``, then ``resume`` after
  ``auth_success``, and reading every frame (``json.loads`` of each, to find the run's
  ``agent_runtime_end``): the fewest reads the protocol allows. At most `DIALS`
  handshakes are in flight at once, as in the client (``max_concurrent_dials``): all
  5,000 at once overflow the gateway's accept queue (``somaxconn``);
* **client**: one `open_client` following N other runs of the same script (``start``
  each, then wait until every one was notified finished and its socket closed).

Per N and side it prints: operations finished exactly once / lost (never finished) /
duplicated (notified more than once); wall time; process CPU per frame received and the
client's ratio to the bare side's; peak RSS growth per operation; peak open fds; time
spent in garbage collection, the longest collection (``gc.callbacks``) and the longest
of those that began while a run had not ended (a pause there holds up a stream; one
after the last run ended holds up none), and then per generation how many collections
ran and the longest. Every phase
has a deadline, so the script stops by itself; the fd limit is raised to the hard limit
in both processes. ``--big`` adds N = 5,000 and 10,000. ``--gc-freeze`` measures
after `gatewayops.freeze_startup_objects()` (start-up objects out of the collector's
reach, as the command line does) and
``--gc-threshold A,B,C`` after ``gc.set_threshold(A, B, C)``, for both sides;
``--full-collection-every S`` opens the client with ``full_collection_every=S`` (full
collections deferred and paced by the client; the bare side is left as it is), and
``--only-when-quiet`` adds ``full_collection_while_busy=False`` (a due full collection
waits for a moment with no socket open).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import attrs
import trio
import trio_websocket

from gatewayops import freeze_startup_objects, open_client
from gatewayops.gateway import clean_run, open_gateway
from gatewayops.protocol import Auth, Resume, encode, operation_url
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    Middleware,
    NotifyFinished,
    Step,
)

TOKEN_TTL = 3_600.0
"""Seconds the runs' tokens live: no refresh is ever needed during a phase."""
QUEUE_SIZE = 4
"""trio-websocket's message queue, the same on both sides (the client's default)."""
DIALS = 64
"""Handshakes in flight at once, the same on both sides (the client's default)."""
SAMPLE_EVERY = 0.25
"""Seconds between RSS and fd samples."""

Handle = tuple[str, str, str]
"""(operation id, topic id, token) of one run the gateway started."""
Side = Callable[[str, Sequence[Handle], Counter[str]], Awaitable[int]]
"""Follows the runs at a base URL, counting notifications; returns the frames read."""


# --------------------------------------------------------------------------- the gateway


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _serve(conn: Connection, limits: dict[str, Any]) -> None:
    async with open_gateway(
        "127.0.0.1", 0, handshake_timeout=600.0, auth_timeout=600.0, **limits
    ) as gateway:
        user_token = gateway.v2.issue_user_token(ttl_seconds=TOKEN_TTL)
        await trio.to_thread.run_sync(conn.send, (gateway.url, user_token))
        while True:
            request = await trio.to_thread.run_sync(conn.recv)
            if request is None:
                return
            count, chunks, delay = request
            text = " ".join(f"word{index}" for index in range(chunks))
            handles = [
                gateway.start_run(clean_run(text, chunks=chunks, delay=delay), token_ttl=TOKEN_TTL)
                for _ in range(count)
            ]
            answer = [(h.operation_id, h.topic_id, h.token) for h in handles]
            await trio.to_thread.run_sync(conn.send, answer)


def gateway_process(conn: Connection, **limits: Any) -> None:
    """The gateway's process: serve on 127.0.0.1 until told to stop.

    It first sends its base URL and a user token (for v2 sockets) that outlives the
    benchmark, then answers each ``(count, chunks, delay)`` with the `Handle` of each
    run it started (all owned by the default user). `limits` go to `open_gateway`
    (``max_outbox_frames=...``).
    """
    raise_fd_limit()
    trio.run(_serve, conn, limits)


# --------------------------------------------------------------------------- measuring


def deadline_for(size: int) -> float:
    """Seconds a phase following `size` runs may take before it is cut short."""
    return 120 + size * 0.2


class GcWatch:
    """Time spent in garbage collection, the longest collection, the longest that began
    while `streaming()` (a run had not ended yet: a pause there holds up a stream), and
    per generation the number of collections and the longest one (``gc.callbacks``)."""

    def __init__(self, streaming: Callable[[], bool]) -> None:
        self.streaming = streaming
        self.total = 0.0
        self.longest = 0.0
        self.longest_streaming = 0.0
        self._began_streaming = False
        self.counts = [0, 0, 0]
        self.collected = [0, 0, 0]
        self.longest_of = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._began_streaming = self.streaming()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.total += took
        self.longest = max(self.longest, took)
        if self._began_streaming:
            self.longest_streaming = max(self.longest_streaming, took)
        self.counts[generation] += 1
        self.collected[generation] += info["collected"]
        self.longest_of[generation] = max(self.longest_of[generation], took)

    def by_generation(self) -> str:
        """``gen0 N (max X ms, C freed), gen1 ..., gen2 ...``."""
        return ", ".join(
            f"gen{g} {self.counts[g]} (max {self.longest_of[g] * 1000:.1f} ms, "
            f"{self.collected[g]:,} freed)"
            for g in range(3)
        )


def rss_kib() -> float:
    """The resident set size now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024


def open_fds() -> int:
    """File descriptors open now."""
    return len(os.listdir("/proc/self/fd"))


@attrs.define
class Peaks:
    """The highest RSS and fd count sampled during a phase."""

    rss: float = 0.0
    fds: int = 0

    async def sample(self) -> None:
        """Sample every `SAMPLE_EVERY` seconds until cancelled."""
        while True:
            self.rss, self.fds = max(self.rss, rss_kib()), max(self.fds, open_fds())
            await trio.sleep(SAMPLE_EVERY)


@attrs.frozen(kw_only=True)
class Result:
    """One side's run over N operations."""

    side: str
    operations: int
    once: int
    lost: int
    duplicated: int
    frames: int
    wall: float
    cpu: float
    rss_per_op_kib: float
    peak_fds: int
    gc_total: float
    gc_longest: float
    gc_longest_streaming: float
    gc_generations: str

    @property
    def cpu_per_frame_us(self) -> float:
        """Process CPU per frame received, in microseconds."""
        return self.cpu / max(self.frames, 1) * 1e6


async def measure(
    side: str, follow: Side, base: str, handles: Sequence[Handle], deadline: float
) -> Result:
    """Run `follow` under the deadline, sampling memory and fds and timing GC."""
    notified: Counter[str] = Counter()
    gc.collect()
    watch, peaks = GcWatch(lambda: len(notified) < len(handles)), Peaks()
    base_rss = rss_kib()
    gc.callbacks.append(watch)
    wall, cpu = time.perf_counter(), time.process_time()
    frames = 0
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peaks.sample)
            with trio.move_on_after(deadline):
                frames = await follow(base, handles, notified)
            nursery.cancel_scope.cancel()
    finally:
        gc.callbacks.remove(watch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ids = [operation_id for operation_id, _, _ in handles]
    return Result(
        side=side,
        operations=len(ids),
        once=sum(notified[i] == 1 for i in ids),
        lost=sum(notified[i] == 0 for i in ids),
        duplicated=sum(notified[i] > 1 for i in ids),
        frames=frames,
        wall=wall,
        cpu=cpu,
        rss_per_op_kib=(peaks.rss - base_rss) / max(len(ids), 1),
        peak_fds=peaks.fds,
        gc_total=watch.total,
        gc_longest=watch.longest,
        gc_longest_streaming=watch.longest_streaming,
        gc_generations=watch.by_generation(),
    )


# --------------------------------------------------------------------------- the two sides


async def bare_side(base: str, handles: Sequence[Handle], notified: Counter[str]) -> int:
    """Follow every run with a bare trio-websocket loop; the frames read."""
    frames = 0
    resume = encode(Resume())
    dials = trio.CapacityLimiter(DIALS)

    async def follow(operation_id: str, token: str) -> None:
        nonlocal frames
        url = operation_url(base, operation_id)
        async with dials:
            ws = await trio_websocket.connect_websocket_url(
                nursery, url, message_queue_size=QUEUE_SIZE
            )
        try:
            await ws.send_message(encode(Auth(token=token)))
            while True:
                frame = json.loads(await ws.get_message())
                frames += 1
                if frame["type"] == "auth_success":
                    await ws.send_message(resume)
                elif (
                    frame["type"] == "agent_event" and frame["event"]["type"] == "agent_runtime_end"
                ):
                    notified[operation_id] += 1
                    return
        finally:
            await ws.aclose()

    async with trio.open_nursery() as nursery:
        for operation_id, _, token in handles:
            nursery.start_soon(follow, operation_id, token)
    return frames


def is_frame(action: Action) -> bool:
    """Whether the action is a frame received (what `client_side` counts by default)."""
    return type(action) is MessageReceived


async def client_side(
    base: str,
    handles: Sequence[Handle],
    notified: Counter[str],
    *,
    counts: Callable[[Action], bool] = is_frame,
    middleware: Sequence[Middleware] = (),
    **options: Any,
) -> int:
    """Follow every run with one `open_client` (given `options`, e.g. ``protocol``, and
    `middleware` after its own); how many actions it received that `counts` picks (by
    default the frames)."""
    frames = 0
    done = trio.Event()
    wanted = len(handles)

    def count(old: GatewayState, action: Action, step: Step) -> None:
        nonlocal frames
        if counts(action):
            frames += 1
        for effect in step.effects:
            if type(effect) is NotifyFinished:
                notified[effect.operation_id] += 1
                if len(notified) == wanted:
                    done.set()

    async def no_refresh(topic_id: str) -> str:
        raise AssertionError("the runs' tokens outlive the benchmark")

    async with open_client(
        refresh_token=no_refresh, middleware=[count, *middleware], **options
    ) as client:
        for operation_id, topic_id, token in handles:
            client.start(
                operation_id=operation_id, topic_id=topic_id, gateway_url=base, token=token
            )
        await done.wait()
        while client.statistics().open_sockets or client.statistics().closing_sockets:
            await trio.sleep(0.01)
    return frames


# --------------------------------------------------------------------------- the report


def _line(result: Result, bare: Result | None) -> str:
    ratio = "" if bare is None else f"{result.cpu_per_frame_us / bare.cpu_per_frame_us:5.2f}x"
    return (
        f"  {result.side:<6} {result.once:>6} {result.lost:>5} {result.duplicated:>4} "
        f"{result.wall:8.1f} {result.cpu_per_frame_us:9.0f} {ratio:>6} "
        f"{result.rss_per_op_kib:8.1f} {result.peak_fds:6} {result.gc_total:7.2f} "
        f"{result.gc_longest * 1000:8.1f} {result.gc_longest_streaming * 1000:10.1f}"
    )


HEADER = (
    "  side     once  lost  dup   wall s  us/frame  ratio  KiB/op    fds    GC s  GC max ms"
    "  streaming"
)


async def main(
    sizes: Sequence[int],
    chunks: int,
    delay: float,
    freeze: bool,
    pace: float | None,
    while_busy: bool = True,
) -> int:
    """Measure every size; 0 if every operation finished exactly once on both sides."""
    limit = raise_fd_limit()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    gateway = context.Process(target=gateway_process, args=(theirs,), daemon=True)
    gateway.start()
    clean = True
    try:
        base, _ = await trio.to_thread.run_sync(ours.recv)
        print(f"gateway {base} in process {gateway.pid}; fd limit {limit}; {chunks} chunks/run")
        if freeze:
            frozen = freeze_startup_objects()
            print(f"freeze_startup_objects(): {frozen:,} objects out of later collections")
        for size in sizes:
            deadline = deadline_for(size)

            async def runs(count: int = size) -> list[Handle]:
                await trio.to_thread.run_sync(ours.send, (count, chunks, delay))
                handles: list[Handle] = await trio.to_thread.run_sync(ours.recv)
                return handles

            bare = await measure("bare", bare_side, base, await runs(), deadline)
            paced = functools.partial(
                client_side, full_collection_every=pace, full_collection_while_busy=while_busy
            )
            client = await measure("client", paced, base, await runs(), deadline)
            print(f"N = {size:,} ({client.frames:,} frames to the client)")
            print(HEADER)
            print(_line(bare, None))
            print(_line(client, bare))
            for result in (bare, client):
                print(f"  {result.side} collections: {result.gc_generations}")
            clean = clean and all(r.once == r.operations for r in (bare, client))
    finally:
        ours.send(None)
        gateway.join(timeout=10)
        if gateway.is_alive():
            gateway.kill()
    return 0 if clean else 1


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000", help="comma-separated N (200,1000)")
    parser.add_argument("--big", action="store_true", help="also N = 5,000 and 10,000")
    parser.add_argument("--chunks", type=int, default=20, help="text chunks per run (20)")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between events")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gatewayops.freeze_startup_objects() first"
    )
    parser.add_argument("--gc-threshold", help="gc.set_threshold(A, B, C) first: A,B,C")
    parser.add_argument(
        "--full-collection-every", type=float, help="open_client(full_collection_every=S)"
    )
    parser.add_argument(
        "--only-when-quiet",
        action="store_true",
        help="with --full-collection-every: open_client(full_collection_while_busy=False)",
    )
    arguments = parser.parse_args()
    if arguments.only_when_quiet and arguments.full_collection_every is None:
        parser.error("--only-when-quiet needs --full-collection-every")
    return arguments


if __name__ == "__main__":
    arguments = _parse()
    chosen = [int(size) for size in arguments.sizes.split(",")]
    if arguments.gc_threshold:
        gc.set_threshold(*(int(part) for part in arguments.gc_threshold.split(",")))
    if arguments.big:
        chosen += [5_000, 10_000]
    sys.exit(
        trio.run(
            main,
            chosen,
            arguments.chunks,
            arguments.delay,
            arguments.gc_freeze,
            arguments.full_collection_every,
            not arguments.only_when_quiet,
        )
    )
