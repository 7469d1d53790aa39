"""Helpers for the GUI tests: pumping Tk until something holds, and the app's settings.

Tk runs on the test's thread; the Trio guest run makes progress only while Tk
processes events, so every wait here is "process Tk events until the condition holds",
bounded by a deadline, never a sleep.
"""

from __future__ import annotations

import gc
import time
import tkinter
from collections.abc import Callable

from gatewayops.store import StoreConfig

FAST = StoreConfig(initial_backoff_ms=50, max_backoff_ms=500, connect_timeout_ms=5_000)
"""Short reconnect delays so a dropped socket is redialled at once."""

WAIT = 15.0
"""Seconds any single wait may take before the test fails."""


def pump_until(
    root: tkinter.Tk, predicate: Callable[[], bool], *, what: str, timeout: float = WAIT
) -> None:
    """Process Tk events (and so the Trio guest run) until `predicate()` holds.

    Raises:
        AssertionError: it did not hold within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        wake = root.after(25, _nothing)  # bounds the blocking wait for the next event
        root.tk.dooneevent(0)
        root.after_cancel(wake)


def _nothing() -> None:
    """A timer callback that only wakes the loop."""


def call_close_button(root: tkinter.Tk) -> None:
    """Do what a window manager does when the close button is pressed."""
    root.tk.call(root.protocol("WM_DELETE_WINDOW"))


def collect_tk_garbage() -> None:
    """Free dead Tk objects now, on the thread that made them.

    Tcl aborts the process when one of its objects is freed on another thread; left to
    the cyclic garbage collector, a dead window could be collected by whichever thread
    next allocates (a test's gateway thread, or Trio's worker running getaddrinfo).
    """
    gc.collect()
