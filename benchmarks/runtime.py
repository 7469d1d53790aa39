"""Benchmark: frames per second through the whole client vs a bare trio-websocket loop.

Run with ``python benchmarks/runtime.py [--frames N] [--rounds R]``. On loopback
(127.0.0.1) a trio-websocket server streams N `agent_event` stream_chunk frames, made
with the protocol codec, to

* **bare**: a plain trio-websocket ``get_message()`` loop that only counts frames, and
* **client**: `gatewayops.open_client` + `start`: the server answers ``auth`` with
  ``auth_success``, streams after ``resume`` and ends with ``agent_runtime_end``; every
  frame is decoded, reduced into the transcript, and its resources diffed.

Both are measured in the same process and run, alternating, for several rounds; the
medians of frames/s and their ratio are printed, with PASS when the client keeps at
least 70% of the bare rate. The verdict uses frames per second of process CPU time
(server and client share the process in both cases), which a busy shared machine
disturbs far less than wall-clock time; wall-clock rates are printed alongside.

It also prints the budget the target leaves the client: the CPU it may add per frame
to the bare loop's (server and bare client together) and still keep 90% of its rate,
beside what it added in these rounds, and what the two steps of the client's own that
no design of it can skip -- decoding the frame and reducing it into the state -- cost
per frame when measured alone, warm (`benchmarks/reduce.py`'s state and frame). When
those two alone exceed the budget, no change to the runtime around them meets the target.
Takes about 20 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from functools import partial

import attrs
import trio
import trio_websocket

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops import open_client
from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    Auth,
    AuthSuccess,
    Resume,
    decode,
    decode_client,
    encode,
)
from gatewayops.store import MessageReceived, Result, reduce
from reduce import build_state, frame_for, operation_id  # benchmarks/reduce.py

TARGET_RATIO = 0.90  # #18: the client receives at 90% of a bare loop's rate or better
QUEUE_SIZE = 4  # the same trio-websocket queue size for both sides of the comparison


def make_frames(operation_id: str, count: int, text: str) -> list[str]:
    """`count` stream_chunk frames with increasing envelope ids, then the terminal event."""
    frames = []
    for n in range(1, count + 1):
        event = AgentEvent(
            type="stream_chunk",
            operation_id=operation_id,
            step_index=0,
            timestamp=1_700_000_000_000 + n,
            data={"chunkType": "text", "content": text},
        )
        frames.append(encode(AgentEventMessage(event=event, id=str(n))))
    end = AgentEvent(type="agent_runtime_end", operation_id=operation_id, data={})
    frames.append(encode(AgentEventMessage(event=end, id=str(count + 1))))
    return frames


async def handler(frames: Sequence[str], request: trio_websocket.WebSocketRequest) -> None:
    """Stream right away on ``/bare``; speak the v1 handshake first on ``/ws``."""
    ws = await request.accept()
    try:
        if request.path.startswith("/ws"):
            assert isinstance(decode_client(await ws.get_message()), Auth)
            await ws.send_message(encode(AuthSuccess()))
            assert isinstance(decode_client(await ws.get_message()), Resume)
        for frame in frames:
            await ws.send_message(frame)
        while True:  # wait for the client to close
            await ws.get_message()
    except trio_websocket.ConnectionClosed:
        pass


@attrs.frozen(kw_only=True)
class Rates:
    """Frames per second of one measurement, by wall clock and by process CPU time."""

    wall: float
    cpu: float


class _Stopwatch:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def rates(self, frames: int) -> Rates:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        return Rates(wall=frames / wall, cpu=frames / cpu)


async def bare(base: str, count: int) -> Rates:
    """Rates of a bare trio-websocket loop receiving `count` frames plus the end."""
    watch = _Stopwatch()
    async with trio_websocket.open_websocket_url(
        f"{base}/bare", message_queue_size=QUEUE_SIZE
    ) as ws:
        for _ in range(count + 1):
            await ws.get_message()
    return watch.rates(count + 1)


async def client(base: str, count: int, operation_id: str) -> Rates:
    """Rates of the full client following a run of `count` chunks to its end."""

    async def refresh_token(topic_id: str) -> str:
        raise AssertionError("no refresh expected")

    watch = _Stopwatch()
    async with open_client(refresh_token=refresh_token) as gateway_client:
        gateway_client.start(
            operation_id=operation_id,
            topic_id=f"topic-{operation_id}",
            gateway_url=base,
            token="jwt",
        )
        outcome = await gateway_client.wait_finished(operation_id)
        events = gateway_client.state.operations[operation_id].transcript.events
    rates = watch.rates(count + 1)
    assert outcome.result is Result.COMPLETED, outcome
    assert events == count + 1, events
    return rates


def decode_and_reduce_us() -> float:
    """Median microseconds of decoding one stream_chunk frame and reducing it, warm."""
    state, op_id = build_state(1), operation_id(0)
    frame = frame_for(op_id)

    def decode_and_reduce() -> object:
        return reduce(state, MessageReceived(link_id=op_id, generation=1, message=decode(frame)))

    return medians_us({"step": decode_and_reduce}, rounds=21, round_seconds=0.01)["step"]


async def main(count: int, rounds: int, text: str) -> bool:
    """Run the rounds, print the medians and the verdict; True on PASS."""
    bare_rates: list[Rates] = []
    client_rates: list[Rates] = []
    async with trio.open_nursery() as nursery:
        for round_ in range(rounds):
            operation_id = f"op-{round_}"
            frames = make_frames(operation_id, count, text)
            server = await nursery.start(
                partial(
                    trio_websocket.serve_websocket,
                    partial(handler, frames),
                    "127.0.0.1",
                    0,
                    None,
                    message_queue_size=QUEUE_SIZE,
                )
            )
            base = f"ws://127.0.0.1:{server.port}"
            bare_rates.append(await bare(base, count))
            client_rates.append(await client(base, count, operation_id))
            print(
                f"round {round_ + 1}: bare {bare_rates[-1].cpu:7.0f} frames/cpu-s "
                f"({bare_rates[-1].wall:7.0f}/s wall)   client {client_rates[-1].cpu:7.0f} "
                f"frames/cpu-s ({client_rates[-1].wall:7.0f}/s wall)"
            )
        nursery.cancel_scope.cancel()
    for clock in ("wall", "cpu"):
        bare_median = statistics.median(getattr(rate, clock) for rate in bare_rates)
        client_median = statistics.median(getattr(rate, clock) for rate in client_rates)
        ratio = client_median / bare_median
        print(
            f"{clock:>4}: median bare {bare_median:7.0f} frames/s, client {client_median:7.0f}"
            f" frames/s, ratio {ratio:.2f}"
        )
    bare_us = 1e6 / statistics.median(rate.cpu for rate in bare_rates)
    added_us = 1e6 / statistics.median(rate.cpu for rate in client_rates) - bare_us
    print(
        f"CPU per frame: bare {bare_us:.1f} us; the client added {added_us:.1f} us, the target"
        f" allows {bare_us * (1 / TARGET_RATIO - 1):.1f} us; decoding and reducing a frame"
        f" alone, warm, take {decode_and_reduce_us():.1f} us"
    )
    print(f"ratio client/bare (cpu): {ratio:.2f} (target >= {TARGET_RATIO:.2f})")
    passed = bool(ratio >= TARGET_RATIO)
    print("PASS" if passed else "FAIL")
    return passed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk-text", default="tok ", help="content of every chunk")
    arguments = parser.parse_args()
    passed = trio.run(main, arguments.frames, arguments.rounds, arguments.chunk_text)
    sys.exit(0 if passed else 1)
