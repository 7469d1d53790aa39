"""Benchmark: the cost of `gatewayops.protocol.decode` over bare `json.loads`.

A plain script (no pytest): ``.venv/bin/python benchmarks/codec.py``. For one typical
`agent_event` stream_chunk frame (about 250 bytes) it measures, in the same run, the
median per-call time of `json.loads(text)`, of `decode(text)` and of `encode(message)`
(15 interleaved `timeit` rounds), prints them in microseconds with the decode/json.loads
ratio, and exits 1 when the ratio is over the target. Runs in a few seconds.
"""

from __future__ import annotations

import json
import sys

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops.protocol import AgentEventMessage, decode, encode

TARGET_RATIO = 1.0  # #18: no slower than a bare json.loads of the same bytes
ROUNDS = 15
ROUND_SECONDS = 0.04  # each round runs the call enough times to take about this long

FRAME = json.dumps(
    {
        "type": "agent_event",
        "id": "1042",
        "event": {
            "type": "stream_chunk",
            "operationId": "op_7f3a9c2e4b1d",
            "stepIndex": 3,
            "timestamp": 1732400000123,
            "data": {
                "chunkType": "text",
                "content": "The gateway streams the reply in chunks. ",
                "snapshotMode": "replace",
                "snapshotSeq": 41,
            },
        },
    },
    separators=(",", ":"),
)


def main() -> int:
    """Run the benchmark and report; 0 on PASS, 1 on FAIL."""
    message = decode(FRAME)
    assert isinstance(message, AgentEventMessage)
    assert json.loads(encode(message)) == json.loads(FRAME)

    medians = medians_us(
        {
            "json.loads": lambda: json.loads(FRAME),
            "decode": lambda: decode(FRAME),
            "encode": lambda: encode(message),
        },
        rounds=ROUNDS,
        round_seconds=ROUND_SECONDS,
    )
    loads_us, decode_us, encode_us = medians["json.loads"], medians["decode"], medians["encode"]
    ratio = decode_us / loads_us

    print(f"frame: agent_event stream_chunk, {len(FRAME.encode())} bytes")
    print(f"json.loads  median {loads_us:8.3f} us")
    print(f"decode      median {decode_us:8.3f} us")
    print(f"encode      median {encode_us:8.3f} us")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio decode/json.loads = {ratio:.2f} (target <= {TARGET_RATIO:.1f}): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
