"""The chat app on a real (virtual) screen: Send/Stop, faults, closing mid-run."""

from __future__ import annotations

import gc
import queue
import shutil
import subprocess
import threading
import tkinter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio

from gatewayops.gateway import StandaloneGateway, long_run, run_gateway
from gatewayops.gui import ChatApp, answer_text, png_size, screenshot
from gatewayops.store import FinishSource, Result, is_input_loading, outcome

from .conftest import OpenApp
from .helpers import call_close_button, collect_tk_garbage, pump_until


def _text(app: ChatApp) -> str:
    return app.window.transcript.get("1.0", "end")


def _button(app: ChatApp) -> str:
    return str(app.window.send_button.cget("text"))


def _send(app: ChatApp, prompt: str) -> str:
    """Type `prompt`, press Send, wait for "Stop" and some streamed text; the operation."""
    app.window.entry.insert(0, prompt)
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Stop", what='the button to read "Stop"')
    pump_until(app.root, lambda: "Streaming word 2 " in _text(app), what="streamed text")
    assert app.session is not None
    operation_id = app.session.latest_operation("topic-1")
    assert operation_id is not None
    return operation_id


def _click(app: ChatApp, widget_name: str) -> None:
    """Click a widget with the X pointer (xdotool), as a person would."""
    widget = getattr(app.window, widget_name)
    app.root.update_idletasks()  # geometry is computed when idle
    x = widget.winfo_rootx() + widget.winfo_width() // 2
    y = widget.winfo_rooty() + widget.winfo_height() // 2
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True, timeout=10)


def test_click_send_streams_text_and_button_reads_stop(open_app: OpenApp, artifacts: Path) -> None:
    """A real click on Send starts a run: the button reads "Stop", streamed text shows."""
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    app = open_app()
    root = app.root
    pump_until(root, lambda: bool(root.winfo_viewable()), what="the window to be mapped")
    app.window.entry.insert(0, "What is guest mode?")
    _click(app, "send_button")
    pump_until(root, lambda: _button(app) == "Stop", what='the button to read "Stop"')
    pump_until(root, lambda: "Streaming word 3 " in _text(app), what="streamed text")
    assert "You: What is guest mode?" in _text(app)
    assert "tool web-search/search" in _text(app)
    assert app.window.indicator.cget("text") == "● Connected"
    root.update_idletasks()
    shot = screenshot(root.winfo_id(), artifacts / "composer-stop.png")
    assert png_size(shot) == (root.winfo_width(), root.winfo_height())
    assert shot.stat().st_size > 1000


def test_forget_then_drop_ends_as_auth_failed_and_clears_stop(open_app: OpenApp) -> None:
    """Forget + drop: the redial gets auth_failed, the run ends, the button reads "Send"."""
    app = open_app()
    operation_id = _send(app, "forget me")
    app.window.forget_button.invoke()
    app.window.drop_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Send", what='the button to read "Send"')
    assert app.session is not None
    state = app.session.client.state
    assert not is_input_loading(state, "topic-1")
    ending = outcome(state, operation_id)
    assert ending is not None
    assert (ending.result, ending.source) == (Result.AUTH_FAILED, FinishSource.AUTH_FAILED)
    assert app.window.indicator.cget("text") == "● Finished: auth failed"
    assert "auth_failed" in _text(app)


def test_expired_token_is_refreshed_and_run_completes(open_app: OpenApp) -> None:
    """Token expiry mid-run: refresh, redial, resume; the run completes with no lost text."""
    app = open_app(chunks=30)
    operation_id = _send(app, "expire me")
    app.window.expire_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Send", what='the button to read "Send"')
    assert app.session is not None
    state = app.session.client.state
    ending = outcome(state, operation_id)
    assert ending is not None
    assert ending.result is Result.COMPLETED
    assert not is_input_loading(state, "topic-1")
    op = state.operations[operation_id]
    assert op.transcript.messages[-1].text == answer_text("expire me", 30)


def _state(widget: tkinter.Widget) -> str:
    return str(widget.cget("state"))


def _message(app: ChatApp) -> str:
    return str(app.window.message.cget("text"))


def test_stop_button_interrupts_the_run(open_app: OpenApp) -> None:
    """Pressing Stop interrupts the run on the gateway; the button returns to "Send"."""
    app = open_app()
    operation_id = _send(app, "stop me")
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Send", what='the button to read "Send"')
    assert app.session is not None
    ending = outcome(app.session.client.state, operation_id)
    assert ending is not None
    assert ending.result is Result.INTERRUPTED
    assert _message(app) == "Stopped: the run was interrupted."


def test_stop_is_disabled_while_the_stop_is_pending(open_app: OpenApp) -> None:
    """Right after Stop, before the gateway answered (Tk has not run Trio since), the button
    still reads "Stop", disabled, and Return does nothing more."""
    app = open_app()
    _send(app, "stop me")
    app.window.send_button.invoke()
    assert (_button(app), _state(app.window.send_button)) == ("Stop", "disabled")
    assert _message(app) == "Stopping the run on topic-1: waiting for the gateway…"
    app.window.on_send_or_stop()  # what Return in the entry does
    assert _message(app) == "Stopping the run on topic-1: waiting for the gateway…"
    pump_until(app.root, lambda: _button(app) == "Send", what='the button to read "Send"')
    assert _state(app.window.send_button) == "normal"


def test_a_refused_stop_says_stop_failed_and_enables_stop_again(open_app: OpenApp) -> None:
    """Stop after the gateway forgot the run: the interrupt is refused, the message line
    says "Stop failed: <reason>", and Stop is enabled again (the run goes on)."""
    app = open_app()
    operation_id = _send(app, "refuse me")
    app.window.forget_button.invoke()
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _message(app).startswith("Stop failed:"), what="Stop failed")
    assert _message(app) == f"Stop failed: OperationNotFound: operation {operation_id!r} not found"
    pump_until(app.root, lambda: _state(app.window.send_button) == "normal", what="Stop enabled")
    assert _button(app) == "Stop"
    assert app.session is not None
    assert outcome(app.session.client.state, operation_id) is None


