"""Benchmark: following N runs over one v2 socket vs N v1 sockets, against the gateway.

A plain script (no pytest): ``.venv/bin/python benchmarks/hub_scale.py [N]`` (N = 1000 by
default). In one process it starts a reference gateway with N paused runs, then, with raw
trio-websocket clients (not the gatewayops client, whose v2 link is not built yet):

* v2: one socket, `ready`, N `subscribe`s, each answered by its replay and
  `resume_complete`;
* v1: N sockets, each `auth`, `resume{wantStatus}`, answered the same way.

For each it reports the open file descriptors the sockets add (both ends, in this one
process), the RSS they add, and the wall time to follow all N; then one live event on
every run, and the time until every socket has it. Exits 1 if v2 does not hold fewer
descriptors than v1 (it should hold 2 against 2N). Needs ``ulimit -n`` above 2N + 100.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from gatewayops.gateway import Emit, Gateway, Pause, RunHandle, Script, open_gateway
from gatewayops.protocol import (
    AgentEventMessage,
    Auth,
    EventType,
    MuxAgentEvent,
    MuxResumeComplete,
    Ready,
    Resume,
    ResumeComplete,
    Subscribe,
    decode,
    decode_mux,
    encode,
    encode_mux,
)

PAUSED = Script(
    name="paused",
    steps=(Emit(type=EventType.AGENT_RUNTIME_INIT, data={}), Pause(seconds=math.inf)),
)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@asynccontextmanager
async def _socket(url: str) -> AsyncIterator[WebSocketConnection]:
    async with open_websocket_url(url, connect_timeout=30, disconnect_timeout=5) as ws:
        yield ws


async def _follow_v2(
    gw: Gateway, runs: list[RunHandle], stack: AsyncExitStack
) -> Callable[[], Awaitable[None]]:
    ws = await stack.enter_async_context(_socket(gw.v2.url(gw.v2.issue_user_token())))
    assert isinstance(decode_mux(await ws.get_message()), Ready)
    for run in runs:
        await ws.send_message(encode_mux(Subscribe(operation_id=run.operation_id)))
    done = 0
    while done < len(runs):
        if isinstance(decode_mux(await ws.get_message()), MuxResumeComplete):
            done += 1

    async def live() -> None:
        seen = 0
        while seen < len(runs):
            if isinstance(decode_mux(await ws.get_message()), MuxAgentEvent):
                seen += 1

    return live


async def _follow_v1(
    gw: Gateway, runs: list[RunHandle], stack: AsyncExitStack
) -> Callable[[], Awaitable[None]]:
    sockets = []
    for run in runs:
        ws = await stack.enter_async_context(_socket(gw.operation_url(run.operation_id)))
        await ws.send_message(encode(Auth(token=run.token)))
        await ws.send_message(encode(Resume(last_event_id="", want_status=True)))
        sockets.append(ws)
    for ws in sockets:
        while not isinstance(decode(await ws.get_message()), ResumeComplete):
            pass

    async def live() -> None:
        for ws in sockets:
            while not isinstance(decode(await ws.get_message()), AgentEventMessage):
                pass

    return live


async def _measure(gw: Gateway, runs: list[RunHandle], protocol: str) -> dict[str, float]:
    follow = _follow_v2 if protocol == "v2" else _follow_v1
    fds, rss, started = _fds(), _rss_kib(), time.perf_counter()
    async with AsyncExitStack() as stack:
        live = await follow(gw, runs, stack)
        followed = time.perf_counter() - started
        held_fds, held_rss = _fds() - fds, _rss_kib() - rss
        started = time.perf_counter()
        for run in runs:  # one live event on every run
            gw.faults.mirror_member_terminal(run.operation_id, leave_status=False)
        await live()
        fanned = time.perf_counter() - started
    return {"fds": held_fds, "rss_kib": held_rss, "follow_s": followed, "live_s": fanned}


async def _main(count: int) -> int:
    async with open_gateway(max_outbox_frames=4 * count + 100) as gw:
        v2_runs = [gw.start_run(PAUSED) for _ in range(count)]
        v1_runs = [gw.start_run(PAUSED) for _ in range(count)]
        await trio.sleep(0.1)
        v2 = await _measure(gw, v2_runs, "v2")
        v1 = await _measure(gw, v1_runs, "v1")
    print(f"following {count} runs (client and gateway in one process)")
    print(f"{'':4}{'fds':>8}{'RSS KiB':>10}{'RSS/op B':>10}{'follow s':>10}{'live s':>9}")
    for name, row in (("v2", v2), ("v1", v1)):
        per_op = row["rss_kib"] * 1024 / count
        print(
            f"{name:4}{row['fds']:>8.0f}{row['rss_kib']:>10.0f}{per_op:>10.0f}"
            f"{row['follow_s']:>10.3f}{row['live_s']:>9.3f}"
        )
    verdict = "PASS" if v2["fds"] < v1["fds"] else "FAIL"
    print(f"v2 holds {v2['fds']:.0f} descriptors, v1 {v1['fds']:.0f}: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(trio.run(_main, int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
