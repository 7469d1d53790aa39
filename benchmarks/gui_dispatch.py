"""Benchmark: GUI callback -> `client.dispatch(action)` -> store listener, on a real Tk loop.

Run with ``python benchmarks/gui_dispatch.py [--iterations N]``. It opens the example
app (`gatewayops.gui.ChatApp`, Trio in guest mode on Tk, embedded reference gateway),
presses Send and waits until the run's socket is connected (the scripted run then
pauses). Then, N times, a Tk ``after`` callback -- a GUI callback like a button's --
takes a timestamp and calls ``client.dispatch(MessageReceived(...))`` with a streamed
text chunk for that operation; a store listener subscribed by the benchmark takes the
second timestamp when it sees the new text. The app's own listener and its
``after_idle`` render run too, as in real use, and the window is checked to show the
text at the end.

Prints the median and the 99th percentile, and PASS when the median is below 1 ms.
Needs a display: with no ``DISPLAY`` it starts Xvfb itself (Debian: ``xvfb``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

from gatewayops.gui import AppOptions, ChatApp, DisplayUnavailable, virtual_display
from gatewayops.protocol import AgentEvent, AgentEventMessage
from gatewayops.store import (
    Action,
    ConnectionStatus,
    GatewayState,
    MessageReceived,
    connection_status,
)

TARGET_MEDIAN_MS = 1.0
WARMUP = 200
TOPIC = "topic-1"


def _pump_until(
    app: ChatApp, predicate: Callable[[], bool], what: str, timeout: float = 30.0
) -> None:
    """Run Tk (and so Trio) until `predicate()` holds, bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        wake = app.root.after(25, lambda: None)
        app.root.tk.dooneevent(0)
        app.root.after_cancel(wake)


def measure(iterations: int) -> list[float]:
    """Open the app, follow a run, and time `iterations` dispatches (seconds each)."""
    app = ChatApp.open(AppOptions(chunk_delay=3600.0, chunks=2))
    try:
        _pump_until(app, lambda: app.session is not None, "the client to open")
        session = app.session
        assert session is not None
        app.window.send_button.invoke()
        operation_id = session.latest_operation(TOPIC)
        assert operation_id is not None
        _pump_until(
            app,
            lambda: (
                connection_status(session.client.state, operation_id) is ConnectionStatus.CONNECTED
            ),
            "the run's socket to connect",
        )
        generation = session.client.state.links[operation_id].generation

        samples: list[float] = []
        started = [0.0]
        threads: set[threading.Thread] = set()
        finished: list[bool] = []
        total = WARMUP + iterations

        chunk = AgentEventMessage(
            event=AgentEvent(
                type="stream_chunk",
                operation_id=operation_id,
                data={"chunkType": "text", "content": "x"},
            )
        )
        action = MessageReceived(link_id=operation_id, generation=generation, message=chunk)

        def listener(old: GatewayState, new: GatewayState, seen: Action) -> None:
            if seen is action:  # not the frames the real socket delivers meanwhile
                samples.append(time.perf_counter() - started[0])
                threads.add(threading.current_thread())

        unsubscribe = session.client.subscribe(listener)

        def gui_callback() -> None:
            started[0] = time.perf_counter()
            session.client.dispatch(action)
            if len(samples) < total:
                app.root.after(0, gui_callback)
            else:
                finished.append(True)

        app.root.after(0, gui_callback)
        _pump_until(app, lambda: bool(finished), "the dispatches")
        unsubscribe()
        app.root.update()
        shown = app.window.transcript.get("1.0", "end").replace("\n", "")  # long lines break
        if "x" * total not in shown:
            raise SystemExit("the window does not show the dispatched text")
        if threads != {threading.main_thread()}:
            raise SystemExit(f"listener ran on {threads}, not the GUI thread")
        return samples[WARMUP:]
    finally:
        app.close()
        _pump_until(app, lambda: app.guest.finished, "the app to close")


def main(argv: list[str] | None = None) -> int:
    """Measure, print the statistics and the verdict; 0 on PASS, 1 on FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        if not os.environ.get("DISPLAY"):
            try:
                os.environ["DISPLAY"] = stack.enter_context(virtual_display())
            except DisplayUnavailable as error:
                print(f"SKIP: no display and no Xvfb ({error})")
                return 2
        samples = measure(args.iterations)
    median_ms = statistics.median(samples) * 1000
    p99_ms = statistics.quantiles(samples, n=100)[98] * 1000
    print(f"dispatch -> listener on the Tk thread, {len(samples)} iterations")
    print(f"median {median_ms:.4f} ms, p99 {p99_ms:.4f} ms (target median < {TARGET_MEDIAN_MS} ms)")
    passed = median_ms < TARGET_MEDIAN_MS
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