def test_shrinking_the_window_keeps_the_composer_visible(open_app: OpenApp) -> None:
    """Shrunk as far as it goes, the window keeps the entry and the Send/Stop button
    mapped, whole and inside it (the transcript gives up its height instead)."""
    app = open_app()
    root = app.root
    pump_until(root, lambda: bool(root.winfo_viewable()), what="the window to be mapped")
    root.geometry("1x1")
    root.update_idletasks()
    pump_until(root, lambda: root.winfo_height() < 400, what="the window to shrink")
    assert (root.winfo_width(), root.winfo_height()) == root.minsize()
    left, top = root.winfo_rootx(), root.winfo_rooty()
    for widget in (app.window.entry, app.window.send_button):
        assert widget.winfo_ismapped()
        assert widget.winfo_rootx() >= left
        assert widget.winfo_rooty() >= top
        assert widget.winfo_rootx() + widget.winfo_width() <= left + root.winfo_width()
        assert widget.winfo_rooty() + widget.winfo_height() <= top + root.winfo_height()
        assert widget.winfo_width() >= widget.winfo_reqwidth()
        assert widget.winfo_height() >= widget.winfo_reqheight()


def test_closing_mid_run_cancels_everything_before_the_window_goes(open_app: OpenApp) -> None:
    """Close mid-run: the Trio run finishes first, with no socket, timer or task left."""
    app = open_app()
    _send(app, "close me")
    call_close_button(app.root)
    assert not app.guest.finished
    pump_until(app.root, lambda: app.guest.finished, what="the Trio run to finish")
    assert app.guest.error is None
    assert app.guest.cancelled
    shutdown = app.shutdown
    assert shutdown is not None
    client = shutdown.client
    assert (client.open_sockets, client.closing_sockets) == (0, 0)
    assert (client.armed_timers, client.running_effect_tasks, client.background_tasks) == (0, 0, 0)
    assert shutdown.gateway is not None
    assert shutdown.gateway.open_sockets == 0
    with pytest.raises(RuntimeError):
        trio.lowlevel.current_trio_token()  # no Trio run is left on this thread


@pytest.fixture
def remote_gateway() -> Iterator[StandaloneGateway]:
    """A reference gateway in its own thread and Trio run, with one long demo run."""
    started: queue.Queue[tuple[StandaloneGateway, trio.lowlevel.TrioToken, trio.CancelScope]]
    started = queue.Queue()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            script = partial(long_run, chunks=400, delay=0.02)
            gateway = await nursery.start(
                partial(run_gateway, "127.0.0.1", 0, demo_runs=1, script=script)
            )
            started.put((gateway, trio.lowlevel.current_trio_token(), nursery.cancel_scope))

    # No dead Tk object may be collected on the gateway's thread (Tcl would abort): free
    # them here, and pause the cyclic collector while that thread lives.
    collect_tk_garbage()
    gc.disable()
    thread = threading.Thread(target=trio.run, args=(main,), name="remote gateway")
    thread.start()
    try:
        gateway, token, scope = started.get(timeout=10)
        try:
            yield gateway
        finally:
            token.run_sync_soon(scope.cancel)
            thread.join(timeout=10)
    finally:
        gc.enable()


def test_remote_gateway_send_follows_the_operation_and_stop_detaches(
    open_app: OpenApp, remote_gateway: StandaloneGateway
) -> None:
    """With --url, Send follows the given operation and Stop stops following it."""
    [run] = remote_gateway.demo_runs
    app = open_app(url=remote_gateway.url, operation=run.operation_id, token=run.token)
    assert str(app.window.expire_button.cget("state")) == "disabled"
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Stop", what='the button to read "Stop"')
    pump_until(app.root, lambda: "word3 " in _text(app), what="streamed text")
    assert str(app.window.forget_button.cget("state")) == "disabled"
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Send", what='the button to read "Send"')
    assert app.window.indicator.cget("text") == "● Detached: no longer following the run"


def test_remote_gateway_shows_no_prompt_it_never_sent(
    open_app: OpenApp, remote_gateway: StandaloneGateway
) -> None:
    """With --url the entry is disabled (nothing typed is sent anywhere) and the transcript
    notes the followed run instead of inventing a "You:" line."""
    [run] = remote_gateway.demo_runs
    app = open_app(url=remote_gateway.url, operation=run.operation_id, token=run.token)
    assert _state(app.window.entry) == "disabled"
    app.window.send_button.invoke()
    pump_until(app.root, lambda: "word3 " in _text(app), what="streamed text")
    first_line = _text(app).splitlines()[0]
    assert first_line == f"Following {run.operation_id}, a run started elsewhere"
    assert "You:" not in _text(app)


def test_remote_gateway_send_is_off_on_other_topics_while_followed(
    open_app: OpenApp, remote_gateway: StandaloneGateway
) -> None:
    """With --url there is one operation to follow: while topic-1 follows it, Send on
    topic-2 is disabled (it would follow the same run twice)."""
    [run] = remote_gateway.demo_runs
    app = open_app(url=remote_gateway.url, operation=run.operation_id, token=run.token)
    app.window.send_button.invoke()
    pump_until(app.root, lambda: _button(app) == "Stop", what='the button to read "Stop"')
    app.window.topic_list.selection_clear(0, "end")
    app.window.topic_list.selection_set(1)
    app.window.render()
    assert (_button(app), _state(app.window.send_button)) == ("Send", "disabled")
