"""Benchmark: the cost of one `reduce` step, with 10 and with 10,000 live operations.

A plain script (no pytest): ``.venv/bin/python benchmarks/reduce.py``. It builds two
states through `reduce` itself, one with 10 and one with 10,000 connected operations
(each authenticated, streaming an assistant message that already holds the text of one
chunk, cursor at ``"0"``: the measured chunk is a typical one, not the first of its
message, which also opens the message's transcript entry), and measures in the same run
(interleaved `timeit` rounds, medians in microseconds):

* `reduce` of a `MessageReceived` carrying a decoded `stream_chunk` `agent_event` (a
  typical ~250-byte frame with envelope id ``"1"``, above the cursor, so the whole hot
  path runs: cursor, echo guard, data parsing, transcript, persistent-map update) for
  one operation in each state. Every call reduces against the same unchanged state, so
  each one does the full work;
* the same, rotating: each call reduces the chunk of the next operation in turn, over
  all 10 or all 10,000, as a client following them all does (memory the last call did
  not touch is colder);
* a bare `json.loads` of the same frame text, the floor any client pays per frame;
* the persistent maps alone, rotating the same way: the two lookups and the one update
  that every chunk's reduce makes in `GatewayState.links` and `.operations` (immutables'
  HAMT), and nothing else. At 10,000 operations the maps' nodes, keys and values are
  cold, like everything else a rotating call touches; the growth of this line from 10
  to 10,000 is the share of the rotating growth that the state's persistent maps cost
  by themselves, and what is left is the growth of the rest of the reduce.

It prints the medians, the ratios 10k/10 for one operation and rotating (target <= 1.2
each: the cost of an action must not grow with the number of operations, DESIGN.md 2),
the maps' share of the rotating growth, and the ratio of one reduce to `json.loads`
(target <= 2.0), PASS/FAIL per target, and exits 1 on any FAIL. Runs in a few seconds.
"""

from __future__ import annotations

import itertools
import json
import sys

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess, decode
from gatewayops.store import (
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    Step,
    reduce,
)

TARGET_SCALING = 1.2
TARGET_VS_JSON = 2.0
ROUNDS = 41
ROUND_SECONDS = 0.015  # each round runs the call enough times to take about this long
SIZES = (10, 10_000)
GATEWAY_URL = "wss://gateway.example.com"


def operation_id(index: int) -> str:
    """The id of the `index`th operation (same length for every index)."""
    return f"op_{index:06d}_7f3a9c2e"


def frame_for(op_id: str, event_id: str = "1") -> str:
    """A typical `stream_chunk` frame for `op_id` (about 250 bytes)."""
    return json.dumps(
        {
            "type": "agent_event",
            "id": event_id,
            "event": {
                "type": "stream_chunk",
                "operationId": op_id,
                "stepIndex": 3,
                "timestamp": 1732400000123,
                "data": {
                    "chunkType": "text",
                    "content": "The gateway streams the assistant's reply in small chunks; "
                    "each one is appended. ",
                },
            },
        },
        separators=(",", ":"),
    )


def build_state(size: int) -> GatewayState:
    """`size` connected operations, each streaming a message with one chunk of text in
    it, cursor "0"."""
    state = GatewayState()
    for index in range(size):
        op_id = operation_id(index)
        stream_start = AgentEventMessage(
            event=AgentEvent(
                type="stream_start",
                operation_id=op_id,
                step_index=3,
                data={"assistantMessage": {"id": f"msg_{index}"}},
            ),
            id="",  # no envelope id: the first chunk's "0" is the cursor
        )
        for action in (
            OperationStarted(
                operation_id=op_id,
                topic_id=f"topic_{index}",
                gateway_url=GATEWAY_URL,
                token="benchmark-token",
            ),
            SocketOpened(link_id=op_id, generation=1),
            MessageReceived(link_id=op_id, generation=1, message=AuthSuccess()),
            MessageReceived(link_id=op_id, generation=1, message=stream_start),
            MessageReceived(link_id=op_id, generation=1, message=decode(frame_for(op_id, "0"))),
        ):
            state = reduce(state, action).state
    return state


def _check_step(state: GatewayState, action: MessageReceived, step: Step) -> None:
    """The measured step really applies the chunk (not dropped as stale or replayed)."""
    before = state.operations[action.link_id]  # v1: the link id is the operation id
    after = step.state.operations[action.link_id]
    assert after.last_event_id == "1", "the chunk was dropped"
    assert after.transcript.events == before.transcript.events + 1
    assert after.transcript.text.endswith("appended. ")
    assert after.problems == before.problems == 0, before.last_problem
    assert step.effects == ()


