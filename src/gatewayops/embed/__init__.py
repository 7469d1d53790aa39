"""Embedding gatewayops in an application that has its own event loop (Trio guest mode).

A GUI toolkit (Tk, Qt) or asyncio owns the main thread and its loop; Trio runs as a
*guest* on that loop (`trio.lowlevel.start_guest_run`), on the same thread. So a GUI
callback may call `Client.start`, `stop` and `dispatch` directly, and store listeners
are called on the GUI thread. Never call `trio.from_thread.run*` from the GUI thread:
it waits for Trio, which can only run on that thread -- a deadlock. See
docs/embedding.md, which also has the recipe for Qt.

Example (Tk):
    root = tkinter.Tk()
    run_tk(root, main)   # close button cancels `main`; its error is re-raised here
"""

from gatewayops.embed._guest import (
    GuestRun,
    GuestRunCancelled,
    GuestRunNotFinished,
    RunSyncSoon,
    run_trio_guest,
    start_asyncio_guest,
    start_guest,
)
from gatewayops.embed._tk import TkHost, run_tk, start_tk_guest, tk_mainloop

__all__ = [
    "GuestRun",
    "GuestRunCancelled",
    "GuestRunNotFinished",
    "RunSyncSoon",
    "TkHost",
    "run_tk",
    "run_trio_guest",
    "start_asyncio_guest",
    "start_guest",
    "start_tk_guest",
    "tk_mainloop",
]
