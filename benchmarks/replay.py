"""Benchmark: replaying a long recording, against a bare `json.loads` loop over it.

A plain script (no pytest): ``.venv/bin/python benchmarks/replay.py [--frames N]``.

1. It generates a synthetic log (default 1,000,000 inbound frames across 1,000
   operations, in a child process so that its memory does not count below): each
   operation is started, its socket opens, the server sends ``auth_success``, then
   ``stream_chunk`` agent events with increasing envelope ids, then a terminal
   ``agent_runtime_end``; ten operations stream at a time, interleaved. The actions go
   through a real `Store` whose `Recorder` writes the log, so the outbound records are
   the ones the reducer produces. It prints how long that took and the file's size.
2. It measures, in this process, in rounds (default 3): (a) a bare loop of
   `json.loads` over every line of the file, (b) the full replay (read, decode, reduce,
   compare effects, check invariants) of the same file, and (a) again; a round's ratio
   is the replay's throughput over the mean of the two bare loops around it. It prints
   every round, the median frames per second of each, and the median ratio (target:
   replay >= 50% of the bare loop's throughput, issue #18's). Each round also times
   reading the log alone (`read_log`: every line decoded into its record) and reading it
   with every action folded through `reduce` and nothing else, so it prints where a
   replay's time goes (reading, reducing, the rest: effects compared, invariants
   checked, timelines kept) and the ceiling: the throughput ratio of a replay that did
   nothing but read and reduce, which no change to the replayer can pass. Times are CPU
   time of this process
   (`time.process_time`); measuring both sides of a ratio back to back keeps a shared
   machine's speed swings (seen at +-50% over seconds) out of the ratio.
3. Memory: the RSS after replaying the first half of the log (``until=``) and after
   replaying all of it, next to the size of the live state at both points (the
   transcripts grow with the frames: that is the state, which a live client holds
   too). The replayer itself must not grow with the log: target RSS growth minus
   state growth <= 16 MiB. It also prints the peak RSS (`resource.getrusage`).
4. Memory bounded by the live operations (#18): the peak RSS of one replay in a fresh
   process (nothing else was ever allocated there), which must stay under 64 MiB however
   many operations the log holds: the state forgets finished operations past
   `retain_finished` and the report keeps a summary of each. The issue's case is
   ``--frames 1000000 --operations 100000`` (428 MiB before).

PASS/FAIL per target; exit 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import attrs
import immutables

from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess
from gatewayops.replay import Header, Record, ReplayReport, open_recorder, read_log, replay
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    Store,
    StoreConfig,
    reduce,
)

TARGET_RATIO = 0.5
TARGET_GROWTH_MIB = 16.0
TARGET_PEAK_MIB = 64.0
CONCURRENT = 10
GATEWAY_URL = "wss://gateway.example.com"
WORDS = ("The gateway ", "streams the ", "assistant's ", "reply in ", "small chunks, ", "each one ")


def _event(op_id: str, index: int, type_: str, data: Any) -> AgentEventMessage:
    event = AgentEvent(
        type=type_,
        operation_id=op_id,
        step_index=index // 100,
        timestamp=1_732_400_000_000 + index,
        data=data,
    )
    return AgentEventMessage(event=event, id=str(index))


def _operation(number: int, frames: int) -> Iterator[Any]:
    """One operation's actions: start, open, auth_success, chunks, a terminal (`frames` in)."""
    op_id = f"op_{number:06d}_7f3a9c2e"
    yield OperationStarted(
        operation_id=op_id, topic_id=f"topic_{number}", gateway_url=GATEWAY_URL, token="secret"
    )
    yield SocketOpened(link_id=op_id, generation=1)
    yield MessageReceived(link_id=op_id, generation=1, message=AuthSuccess())
    for index in range(1, frames - 1):
        data = {"chunkType": "text", "content": WORDS[index % len(WORDS)]}
        message = _event(op_id, index, "stream_chunk", data)
        yield MessageReceived(link_id=op_id, generation=1, message=message)
    end = _event(op_id, frames - 1, "agent_runtime_end", {"reason": None})
    yield MessageReceived(link_id=op_id, generation=1, message=end)


