"""Benchmark: the cost of one event must not grow with the events already seen.

A plain script (no pytest): ``.venv/bin/python benchmarks/event_cost.py``. For each kind
of event it builds, through `reduce` itself, an operation that has already received
1,000 and 20,000 events of that kind, then measures in the same run (interleaved
`timeit` rounds, medians in microseconds) what the *next* event of that kind costs
against each state: `reduce`, plus deriving the operation's and its link's resources
when they changed, as the runtime does (the runtime's whole per-event work in the
store). Every call reduces against the same unchanged state, so each does the full work.

Kinds: a text chunk appended to a long message, `stream_start` of the next message,
`tool_start` and `tool_end` of server tools, `tool_execute` of a client tool whose
result was sent (`ToolFinished` after each one in the prefix), a forwarded member event,
an event with no data view (`step_complete`), and a chunk buffered during an attach
replay. A last line measures a whole buffered replay (buffering and its flush) per
event, at 1,000 and 20,000 events.

It prints the medians, the ratio 20k/1k per kind (target <= 1.5), PASS/FAIL, and exits
1 on any FAIL. Runs in well under a minute.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess, ToolResult
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationAttached,
    OperationStarted,
    SocketOpened,
    TimerFired,
    TimerKind,
    ToolFinished,
    link_resources,
    operation_resources,
    reduce,
    resources_may_differ,
)

TARGET = 1.5
SIZES = (1_000, 20_000)
ROUNDS = 15
ROUND_SECONDS = 0.01
OP = "op-benchmark"
URL = "wss://gateway.example.com"


def _event(type_: str, data: Any, index: int, owner: str = OP) -> MessageReceived:
    event = AgentEvent(type=type_, operation_id=owner, step_index=index, timestamp=index, data=data)
    return MessageReceived(
        link_id=OP, generation=1, message=AgentEventMessage(event=event, id=str(index))
    )


def _chunk(index: int) -> list[Action]:
    return [_event("stream_chunk", {"chunkType": "text", "content": f"word{index % 10} "}, index)]


def _stream_start(index: int) -> list[Action]:
    return [_event("stream_start", {"assistantMessage": {"id": f"m{index}"}}, index)]


def _tool_start(index: int) -> list[Action]:
    calling = {"id": f"t{index}", "identifier": "web", "apiName": "search"}
    return [_event("tool_start", {"toolCalling": calling}, index)]


def _tool_end(index: int) -> list[Action]:
    payload = {"toolCalling": {"id": f"t{index // 2}"}}  # ends a call from the middle
    return [_event("tool_end", {"isSuccess": True, "payload": payload}, index)]


def _tool_execute(index: int) -> list[Action]:
    data = {"toolCallId": f"c{index}", "identifier": "calc", "arguments": "{}"}
    result = ToolResult(tool_call_id=f"c{index}", success=True, content="3")
    return [_event("tool_execute", data, index), ToolFinished(operation_id=OP, result=result)]


def _member(index: int) -> list[Action]:
    return [_event("stream_chunk", {"chunkType": "text", "content": "x"}, index, "member-op")]


def _no_view(index: int) -> list[Action]:
    return [_event("step_complete", {"phase": "execution_complete"}, index)]


def _connected(attach: bool) -> GatewayState:
    state = GatewayState()
    if attach:
        first: Action = OperationAttached(operation_id=OP, topic_id="t", gateway_url=URL, token="x")
    else:
        first = OperationStarted(operation_id=OP, topic_id="t", gateway_url=URL, token="x")
    actions = [first, SocketOpened(link_id=OP, generation=1)]
    actions.append(MessageReceived(link_id=OP, generation=1, message=AuthSuccess()))
    for action in actions:
        state = reduce(state, action).state
    return state


def _after(make: Callable[[int], list[Action]], count: int, *, attach: bool = False) -> Any:
    state = _connected(attach)
    if make is _tool_end:  # the calls it ends were started first
        for index in range(count):
            state = reduce(state, _tool_start(index)[0]).state
    for index in range(count):
        for action in make(index):
            state = reduce(state, action).state
    return state


def _next_event(state: GatewayState, make: Callable[[int], list[Action]], count: int) -> Any:
    actions = make(count)
    before, before_link = state.operations[OP], state.links[OP]

    def step() -> None:
        current = state
        for action in actions:
            current = reduce(current, action).state
            after, link = current.operations[OP], current.links[OP]
            if resources_may_differ(before, after):
                operation_resources(after, current.config)
            if link is not before_link:
                link_resources(link, current.config)

    return step


KINDS: dict[str, tuple[Callable[[int], list[Action]], bool]] = {
    "text chunk": (_chunk, False),
    "stream_start": (_stream_start, False),
    "tool_start": (_tool_start, False),
    "tool_end": (_tool_end, False),
    "tool_execute + result": (_tool_execute, False),
    "member event": (_member, False),
    "event without a view": (_no_view, False),
    "buffered replay chunk": (_chunk, True),
}


def _whole_replay_per_event(count: int) -> float:
    """Microseconds per event of buffering `count` replayed chunks and flushing them."""
    best = float("inf")
    for _ in range(3):
        state = _connected(attach=True)
        started = time.perf_counter()
        for index in range(count):
            state = reduce(state, _chunk(index)[0]).state
        op = state.operations[OP]
        (flush,) = [
            r
            for r in operation_resources(op, state.config)
            if getattr(r, "kind", None) is TimerKind.RESUME_FLUSH
        ]
        state = reduce(state, TimerFired(timer=flush)).state  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
        assert state.operations[OP].transcript.events == count
    return best / count * 1e6


def main() -> int:
    calls = {}
    for name, (make, attach) in KINDS.items():
        for size in SIZES:
            state = _after(make, size, attach=attach)
            calls[f"{name}@{size}"] = _next_event(state, make, size)
    medians = medians_us(calls, rounds=ROUNDS, round_seconds=ROUND_SECONDS)
    failed = False
    print(f"{'event kind':<24}{'after 1k':>11}{'after 20k':>11}{'ratio':>8}  (target <= {TARGET})")
    rows = [(name, medians[f"{name}@{SIZES[0]}"], medians[f"{name}@{SIZES[1]}"]) for name in KINDS]
    small_replay, large_replay = (_whole_replay_per_event(size) for size in SIZES)
    rows.append(("whole buffered replay", small_replay, large_replay))
    for name, small, large in rows:
        ratio = large / small
        verdict = "PASS" if ratio <= TARGET else "FAIL"
        failed = failed or ratio > TARGET
        print(f"{name:<24}{small:>9.2f}us{large:>9.2f}us{ratio:>8.2f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
