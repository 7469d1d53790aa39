"""Benchmark: appending a chunk costs the same at any message length (#15).

A plain script (no pytest): ``.venv/bin/python benchmarks/transcript.py``. It streams one
assistant message of 1k, 10k, 100k and 1M characters, in chunks of `CHUNK` characters,
through `reduce` itself (from a connected operation: `stream_start`, the chunks, as the
runtime feeds them), and reports the cost of one chunk: the whole stream's time divided
by its chunks, so the occasional merge of the text's rope is paid for where it happens
(the amortised cost, which is what a long answer costs). The sizes are timed side by
side in interleaved rounds (medians), so a burst of load on the shared machine slows
them alike. A second column does the same for the rope alone (`append_piece`), and a
third for the string concatenation the transcript used before (a copy of the whole
text per chunk), up to 100k (at 1M it takes minutes, which is the point).

It prints microseconds per chunk and the ratio to the 1k message per size (target for
`reduce` <= 1.5 at 1M), PASS/FAIL, and exits 1 on a FAIL. Runs in about a minute.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops._persistent import append_piece, join_pieces
from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    reduce,
)

TARGET = 1.5
SIZES = (1_000, 10_000, 100_000, 1_000_000)
CONCATENATED_UP_TO = 100_000
CHUNK = 20
ROUNDS = 5
ROUND_SECONDS = 0.3
OP = "op-benchmark"
PIECE = "word word word word "  # CHUNK characters


def _event(type_: str, data: Any, index: int) -> MessageReceived:
    event = AgentEvent(type=type_, operation_id=OP, step_index=0, timestamp=index, data=data)
    return MessageReceived(
        link_id=OP, generation=1, message=AgentEventMessage(event=event, id=str(index))
    )


def _connected() -> GatewayState:
    state = GatewayState()
    url = "wss://gateway.example.com"
    actions: list[Action] = [
        OperationStarted(operation_id=OP, topic_id="t", gateway_url=url, token="x"),
        SocketOpened(link_id=OP, generation=1),
        MessageReceived(link_id=OP, generation=1, message=AuthSuccess()),
        _event("stream_start", {"assistantMessage": {"id": "m1"}}, 0),
    ]
    for action in actions:
        state = reduce(state, action).state
    return state


def _streamed(size: int) -> Callable[[], object]:
    """Stream a message of `size` characters through `reduce`."""
    start = _connected()
    chunks = [
        _event("stream_chunk", {"chunkType": "text", "content": PIECE}, index)
        for index in range(1, size // CHUNK + 1)
    ]

    def stream() -> object:
        state = start
        for chunk in chunks:
            state = reduce(state, chunk).state
        return state

    shown = stream()
    assert isinstance(shown, GatewayState)
    assert len(shown.operations[OP].transcript.text) == size
    return stream


def _roped(size: int) -> Callable[[], object]:
    """Append the same chunks to a rope, alone."""

    def stream() -> tuple[str, ...]:
        pieces: tuple[str, ...] = ()
        for _ in range(size // CHUNK):
            pieces = append_piece(pieces, PIECE)
        return pieces

    assert len(join_pieces(stream())) == size
    return stream


def _concatenated(size: int) -> Callable[[], object]:
    """Append the same chunks by string concatenation, the text held elsewhere too (as a
    frozen message holds it), so each append copies the whole text."""

    def stream() -> object:
        held = [""]
        for _ in range(size // CHUNK):
            held[0] = held[0] + PIECE
        return held

    return stream


COLUMNS: dict[str, tuple[Callable[[int], Callable[[], object]], int]] = {
    "reduce": (_streamed, SIZES[-1]),
    "rope alone": (_roped, SIZES[-1]),
    "concatenation": (_concatenated, CONCATENATED_UP_TO),
}


def main() -> int:
    calls = {
        f"{column}@{size}": make(size)
        for column, (make, up_to) in COLUMNS.items()
        for size in SIZES
        if size <= up_to
    }
    medians = medians_us(calls, rounds=ROUNDS, round_seconds=ROUND_SECONDS)
    print(f"per chunk of {CHUNK} characters: us (ratio to 1k); target reduce <= {TARGET}")
    print(f"{'message':>10}" + "".join(f"{column:>24}" for column in COLUMNS))
    failed = False
    for size in SIZES:
        cells = []
        for column, (_, up_to) in COLUMNS.items():
            if size > up_to:
                cells.append(f"{'-':>24}")
                continue
            per_chunk = medians[f"{column}@{size}"] / (size // CHUNK)
            ratio = per_chunk / (medians[f"{column}@{SIZES[0]}"] / (SIZES[0] // CHUNK))
            cells.append(f"{per_chunk:>13.3f}us ({ratio:>5.2f}x)")
            if column == "reduce" and ratio > TARGET:
                failed = True
        print(f"{size:>10,}" + "".join(cells))
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