def generate(path: str, frames: int, operations: int) -> None:
    """Write the synthetic log to `path` through a real Store and Recorder."""
    per_operation = frames // operations
    with open_recorder(path, flush_every=4096) as recorder:
        store = Store(GatewayState(config=StoreConfig()), middleware=[recorder])
        for first in range(0, operations, CONCURRENT):
            streams = [_operation(n, per_operation) for n in range(first, first + CONCURRENT)]
            while streams:
                for stream in list(streams):
                    action = next(stream, None)
                    if action is None:
                        streams.remove(stream)
                    else:
                        store.dispatch(action)
    assert recorder.error is None


def rss_mib() -> float:
    """The current resident set size (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def state_mib(state: GatewayState) -> float:
    """An estimate of the live state's size: every object reachable through its fields."""
    seen: set[int] = set()
    stack: list[Any] = [state]
    total = 0
    while stack:
        value = stack.pop()
        if id(value) in seen or value is None or isinstance(value, bool | int | float):
            continue
        seen.add(id(value))
        total += sys.getsizeof(value)
        if attrs.has(type(value)):
            stack.extend(getattr(value, field.name) for field in attrs.fields(type(value)))
        elif isinstance(value, immutables.Map | dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, tuple | list):
            stack.extend(value)
    return total / 2**20


def bare_loop(path: str) -> float:
    """CPU seconds for `json.loads` of every line."""
    start = time.process_time()
    with open(path, encoding="utf-8") as file:
        for line in file:
            json.loads(line)
    return time.process_time() - start


def read_loop(path: str) -> float:
    """CPU seconds for reading the log alone: every line decoded into its record."""
    start = time.process_time()
    for _ in read_log(path):
        pass
    return time.process_time() - start


_ACTIONS = frozenset(get_args(Action))


def read_and_reduce_loop(path: str) -> float:
    """CPU seconds for reading the log and folding every action through `reduce`, with
    nothing else done (no effects compared, no invariants checked)."""
    start = time.process_time()
    state = GatewayState()
    for item in read_log(path):
        if isinstance(item, Header):
            state = GatewayState(config=item.config)
        elif isinstance(item, Record) and type(item.item) in _ACTIONS:
            state = reduce(state, item.item).state  # type: ignore[arg-type]
    return time.process_time() - start


def timed_replay(path: str, until: int | None = None) -> tuple[float, ReplayReport]:
    """CPU seconds for a full replay (or up to `until`), and its report."""
    start = time.process_time()
    report = replay(read_log(path), until=until)
    return time.process_time() - start, report


def _replay_peak(path: str, results: Any) -> None:
    """In a fresh process: replay `path`, send back (peak RSS MiB, operations reported)."""
    report = replay(read_log(path))
    results.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(report.operations)))


