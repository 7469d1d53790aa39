"""Benchmark: the cost of the v2 codec (`decode_mux`, `encode_mux`) beside v1's.

A plain script (no pytest): ``.venv/bin/python benchmarks/mux_codec.py``. For one typical
`agent_event` stream_chunk, as a v1 frame and as the v2 frame of the same event (the
envelope names the operation; the event omits it), it measures in the same run the
median per-call time of `json.loads`, of v1's `decode` and of `decode_mux` on their
frames, and of `encode` and `encode_mux` (15 interleaved `timeit` rounds). It prints them
in microseconds with the decode_mux/decode ratio, and exits 1 when that ratio is over
the target: v2 restores one field, so it must not cost much more than v1.
"""

from __future__ import annotations

import json
import sys

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops.protocol import (
    AgentEventMessage,
    MuxAgentEvent,
    decode,
    decode_mux,
    encode,
    encode_mux,
)

TARGET_RATIO = 1.5
ROUNDS = 15
ROUND_SECONDS = 0.04

_EVENT = {
    "type": "stream_chunk",
    "stepIndex": 3,
    "timestamp": 1732400000123,
    "data": {
        "chunkType": "text",
        "content": "The gateway streams the reply in chunks. ",
        "snapshotMode": "replace",
        "snapshotSeq": 41,
    },
}
V1_FRAME = json.dumps(
    {
        "type": "agent_event",
        "id": "1042",
        "event": {**_EVENT, "operationId": "op_7f3a9c2e4b1d"},
    },
    separators=(",", ":"),
)
V2_FRAME = json.dumps(
    {"type": "agent_event", "operationId": "op_7f3a9c2e4b1d", "id": "1042", "event": _EVENT},
    separators=(",", ":"),
)


def main() -> int:
    """Run the benchmark and report; 0 on PASS, 1 on FAIL."""
    v1, v2 = decode(V1_FRAME), decode_mux(V2_FRAME)
    assert isinstance(v1, AgentEventMessage)
    assert isinstance(v2, MuxAgentEvent)
    assert v2.event == v1.event
    assert v2.problems == ()

    medians = medians_us(
        {
            "json.loads": lambda: json.loads(V2_FRAME),
            "decode (v1)": lambda: decode(V1_FRAME),
            "decode_mux (v2)": lambda: decode_mux(V2_FRAME),
            "encode (v1)": lambda: encode(v1),
            "encode_mux (v2)": lambda: encode_mux(v2),
        },
        rounds=ROUNDS,
        round_seconds=ROUND_SECONDS,
    )
    for name, micros in medians.items():
        print(f"{name:>16}: {micros:6.2f} us")
    ratio = medians["decode_mux (v2)"] / medians["decode (v1)"]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"decode_mux / decode = {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
