"""Trio guest runs on a Tkinter event loop.

Owns: `TkHost`, a thread-safe "run this soon" for a Tk interpreter, and the lifetime
rules on top of it: `start_tk_guest` ties a guest run to a Tk root (the close button
cancels the run; the run finishing destroys the root, which ends the loop),
`tk_mainloop` runs the loop until the run has finished and re-raises its error, and
`run_tk` does both.

Why not ``root.after(0, fn)`` from Trio's I/O thread: a Tcl interpreter belongs to the
thread that created it. With a threaded Tcl, tkinter forwards a call made from another
thread to the Tk thread and *blocks* until that thread's ``mainloop`` serves it; it
raises ``RuntimeError: main thread is not in main loop`` when the Tk thread pumps with
``update()`` instead, or is between loops (shutdown). So the only cross-thread step
here is Python-level: the callable goes on a `collections.deque` (append and popleft
are atomic) and one byte is written to a socket pair. Tk watches the other end with
``createfilehandler`` (its notifier wakes at once, no polling) and the handler, on the
Tk thread, drains the queue. Where Tk has no file handlers (Windows), the queue is
drained by an ``after`` poll every `poll_ms` instead.

Must not know: gatewayops' client or the example app.
"""

from __future__ import annotations

import contextlib
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple, Unpack

from gatewayops.embed._guest import GuestRun, GuestRunCancelled, start_guest

if TYPE_CHECKING:
    import tkinter

__all__ = ["TkHost", "run_tk", "start_tk_guest", "tk_mainloop"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_READABLE = 2  # tkinter.READABLE, without importing tkinter at import time


class TkHost:
    """Schedules callables onto a Tk interpreter's thread, from any thread.

    Create it on the Tk thread; `close` it (on the Tk thread) once nothing will be
    scheduled any more. Callables run in the order they were scheduled; one that raises
    is reported with ``root.report_callback_exception`` and the rest still run.

    Args:
        root: the Tk root whose loop runs the callables.
        poll_ms: drain the queue with an ``after`` poll this often instead of a file
            handler; None uses the file handler where Tk has one (not on Windows).
    """

    def __init__(self, root: tkinter.Tk, *, poll_ms: int | None = None) -> None:
        self._root = root
        self._queue: deque[Callable[[], object]] = deque()
        self._closed = False
        self._poll_ms = poll_ms
        self._poll_id: str | None = None
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        if poll_ms is None and hasattr(root.tk, "createfilehandler"):
            self._reader, self._writer = socket.socketpair()
            self._reader.setblocking(False)
            self._writer.setblocking(False)
            root.tk.createfilehandler(self._reader, _READABLE, self._on_readable)
        else:
            self._poll_ms = 5 if poll_ms is None else poll_ms
            self._poll_id = root.after(self._poll_ms, self._poll)

    @property
    def uses_file_handler(self) -> bool:
        """True when wake-ups come from a file handler, False when from a poll."""
        return self._reader is not None

    def run_sync_soon_threadsafe(self, fn: Callable[[], object]) -> None:
        """Have the Tk thread call ``fn()`` soon; callable from any thread."""
        self._queue.append(fn)
        if self._writer is not None:
            # A full buffer means a wake-up is pending anyway; closed means finished.
            with contextlib.suppress(OSError):
                self._writer.send(b"\0")

    def run_sync_soon_not_threadsafe(self, fn: Callable[[], object]) -> None:
        """The same, for calls made on the Tk thread itself."""
        self.run_sync_soon_threadsafe(fn)

    def close(self) -> None:
        """Stop watching for wake-ups and release the socket pair (idempotent).

        Callables still queued are dropped: close only after the guest run finished.
        """
        if self._closed:
            return
        self._closed = True
        if self._reader is not None and self._writer is not None:
            self._root.tk.deletefilehandler(self._reader)
            self._reader.close()
            self._writer.close()
        if self._poll_id is not None:
            self._root.after_cancel(self._poll_id)
            self._poll_id = None
        self._queue.clear()

    def _on_readable(self, _file: object, _mask: int) -> None:
        assert self._reader is not None
        try:
            while self._reader.recv(4096):
                pass
        except OSError:  # drained (BlockingIOError), or closed by a callable
            pass
        self._run_queued()

    def _poll(self) -> None:
        self._poll_id = None
        self._run_queued()
        if not self._closed and self._poll_ms is not None:
            self._poll_id = self._root.after(self._poll_ms, self._poll)

    def _run_queued(self) -> None:
        # Only what is queued now: a guest tick that schedules the next one must
        # not keep Tk from drawing and handling input in between.
        for _ in range(len(self._queue)):
            if self._closed:
                return
            fn = self._queue.popleft()
            try:
                fn()
            except Exception as error:
                self._root.report_callback_exception(type(error), error, error.__traceback__)


def start_tk_guest(
    root: tkinter.Tk,
    async_fn: Callable[[Unpack[Ts]], Awaitable[T]],
    *args: *Ts,
    poll_ms: int | None = None,
) -> GuestRun[T]:
    """Start ``async_fn(*args)`` as a Trio guest run tied to `root`'s lifetime.

    Call it on the Tk thread. The run progresses while that thread runs Tk's loop
    (``mainloop``, or ``update()`` / ``dooneevent`` in tests). The window's close
    button cancels the run (override ``WM_DELETE_WINDOW`` to do more, but end by
    calling `GuestRun.cancel`); once the run has finished, cleanup included, its
    `TkHost` is closed and `root` destroyed, which ends ``mainloop``. Done callbacks
    added to the returned run are called after that.

    Args:
        root: the Tk root.
        async_fn: the Trio function.
        *args: its positional arguments.
        poll_ms: see `TkHost`.
    """
    import tkinter

    host = TkHost(root, poll_ms=poll_ms)
    try:
        run = start_guest(
            async_fn,
            *args,
            run_sync_soon_threadsafe=host.run_sync_soon_threadsafe,
            run_sync_soon_not_threadsafe=host.run_sync_soon_not_threadsafe,
        )
    except BaseException:
        host.close()
        raise

    def finished(_run: GuestRun[T]) -> None:
        host.close()
        with contextlib.suppress(tkinter.TclError):  # already destroyed
            root.destroy()

    run.add_done_callback(finished)
    root.protocol("WM_DELETE_WINDOW", run.cancel)
    return run


def tk_mainloop(root: tkinter.Tk, run: GuestRun[T]) -> T | None:
    """Run Tk's ``mainloop`` until `run` (from `start_tk_guest`) has finished.

    If the loop ends while the run goes on (someone called ``root.quit()``), the run
    is cancelled and Tk events are processed until it has finished, so Trio never
    outlives its host loop.

    Returns:
        What the Trio function returned; None if it was cancelled (window closed).

    Raises:
        BaseException: whatever the Trio function raised.
    """
    if not run.finished:
        root.mainloop()
    if not run.finished:
        run.cancel()
        while not run.finished:
            root.tk.dooneevent(0)
    try:
        return run.result()
    except GuestRunCancelled:
        return None


def run_tk(
    root: tkinter.Tk, async_fn: Callable[[Unpack[Ts]], Awaitable[T]], *args: *Ts
) -> T | None:
    """`start_tk_guest` then `tk_mainloop`: the whole lifetime in one call.

    Returns:
        What `async_fn` returned; None if it was cancelled (e.g. the window closed).

    Raises:
        BaseException: whatever the Trio function raised.
    """
    return tk_mainloop(root, start_tk_guest(root, async_fn, *args))