def maps_alone(state: GatewayState, action: MessageReceived, marker: object) -> object:
    """What a chunk's reduce does in the state's persistent maps, and nothing else: look
    up the link and the operation, and put a new value in the operation's place."""
    state.links.get(action.link_id)
    state.operations.get(action.link_id)
    return state.operations.set(action.link_id, marker)  # type: ignore[arg-type]


def main() -> int:
    """Run the benchmark and report; 0 on PASS, 1 on FAIL."""
    states = {size: build_state(size) for size in SIZES}
    actions = {}
    frames = {}
    rotations = {}
    map_rotations = {}
    for size, state in states.items():
        every = [
            MessageReceived(link_id=op, generation=1, message=decode(frame_for(op)))
            for op in map(operation_id, range(size))
        ]
        rotations[size] = itertools.cycle(every)
        map_rotations[size] = itertools.cycle(every)
        op_id = operation_id(size // 2)  # an operation in the middle of the map
        frames[size] = frame_for(op_id)
        message = decode(frames[size])
        assert isinstance(message, AgentEventMessage)
        actions[size] = MessageReceived(link_id=op_id, generation=1, message=message)
        assert len(state.operations) == size
        _check_step(state, actions[size], reduce(state, actions[size]))
    frame = frames[SIZES[-1]]
    small, large = SIZES

    medians = medians_us(
        {
            "json.loads": lambda: json.loads(frame),
            f"reduce@{small}": lambda: reduce(states[small], actions[small]),
            f"reduce@{large}": lambda: reduce(states[large], actions[large]),
            f"rotating@{small}": lambda: reduce(states[small], next(rotations[small])),
            f"rotating@{large}": lambda: reduce(states[large], next(rotations[large])),
            f"maps@{small}": lambda: maps_alone(
                states[small], next(map_rotations[small]), object()
            ),
            f"maps@{large}": lambda: maps_alone(
                states[large], next(map_rotations[large]), object()
            ),
        },
        rounds=ROUNDS,
        round_seconds=ROUND_SECONDS,
    )
    loads_us = medians["json.loads"]
    small_us, large_us = medians[f"reduce@{small}"], medians[f"reduce@{large}"]
    rotating_small_us, rotating_large_us = (
        medians[f"rotating@{small}"],
        medians[f"rotating@{large}"],
    )
    maps_small_us, maps_large_us = medians[f"maps@{small}"], medians[f"maps@{large}"]
    growth_us = rotating_large_us - rotating_small_us
    maps_growth_us = maps_large_us - maps_small_us
    scaling = large_us / small_us
    rotating_scaling = rotating_large_us / rotating_small_us
    vs_json = large_us / loads_us

    print(f"frame: agent_event stream_chunk, {len(frame.encode())} bytes")
    print(f"json.loads                     median {loads_us:8.3f} us")
    print(f"reduce, {small:>6,} operations     median {small_us:8.3f} us")
    print(f"reduce, {large:>6,} operations     median {large_us:8.3f} us")
    print(f"rotating over {small:>6,}         median {rotating_small_us:8.3f} us")
    print(f"rotating over {large:>6,}         median {rotating_large_us:8.3f} us")
    print(f"maps alone, rotating over {small:>6,} median {maps_small_us:8.3f} us")
    print(f"maps alone, rotating over {large:>6,} median {maps_large_us:8.3f} us")
    print(
        f"rotating growth {growth_us:+.3f} us, of which the persistent maps alone "
        f"{maps_growth_us:+.3f} us; the rest of the reduce grows {growth_us - maps_growth_us:+.3f}"
        f" us ({(rotating_large_us - maps_growth_us) / rotating_small_us:.2f}x without the maps'"
        " growth)"
    )
    verdicts = []
    for label, ratio, target in (
        (f"ratio reduce@{large}/reduce@{small}", scaling, TARGET_SCALING),
        (f"ratio rotating@{large}/rotating@{small}", rotating_scaling, TARGET_SCALING),
        (f"ratio reduce@{large}/json.loads", vs_json, TARGET_VS_JSON),
    ):
        verdict = "PASS" if ratio <= target else "FAIL"
        verdicts.append(verdict)
        print(f"{label} = {ratio:.2f} (target <= {target:.1f}): {verdict}")
    return 0 if all(verdict == "PASS" for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
