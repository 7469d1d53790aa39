"""SIGINT and SIGTERM end every command the same way: cleanly, one line, 128 + the signal.

Each command runs as a real subprocess (sockets on 127.0.0.1 only) and is signalled at
a point it cannot get past by itself -- an operation that never ends, a log that is
still being written, a recording nobody has read yet, a window nobody closes -- so the
signal always lands mid-run, without a sleep.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio

from gatewayops.protocol import Auth, AuthSuccess, decode, encode
from gatewayops.replay import Header, parse_log, read_log, replay, write_log
from gatewayops.transport import ConnectionEnded, WebSocketTransport

from .helpers import ENDING_SIGNALS, observing_gateway, printed_watch_command, spawn

_SMALLEST_PIPE = 4096  # bytes: one page, the least Linux gives a pipe


@pytest.mark.parametrize(("signum", "code", "word"), ENDING_SIGNALS)
async def test_watch_closes_its_socket_and_finishes_its_recording(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    """`watch --record` signalled while following a run that never ends: it closes its
    socket with a close handshake (1000), leaves a complete log, and exits 128 + N."""
    log = tmp_path / "watch.jsonl"
    with trio.fail_after(30):
        async with observing_gateway() as gateway:
            argv = ["watch", gateway.url, "--operation", "op-1", "--token", "t"]
            async with spawn(*argv, "--record", str(log)) as watch:
                await gateway.authenticated.wait()
                watch.process.send_signal(signum)
                assert await watch.wait() == code
            await gateway.closed.wait()
    assert watch.err == f"gatewayops watch: {word}\n"
    assert gateway.close_code == 1000
    report = replay(read_log(log))
    assert report.ok, report.to_text()
    assert report.warnings == ()  # no cut last line: the recording was closed, not lost
    state = report.state
    assert state.link_of(state.operations["op-1"]).generation == 1


async def _authenticated_until_dropped(url: str, token: str, then: Callable[[], None]) -> None:
    """Authenticate on the socket at `url`, call `then()`, receive until the socket ends."""
    async with WebSocketTransport().connect(url) as connection:
        await connection.send(encode(Auth(token=token)))
        assert decode(await connection.receive()) == AuthSuccess()
        then()
        while True:
            await connection.receive()


@pytest.mark.parametrize(("signum", "code", "word"), ENDING_SIGNALS)
async def test_serve_disconnects_its_clients_and_exits(signum: int, code: int, word: str) -> None:
    """`serve` signalled while a client is authenticated on it: the client's connection
    is closed with 1001 (going away), and serve exits 128 + N with one line."""
    with trio.fail_after(30):
        async with spawn("serve", "--port", "0", "--runs", "1", "--delay", "30") as serve:
            await serve.wait_for("\n  gatewayops watch ")
            url = re.search(r"ws://127\.0\.0\.1:\d+", serve.out)
            assert url is not None
            watch = printed_watch_command(serve.out)
            token = watch[watch.index("--token") + 1]
            socket_url = f"{url.group()}/ws?operationId=op-1"
            with pytest.raises(ConnectionEnded) as ended:
                await _authenticated_until_dropped(
                    socket_url, token, lambda: serve.process.send_signal(signum)
                )
            assert ended.value.code == 1001
            assert await serve.wait() == code
    assert serve.err == f"gatewayops serve: {word}\n"


@pytest.mark.parametrize(("signum", "code", "word"), ENDING_SIGNALS)
async def test_demo_finishes_its_recording(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    """`demo --record` signalled mid-run exits 128 + N with one line, and the recording
    it leaves is whole and replays clean.

    The recording is a FIFO with a one-page buffer that the test reads only after the
    signal, so the demo cannot finish the scenario first (its log is over twice that).
    """
    fifo = tmp_path / "token-expiry.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, _SMALLEST_PIPE)
    recording = trio.lowlevel.FdStream(reader)
    with trio.fail_after(30):
        async with spawn("demo", "--only", "token-expiry", "--record", str(tmp_path)) as demo:
            await trio.lowlevel.wait_readable(reader)  # the header: the demo is recording
            demo.process.send_signal(signum)
            received = bytearray()
            while chunk := await recording.receive_some():
                received += chunk
            assert await demo.wait() == code
        await recording.aclose()
    assert demo.err == f"gatewayops demo: {word}\n"
    report = replay(parse_log(bytes(received).splitlines(keepends=True)))
    assert report.ok, report.to_text()
    assert report.warnings == ()
    assert all(op.outcome is None for op in report.state.operations.values())  # mid-run


@pytest.mark.parametrize(("signum", "code", "word"), ENDING_SIGNALS)
async def test_replay_of_a_log_still_being_written_exits_with_one_line(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    """`replay` signalled while it waits for more of its log (a FIFO still open for
    writing) exits 128 + N with one line, not a traceback."""
    fifo, empty = tmp_path / "live.jsonl", tmp_path / "empty.jsonl"
    os.mkfifo(fifo)
    write_log(empty, [Header(started_at="2026-01-01T00:00:00.000+00:00")])
    with trio.fail_after(30):
        async with spawn("replay", str(fifo)) as replaying:
            # Opening the FIFO for writing returns once replay has opened it to read.
            writer = await trio.to_thread.run_sync(open, fifo, "w", abandon_on_cancel=True)
            with writer:
                writer.write(empty.read_text())
                writer.flush()
                replaying.process.send_signal(signum)
                assert await replaying.wait() == code
    assert replaying.err == f"gatewayops replay: {word}\n"
    assert replaying.out == ""


@pytest.fixture
def x_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A virtual X screen (Xvfb) with DISPLAY pointing at it, and xdotool to find windows;
    skipped when either is missing."""
    pytest.importorskip("tkinter")
    from gatewayops.gui import DisplayUnavailable, virtual_display

    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    try:
        with virtual_display() as display:
            monkeypatch.setenv("DISPLAY", display)
            yield display
    except DisplayUnavailable as error:
        pytest.skip(f"no virtual display: {error}")


@pytest.mark.parametrize(("signum", "code", "word"), ENDING_SIGNALS)
async def test_gui_finishes_its_trio_run_and_exits(
    x_display: str, signum: int, code: int, word: str
) -> None:
    """`gui` signalled while its window is up exits 128 + N with one line: the exit
    comes only after the Trio run (its embedded gateway and client) has finished."""
    with trio.fail_after(60):
        async with spawn("gui") as gui:
            await trio.run_process(  # returns once the window is mapped: Tk's loop runs
                ["xdotool", "search", "--sync", "--onlyvisible", "--name", "chat composer"],
                stdout=subprocess.DEVNULL,
            )
            gui.process.send_signal(signum)
            assert await gui.wait() == code
    assert (gui.out, gui.err) == ("", f"gatewayops gui: {word}\n")
