"""Benchmark: what durability and redaction cost the recorder, per dispatch.

A plain script (no pytest): ``.venv/bin/python benchmarks/record.py``. For one typical
streaming dispatch -- a `MessageReceived` carrying a decoded ``stream_chunk``
`agent_event` (about 250 bytes of frame, a 330-byte record line) and no effects -- it
measures in the same run (interleaved `timeit` rounds, medians in microseconds), each
recorder writing to its own file in a temporary directory:

* ``Recorder(flush_every=256)``: buffered, flushed every 256 records (the old default);
* ``Recorder()``: flushed to the operating system after every dispatch (the default);
* ``Recorder(fsync=True)``: flushed and fsynced after every dispatch (on whatever disk
  holds the temporary directory);
* `record_line` for the dispatch (encode, limits, secret scan), and the secret scan
  alone (`redact_secrets` of the line, compared with it), each for a line with nothing
  shaped like a token in two versions: one that takes `redact_secrets`'s fast path,
  and one whose text contains ``ey`` (as "they" or "key" do), which runs its regex.

It prints the medians, the ratios to the buffered recorder, and the scan's share of a
`record_line`. Its target: a flushed dispatch costs at most `TARGET_FLUSHED` times a
buffered one; exit 1 if not. Runs in a few seconds.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _timing import medians_us  # benchmarks/_timing.py (run as a script)
from gatewayops._secrets import redact_secrets
from gatewayops.protocol import AgentEvent, AgentEventMessage
from gatewayops.replay import Recorder
from gatewayops.replay._format import record_line
from gatewayops.store import GatewayState, MessageReceived, Step, StoreConfig

TARGET_FLUSHED = 3.0
ROUNDS = 21
ROUND_SECONDS = 0.03  # each round runs the call enough times to take about this long


def dispatch(text: str) -> MessageReceived:
    """A streamed text chunk of `text`, as the client dispatches it."""
    data = {"chunkType": "text", "content": text, "snapshotMode": "replace", "snapshotSeq": 41}
    event = AgentEvent(
        type="stream_chunk",
        operation_id="op_000042_7f3a9c2e",
        step_index=3,
        timestamp=1_732_400_000_123,
        data=data,
    )
    message = AgentEventMessage(event=event, id="1042")
    return MessageReceived(link_id="op_000042_7f3a9c2e", generation=1, message=message)


def recording(recorder: Recorder, action: MessageReceived) -> Callable[[], None]:
    """One call of `recorder` as the store makes it, for `action` (no effects)."""
    state = GatewayState(config=StoreConfig())
    step = Step(state=state)
    return lambda: recorder(state, action, step)


def main() -> int:
    """Run the benchmark and report; 0 on PASS, 1 on FAIL."""
    plain = dispatch("The gateway streams the reply in chunks. ")
    with_ey = dispatch("They say the key is in the stream. ")
    plain_line, ey_line = record_line(1, 0.5, plain), record_line(1, 0.5, with_ey)
    assert redact_secrets(ey_line) == ey_line  # "ey", but nothing shaped like a token
    with tempfile.TemporaryDirectory() as directory:
        files = {name: open(Path(directory) / f"{name}.jsonl", "w") for name in ("b", "f", "s")}  # noqa: SIM115
        try:
            recorders = {
                "buffered (flush_every=256)": Recorder(files["b"], flush_every=256),
                "flushed (default)": Recorder(files["f"]),
                "flushed + fsync": Recorder(files["s"], fsync=True),
            }
            calls: dict[str, Callable[[], object]] = {
                name: recording(recorder, plain) for name, recorder in recorders.items()
            }
            calls["record_line"] = lambda: record_line(1, 0.5, plain)
            calls["record_line, text with 'ey'"] = lambda: record_line(1, 0.5, with_ey)
            calls["secret scan, fast path"] = lambda: redact_secrets(plain_line) != plain_line
            calls["secret scan, text with 'ey'"] = lambda: redact_secrets(ey_line) != ey_line
            medians = medians_us(calls, rounds=ROUNDS, round_seconds=ROUND_SECONDS)
            assert all(recorder.error is None for recorder in recorders.values())
        finally:
            for file in files.values():
                file.close()

    buffered = medians["buffered (flush_every=256)"]
    line = medians["record_line"]
    print(f"one streaming dispatch, a {len(plain_line)}-byte record line; medians:")
    for name, median in medians.items():
        if name in recorders:
            print(f"  recorder, {name:<28} {median:9.2f} us  {median / buffered:6.2f}x buffered")
        elif name.startswith("record_line"):
            print(f"  {name:<38} {median:9.2f} us  {median / line:6.2f}x record_line")
        else:
            print(f"  {name:<38} {median:9.2f} us  {median / line:6.1%} of record_line")
    ratio = medians["flushed (default)"] / buffered
    verdict = "PASS" if ratio <= TARGET_FLUSHED else "FAIL"
    print(f"flushed/buffered = {ratio:.2f} (target <= {TARGET_FLUSHED:.1f}): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