def replay_peak_mib(path: str) -> tuple[float, int]:
    """The peak RSS of a replay of `path` in a fresh process, and its operation count."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_replay_peak, args=(path, results))
    child.start()
    peak, operations = results.get()
    child.join()
    return float(peak), int(operations)


def main() -> int:
    """Generate, measure, report; 0 on PASS, 1 on FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="inbound frames")
    parser.add_argument("--operations", type=int, default=1_000, help="operations")
    parser.add_argument("--rounds", type=int, default=3, help="bare/replay rounds")
    args = parser.parse_args()
    frames = args.frames // args.operations * args.operations
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "synthetic.jsonl")
        start = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(
            target=generate, args=(path, frames, args.operations)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            print(f"generating the log failed (exit {child.exitcode})")
            return 1
        size = os.path.getsize(path)
        print(
            f"generated {frames:,} inbound frames across {args.operations:,} operations "
            f"({size / 2**20:,.0f} MiB) in {time.perf_counter() - start:,.1f} s"
        )
        gc.collect()
        base = rss_mib()
        _, half = timed_replay(path, until=_half_seq(path))
        gc.collect()
        rss_half, state_half = rss_mib(), state_mib(half.state)
        del half
        _, full = timed_replay(path)
        gc.collect()
        rss_all, state_all = rss_mib(), state_mib(full.state)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if not full.ok:
            print(full.to_text(timelines=False))
            return 1
        counts = f"{full.records:,} ({full.inputs:,} actions, {full.outputs:,} effects)"
        fresh_peak, reported = replay_peak_mib(path)
        del full  # the timed rounds below keep no report alive
        rounds = []
        parts = []
        for _ in range(args.rounds):  # each round: bare, replay, read, read+reduce, bare
            before = bare_loop(path)
            replay_s = timed_replay(path)[0]
            parts.append((read_loop(path), read_and_reduce_loop(path)))
            rounds.append(((before + bare_loop(path)) / 2, replay_s))
    loads_s = statistics.median(loads for loads, _ in rounds)
    replay_s = statistics.median(replay for _, replay in rounds)
    ratio = statistics.median(loads / replay for loads, replay in rounds)
    read_s = statistics.median(read for read, _ in parts)
    reduced_s = statistics.median(reduced for _, reduced in parts)
    ceiling = statistics.median(
        loads / reduced for (loads, _), (_, reduced) in zip(rounds, parts, strict=True)
    )
    growth = (rss_all - rss_half) - (state_all - state_half)
    print(f"records: {counts}")
    for number, (loads, replayed) in enumerate(rounds, 1):
        share = loads / replayed
        print(f"round {number}: bare loop {loads:6.2f} s, replay {replayed:6.2f} s, {share:.3f}")
    print(f"bare json.loads loop   {loads_s:8.2f} s  {frames / loads_s:12,.0f} frames/s (median)")
    print(f"full replay            {replay_s:8.2f} s  {frames / replay_s:12,.0f} frames/s (median)")
    print(
        f"of a replay's time: reading {read_s / replay_s:.0%}, reducing "
        f"{(reduced_s - read_s) / replay_s:.0%}, the rest {(replay_s - reduced_s) / replay_s:.0%};"
        f" reading and reducing alone reach {ceiling:.2f} of the bare loop's throughput"
        " (a replay's ceiling)"
    )
    print(f"RSS before replaying       {base:8.1f} MiB")
    print(f"RSS after half the log    {rss_half:8.1f} MiB  (live state ~{state_half:,.1f} MiB)")
    print(f"RSS after all of the log  {rss_all:8.1f} MiB  (live state ~{state_all:,.1f} MiB)")
    print(f"peak RSS (getrusage)      {peak:8.1f} MiB")
    print(
        f"peak RSS of one replay in a fresh process {fresh_peak:8.1f} MiB "
        f"({reported:,} operations reported)"
    )
    verdicts = [
        (
            f"replay/bare-loop throughput = {ratio:.2f} (target >= {TARGET_RATIO:.2f})",
            ratio >= TARGET_RATIO,
        ),
        (
            f"RSS growth half->all beyond the live state = {growth:+.1f} MiB "
            f"(target <= {TARGET_GROWTH_MIB:.0f})",
            growth <= TARGET_GROWTH_MIB,
        ),
        (
            f"peak RSS of a replay of {reported:,} operations = {fresh_peak:.1f} MiB "
            f"(target <= {TARGET_PEAK_MIB:.0f})",
            fresh_peak <= TARGET_PEAK_MIB,
        ),
    ]
    for text, passed in verdicts:
        print(f"{text}: {'PASS' if passed else 'FAIL'}")
    return 0 if all(passed for _, passed in verdicts) else 1


def _half_seq(path: str) -> int:
    """The record number halfway through the log (from its last line)."""
    with open(path, "rb") as file:
        file.seek(-4096, os.SEEK_END)
        last = file.read().splitlines()[-1]
    return int(json.loads(last)["seq"]) // 2


if __name__ == "__main__":
    sys.exit(main())
