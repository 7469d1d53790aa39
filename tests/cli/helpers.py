"""Running the command line in-process or as a subprocess, for the CLI tests; a stand-in
gateway that notes how a client's socket ended; the two ending signals."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
import trio
import trio_websocket

from gatewayops.cli import main
from gatewayops.protocol import Auth, AuthSuccess, ServerMessage, decode_client, encode

__all__ = [
    "COMMAND",
    "ENDING_SIGNALS",
    "ObservedClient",
    "Running",
    "default_sigint",
    "observing_gateway",
    "printed_watch_command",
    "run_main",
    "spawn",
]

ENDING_SIGNALS = [
    pytest.param(signal.SIGINT, 130, "interrupted", id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, "terminated", id="SIGTERM"),
]
"""(signal, exit code, the word on stderr): how every command ends on each of them."""

COMMAND = [sys.executable, "-c", "import sys; from gatewayops.cli import main; sys.exit(main())"]
"""`gatewayops` as a subprocess command line (works without the console script on PATH)."""


def run_main(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``gatewayops ARGV`` in-process; its exit code, stdout and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's own exits (--help, --version, bad syntax)
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class Running:
    """A ``gatewayops`` subprocess whose output is collected as it arrives."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.out = ""
        self.err = ""
        self._changed = trio.Event()

    async def pump(self, stream: trio.abc.ReceiveStream, name: str) -> None:
        """Collect one of the process's pipes until it closes."""
        async for data in stream:
            setattr(self, name, getattr(self, name) + data.decode())
            self._changed.set()
            self._changed = trio.Event()

    async def changed(self) -> None:
        """Wait until more output arrived, on either pipe."""
        await self._changed.wait()

    async def wait_for(self, needle: str) -> None:
        """Wait until `needle` appeared on stdout."""
        while needle not in self.out:
            await self.changed()

    async def wait(self) -> int:
        """Wait for the process to exit; its exit code."""
        return await self.process.wait()


def printed_watch_command(out: str) -> list[str]:
    """The argv of the first ``gatewayops watch`` command `serve` printed in `out`."""
    line = next(line for line in out.splitlines() if line.startswith("  gatewayops watch "))
    return shlex.split(line)


def default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default disposition.

    A process started in the background by a non-interactive shell (as CI may start the
    test run) inherits SIGINT *ignored*, and Python then installs no handler, so the
    Ctrl-C tests would send a signal nobody hears. The command under test must see
    SIGINT as a terminal would deliver it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@asynccontextmanager
async def spawn(*argv: str, stdin: int | None = None) -> AsyncIterator[Running]:
    """Run ``gatewayops ARGV`` as a subprocess for the block (its stdin the file
    descriptor `stdin`, if given, e.g. a pty's); killed if still running."""
    process = await trio.lowlevel.open_process(
        [*COMMAND, *argv],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    running = Running(process)
    stdout, stderr = process.stdout, process.stderr
    assert stdout is not None
    assert stderr is not None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(running.pump, stdout, "out")
            nursery.start_soon(running.pump, stderr, "err")
            yield running
            await running.wait()
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            await stdout.aclose()
            await stderr.aclose()


class ObservedClient:
    """What `observing_gateway` saw of the one client that connected.

    Attributes:
        url: the stand-in gateway's base URL (``ws://127.0.0.1:PORT``).
        authenticated: set once the client sent ``auth`` and got its answer.
        closed: set once the client's socket ended; `close_code` says how (1000 for a
            close handshake, 1006 for a connection that just went away).
    """

    def __init__(self, answer: Callable[[Auth], ServerMessage]) -> None:
        self.url = ""
        self.authenticated = trio.Event()
        self.closed = trio.Event()
        self.close_code: int | None = None
        self._answer = answer

    async def serve(self, request: trio_websocket.WebSocketRequest) -> None:
        """Accept one socket, answer its ``auth``, then read until the client closes."""
        ws = await request.accept()
        try:
            auth = decode_client(await ws.get_message())
            assert isinstance(auth, Auth)
            await ws.send_message(encode(self._answer(auth)))
            self.authenticated.set()
            while True:
                await ws.get_message()  # resume, heartbeats
        except trio_websocket.ConnectionClosed as closed:
            self.close_code = closed.reason.code if closed.reason else None
        self.closed.set()


@asynccontextmanager
async def observing_gateway(
    answer: Callable[[Auth], ServerMessage] = lambda auth: AuthSuccess(),
) -> AsyncIterator[ObservedClient]:
    """A stand-in gateway on 127.0.0.1 for one client: it answers the ``auth`` frame
    with ``answer(auth)`` (by default ``auth_success``, to any token), never ends the
    run, and notes how the socket ended."""
    client = ObservedClient(answer)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket, client.serve, "127.0.0.1", 0, None
        )
        client.url = f"ws://127.0.0.1:{server.port}"
        yield client
        nursery.cancel_scope.cancel()
