"""Benchmark: the gatewayops client following N runs over one v2 socket, beside the same
client following N runs over N v1 sockets, in one invocation (#13).

A plain script (no pytest)::

    .venv/bin/python benchmarks/v2_client.py [--ops 1000] [--repeats 3] [--chunks 20]

The reference gateway runs in a process of its own on 127.0.0.1
(`scale.gateway_process`). Each measurement runs the client in a fresh process of its
own (spawned), so neither side inherits the other's heap or descriptors: the process
imports everything and says it is ready, the gateway then starts N runs of a clean
streamed answer (`--chunks` text chunks, `--delay` seconds apart), and the process
follows them with one `open_client` (`scale.client_side`): with ``protocol="v2"`` and the
gateway's user token on one side, as v1 (a socket per run, at most 64 dials at once) on
the other. `scale.measure` bounds it by a deadline and samples RSS and descriptors.
The two sides take turns going first, repeat by repeat.

Per measurement, and as medians over `--repeats` with the ratio v1 / v2, it prints:
runs finished exactly once / lost (never finished) / duplicated (notified more than
once); wall time; the client process's CPU per agent event received; its peak RSS
growth per run; the most descriptors it held beyond those it had before following;
the sockets it opened; and the sockets the gateway closed 1008 (an outbox overflow).

One v2 socket carries every run, so the hub's outbox must hold what the client has not
read yet: the gateway bounds a v2 socket's outbox once per subscription it holds (as N
v1 sockets would be). `--outbox-frames N` sets that bound per subscription (and 1 KiB of
text per frame) instead of the gateway's default; a small one (``--outbox-frames 10``)
shows an overflow: the hub closes 1008 ("outbox full"), the client resubscribes every run
from its cursor. Every wait has a deadline, so the script stops by itself; it exits 1 if
any run did not finish exactly once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import attrs
import trio

from gatewayops.protocol import AgentEventMessage, MuxAgentEvent
from gatewayops.store import Action, GatewayState, MessageReceived, SocketClosed, SocketOpened, Step
from scale import (  # benchmarks/scale.py (run as a script)
    Handle,
    Result,
    client_side,
    deadline_for,
    gateway_process,
    measure,
    open_fds,
    raise_fd_limit,
)

SIDES = ("v2", "v1")
OUTBOX_FULL = 1008
"""The close code of a hub socket whose outbox overflowed."""
CHARS_PER_FRAME = 1024
"""Outbox characters the gateway allows per outbox frame (these runs' frames are far smaller)."""
GRACE = 60.0
"""Seconds past a measurement's own deadline before its process is killed."""
_EVENTS = (AgentEventMessage, MuxAgentEvent)


def is_event(action: Action) -> bool:
    """Whether the action is an agent event received, over either protocol."""
    return type(action) is MessageReceived and type(action.message) in _EVENTS


@attrs.define
class SocketCount:
    """Middleware: sockets opened, and sockets the gateway closed for a full outbox."""

    opened: int = 0
    overflowed: int = 0

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        if type(action) is SocketOpened:
            self.opened += 1
        elif type(action) is SocketClosed and action.code == OUTBOX_FULL:
            self.overflowed += 1


@attrs.frozen(kw_only=True)
class Row:
    """One side's measurement: `scale.measure`'s result and what this script adds."""

    result: Result
    fds_added: int
    sockets_opened: int
    overflowed: int

    @property
    def cpu_per_event_us(self) -> float:
        """Client CPU per agent event received, in microseconds (`Result.frames` counts
        the agent events here)."""
        return self.result.cpu_per_frame_us


# --------------------------------------------------------------------------- the client


def client_process(conn: Connection, side: str, base: str, user_token: str) -> None:
    """One measurement in a process of its own: say ready, take the runs, follow them,
    send back `(result, fds added, sockets opened, 1008 closes)`."""
    raise_fd_limit()
    sockets = SocketCount()
    options: dict[str, Any] = {"counts": is_event, "middleware": [sockets]}
    if side == "v2":

        async def token() -> str:
            return user_token

        options.update(protocol="v2", user_token=token)
    follow = partial(client_side, **options)

    async def followed(handles: list[Handle]) -> tuple[Result, int]:
        before = open_fds()  # Trio's own descriptors are open by now
        result = await measure(side, follow, base, handles, deadline_for(len(handles)))
        return result, result.peak_fds - before

    conn.send("ready")
    result, fds_added = trio.run(followed, conn.recv())
    conn.send((result, fds_added, sockets.opened, sockets.overflowed))


def measure_side(
    side: str, base: str, user_token: str, start_runs: Callable[[], list[Handle]]
) -> Row:
    """Spawn the client's process, start the runs once it is ready, and wait for its row."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=client_process, args=(theirs, side, base, user_token), daemon=True
    )
    process.start()
    try:
        if not ours.poll(GRACE) or ours.recv() != "ready":
            raise RuntimeError(f"the {side} client process did not start")
        handles = start_runs()
        ours.send(handles)
        if not ours.poll(deadline_for(len(handles)) + GRACE):
            raise RuntimeError(f"the {side} client process did not answer in time")
        result, fds_added, opened, overflowed = ours.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return Row(result=result, fds_added=fds_added, sockets_opened=opened, overflowed=overflowed)


# --------------------------------------------------------------------------- the report

HEADER = (
    f"  {'':<10}{'side':<5}{'once':>6}{'lost':>6}{'dup':>5}{'wall s':>8}{'us/event':>10}"
    f"{'KiB/run':>9}{'fds+':>6}{'opened':>8}{'1008':>6}"
)


def _line(label: str, row: Row) -> str:
    r = row.result
    return (
        f"  {label:<10}{r.side:<5}{r.once:>6}{r.lost:>6}{r.duplicated:>5}{r.wall:>8.1f}"
        f"{row.cpu_per_event_us:>10.0f}{r.rss_per_op_kib:>9.1f}{row.fds_added:>6}"
        f"{row.sockets_opened:>8}{row.overflowed:>6}"
    )


_MEDIANS: tuple[tuple[str, Callable[[Row], float], str], ...] = (
    ("wall time, s", lambda row: row.result.wall, ".1f"),
    ("client CPU per event, us", lambda row: row.cpu_per_event_us, ".0f"),
    ("peak RSS growth per run, KiB", lambda row: row.result.rss_per_op_kib, ".1f"),
    ("descriptors added (peak)", lambda row: row.fds_added, ".0f"),
    ("sockets opened", lambda row: row.sockets_opened, ".0f"),
)


def report(rows: dict[str, list[Row]]) -> None:
    """Medians over the repeats, per side, and the ratio v1 / v2; the totals of runs
    finished once, lost and duplicated."""
    print(f"  {'median':<30}{'v2':>10}{'v1':>10}{'v1 / v2':>10}")
    for name, read, form in _MEDIANS:
        v2, v1 = (statistics.median(read(row) for row in rows[side]) for side in SIDES)
        ratio = f"{v1 / v2:.2f}x" if v2 else "-"
        print(f"  {name:<30}{v2:>10{form}}{v1:>10{form}}{ratio:>10}")
    for side in SIDES:
        results = [row.result for row in rows[side]]
        once, lost, dup = (
            sum(getattr(r, f) for r in results) for f in ("once", "lost", "duplicated")
        )
        overflowed = sum(row.overflowed for row in rows[side])
        print(
            f"  {side}: {once:,} finished once, {lost:,} lost, {dup:,} duplicated"
            f" of {sum(r.operations for r in results):,}; {overflowed} outbox overflows"
        )


def main(ops: int, repeats: int, chunks: int, delay: float, outbox_frames: int | None) -> int:
    """Measure both sides `repeats` times; 0 if every run finished exactly once."""
    limit = raise_fd_limit()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    limits = {}
    if outbox_frames is not None:
        limits = {
            "max_outbox_frames": outbox_frames,
            "max_outbox_chars": outbox_frames * CHARS_PER_FRAME,
        }
    gateway = context.Process(target=gateway_process, args=(theirs,), kwargs=limits, daemon=True)
    gateway.start()
    rows: dict[str, list[Row]] = {side: [] for side in SIDES}
    try:
        if not ours.poll(GRACE):
            raise RuntimeError("the gateway process did not start")
        base, user_token = ours.recv()

        def start_runs() -> list[Handle]:
            ours.send((ops, chunks, delay))
            handles: list[Handle] = ours.recv()
            return handles

        print(
            f"gateway {base} in process {gateway.pid}; fd limit {limit}; {ops:,} runs of"
            f" {chunks} chunks {delay} s apart; outbox per subscription:"
            f" {'default' if outbox_frames is None else f'{outbox_frames:,} frames'}"
        )
        print(HEADER)
        for repeat in range(repeats):
            order = SIDES if repeat % 2 == 0 else SIDES[::-1]
            for side in order:
                row = measure_side(side, base, user_token, start_runs)
                rows[side].append(row)
                print(_line(f"repeat {repeat + 1}", row), flush=True)
        report(rows)
    finally:
        ours.send(None)
        gateway.join(timeout=10)
        if gateway.is_alive():
            gateway.kill()
    clean = all(row.result.once == row.result.operations for side in SIDES for row in rows[side])
    return 0 if clean else 1


def _parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000, help="runs per side (1000)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per side (3)")
    parser.add_argument("--chunks", type=int, default=20, help="text chunks per run (20)")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between events")
    parser.add_argument(
        "--outbox-frames",
        type=int,
        help="the gateway's outbox bound per subscription, in frames (default: the gateway's)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _parse()
    sys.exit(
        main(
            arguments.ops,
            arguments.repeats,
            arguments.chunks,
            arguments.delay,
            arguments.outbox_frames,
        )
    )
