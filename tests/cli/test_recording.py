"""A recording survives SIGKILL: every record reaches the file as it happens.

`watch --record` runs as a real process against the reference gateway on 127.0.0.1
and is killed with SIGKILL at a point the test sees: once it printed a line, which it
does only after the store's middleware (the recorder) has handled that dispatch.
"""

from __future__ import annotations

import ast
import math
import signal
from pathlib import Path

import trio

from gatewayops.gateway import Finish, Pause, Script, clean_run, open_gateway
from gatewayops.replay import Header, read_log, replay

from .helpers import spawn

TEXT = "every chunk is on disk before it is shown"


def _streams_then_stalls(text: str) -> Script:
    """A run that streams `text` in one chunk per word, then never ends."""
    streamed = clean_run(text, chunks=len(text.split())).steps
    steps = tuple(step for step in streamed if not isinstance(step, Finish))
    return Script(name="stalls", steps=(*steps, Pause(seconds=math.inf)))


def _shown_text(out: str) -> str:
    return "".join(ast.literal_eval(line[11:]) for line in out.splitlines() if line[:5] == "text ")


async def test_sigkill_after_the_last_chunk_loses_none_of_its_records(tmp_path: Path) -> None:
    """Killed with SIGKILL once it has shown the whole text, `watch --record` leaves a log
    that replays to that same text: no record it had handled was still in a buffer."""
    log = tmp_path / "killed.jsonl"
    with trio.fail_after(30):
        async with open_gateway() as gateway:
            run = gateway.start_run(_streams_then_stalls(TEXT))
            argv = ["watch", gateway.url, "--operation", run.operation_id, "--token", run.token]
            async with spawn(*argv, "--record", str(log)) as watch:
                while _shown_text(watch.out) != TEXT:
                    await watch.changed()
                watch.process.kill()
                assert await watch.wait() == -signal.SIGKILL
    report = replay(read_log(log))  # at most a cut last line, reported as a warning
    assert report.ok, report.to_text()
    assert report.state.operations[run.operation_id].transcript.text == TEXT


async def test_sigkill_as_soon_as_it_starts_leaves_a_log_with_its_header(tmp_path: Path) -> None:
    """Killed once it says it is watching (before the client has started), `watch
    --record` leaves a valid log: the header is written and flushed when it opens."""
    log = tmp_path / "early.jsonl"
    with trio.fail_after(30):
        async with open_gateway() as gateway:
            run = gateway.start_run(_streams_then_stalls(TEXT))
            argv = ["watch", gateway.url, "--operation", run.operation_id, "--token", run.token]
            async with spawn(*argv, "--record", str(log)) as watch:
                await watch.wait_for("watching ")
                watch.process.kill()
                assert await watch.wait() == -signal.SIGKILL
    header = next(read_log(log))
    assert isinstance(header, Header)
    assert header.operation == run.operation_id
    assert replay(read_log(log)).ok
