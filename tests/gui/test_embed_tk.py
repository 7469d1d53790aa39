"""Trio guest runs on a Tk loop: results, errors, the close button, wake-ups."""

from __future__ import annotations

import contextlib
import threading
import tkinter
from collections.abc import Iterator

import pytest
import trio

from gatewayops.embed import (
    GuestRunCancelled,
    GuestRunNotFinished,
    TkHost,
    run_tk,
    start_tk_guest,
    tk_mainloop,
)

from .helpers import call_close_button, pump_until


@pytest.fixture
def root(x_display: str) -> Iterator[tkinter.Tk]:
    """A fresh Tk root on the virtual screen, destroyed afterwards if still there."""
    tk_root = tkinter.Tk()
    yield tk_root
    with contextlib.suppress(tkinter.TclError):  # the guest run's end destroyed it
        tk_root.destroy()


async def _answer() -> int:
    await trio.sleep(0.01)
    return 42


async def _fail() -> None:
    await trio.sleep(0.01)
    raise ValueError("boom in Trio")


def test_run_tk_returns_the_trio_result_and_ends_the_loop(root: tkinter.Tk) -> None:
    """run_tk returns what the Trio function returned, after the loop ended."""
    assert run_tk(root, _answer) == 42
    with pytest.raises(tkinter.TclError):
        root.winfo_exists()  # the finished run destroyed the window


def test_a_trio_error_is_reraised_not_swallowed(root: tkinter.Tk) -> None:
    """An exception in the Trio function comes out of tk_mainloop, and stays readable."""
    run = start_tk_guest(root, _fail)
    with pytest.raises(ValueError, match="boom in Trio"):
        tk_mainloop(root, run)
    assert isinstance(run.error, ValueError)
    with pytest.raises(ValueError, match="boom in Trio"):
        run.result()


def test_close_button_cancels_the_run_and_its_cleanup_runs_first(root: tkinter.Tk) -> None:
    """The close button cancels the Trio function; its cleanup finishes before the window goes."""
    started: list[bool] = []
    cleaned: list[bool] = []

    async def forever() -> None:
        try:
            started.append(True)
            await trio.sleep_forever()
        finally:
            cleaned.append(root.winfo_exists() == 1)

    run = start_tk_guest(root, forever)
    with pytest.raises(GuestRunNotFinished):
        run.result()
    pump_until(root, lambda: bool(started), what="the Trio function to start")
    call_close_button(root)
    pump_until(root, lambda: run.finished, what="the run to finish")
    assert cleaned == [True]
    assert run.cancelled
    assert run.error is None
    with pytest.raises(GuestRunCancelled):
        run.result()


def test_cancel_before_the_first_tick_still_cancels(root: tkinter.Tk) -> None:
    """cancel() right after start, before the function ran, ends the run without a result."""
    run = start_tk_guest(root, trio.sleep_forever)
    run.cancel()
    assert tk_mainloop(root, run) is None
    assert run.finished


def test_poll_fallback_runs_the_guest(root: tkinter.Tk) -> None:
    """Without a file handler (as on Windows), an `after` poll drives the run just as well."""
    run = start_tk_guest(root, _answer, poll_ms=2)
    assert tk_mainloop(root, run) == 42


def test_wakeup_from_another_thread_reaches_a_blocked_tk_loop(root: tkinter.Tk) -> None:
    """run_sync_soon_threadsafe from another thread wakes Tk blocked in its event wait."""
    host = TkHost(root)
    assert host.uses_file_handler
    ran_on: list[threading.Thread] = []
    thread = threading.Thread(
        target=host.run_sync_soon_threadsafe,
        args=(lambda: ran_on.append(threading.current_thread()),),
    )
    try:
        thread.start()
        pump_until(root, lambda: bool(ran_on), what="the callable to run")
    finally:
        thread.join()
        host.close()
    assert ran_on == [threading.main_thread()]


def test_a_failing_callable_is_reported_and_the_rest_still_run(root: tkinter.Tk) -> None:
    """A callable that raises goes to report_callback_exception; later ones still run."""
    reported: list[BaseException] = []
    root.report_callback_exception = lambda _t, error, _tb: reported.append(error)
    host = TkHost(root)
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("broken callable")

    try:
        host.run_sync_soon_threadsafe(broken)
        host.run_sync_soon_threadsafe(lambda: ran.append(1))
        pump_until(root, lambda: bool(ran), what="the second callable")
    finally:
        host.close()
    assert [str(error) for error in reported] == ["broken callable"]


def test_a_second_guest_on_the_same_thread_is_refused(root: tkinter.Tk) -> None:
    """Only one Trio run per thread: starting another while one runs raises."""
    first = start_tk_guest(root, trio.sleep_forever)
    other = tkinter.Tk()
    try:
        with pytest.raises(RuntimeError):
            start_tk_guest(other, _answer)
    finally:
        other.destroy()
    first.cancel()
    assert tk_mainloop(root, first) is None
