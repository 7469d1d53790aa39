"""`gatewayops serve` and `gatewayops watch` as real processes, on loopback.

`serve` runs as a subprocess (read its first line, follow a printed watch command,
Ctrl-C it). `watch` runs as a subprocess against a gateway in this test's process, so
the test can inject faults while it follows.
"""

from __future__ import annotations

import ast
import math
import re
import shlex
import signal
from pathlib import Path

import trio

from gatewayops.cli._watch import NO_TOKEN_URL
from gatewayops.gateway import (
    TOKEN_PATH,
    Emit,
    Gateway,
    Pause,
    RunHandle,
    Script,
    clean_run,
    open_gateway,
    serve_http_endpoint,
)
from gatewayops.protocol import EventType

from .helpers import printed_watch_command, spawn

TEXT = "watched one chunk at a time"


async def test_serve_prints_url_then_watch_commands_and_stops_on_ctrl_c() -> None:
    """The first line is the URL, then the token and answer endpoints; a printed watch
    command (with --topic, --token-url and --answer-url) follows a run to its end; Ctrl-C
    exits 130 with one line and no traceback."""
    with trio.fail_after(20):
        async with spawn("serve", "--port", "0", "--runs", "1", "--delay", "0.01") as serve:
            await serve.wait_for("\n  gatewayops watch ")
            first, endpoint, answers, v2, users, announce, command = serve.out.splitlines()[:7]
            url = re.fullmatch(r"listening on (ws://127\.0\.0\.1:\d+)  \(Ctrl-C to stop\)", first)
            assert url is not None, first
            token_url = re.match(r"token endpoint (http://127\.0\.0\.1:\d+/token) ", endpoint)
            assert token_url is not None, endpoint
            answer_url = re.match(r"answer endpoint (http://127\.0\.0\.1:\d+/answer) ", answers)
            assert answer_url is not None, answers
            assert re.match(r"v2 endpoint ws://127\.0\.0\.1:\d+/v2/ws ", v2), v2
            assert re.match(r"user token endpoint http://127\.0\.0\.1:\d+/user-token ", users)
            assert announce.startswith("demo run op-1 on topic-1")
            argv = shlex.split(command)
            assert argv[:5] == ["gatewayops", "watch", url.group(1), "--operation", "op-1"]
            assert argv[5:9] == ["--topic", "topic-1", "--token-url", token_url.group(1)]
            assert argv[9:11] == ["--answer-url", answer_url.group(1)]
            token = argv[argv.index("--token") + 1]
            async with spawn(*argv[1:]) as watch:
                assert await watch.wait() == 0, watch.err
            assert "outcome    completed (agent_event)" in watch.out
            assert token not in watch.out + watch.err
            await serve.wait_for("socket-1: disconnected (code 1000)")
            serve.process.send_signal(signal.SIGINT)
            assert await serve.wait() == 130
            assert serve.err == "gatewayops serve: interrupted\n"
    logged = "\n".join(line[9:] for line in serve.out.splitlines()[9:])  # after HH:MM:SS
    assert "socket-1: connected for op-1" in logged
    assert "socket-1: authenticated for op-1" in logged
    assert "op-1 ended: completed (agent_runtime_end)" in logged
    assert serve.out.count(token) == 1  # in the watch command, and nowhere else


def _slow(text: str = TEXT) -> Script:
    return clean_run(text, chunks=len(text.split()), delay=0.05)


def _watch_args(gateway: Gateway, run: RunHandle, *extra: str) -> list[str]:
    return ["watch", gateway.url, "--operation", run.operation_id, "--token", run.token, *extra]


async def _subscribed(gateway: Gateway) -> None:
    await gateway.wait_statistics(lambda stats: stats.subscribed_sockets >= 1)


async def test_watch_attaches_prints_text_and_outcome_and_never_the_token() -> None:
    """Attached mid-run, watch prints socket states, each text delta, and the outcome."""
    with trio.fail_after(20):
        async with open_gateway() as gateway:
            run = gateway.start_run(_slow())
            async with spawn(*_watch_args(gateway, run)) as watch:
                assert await watch.wait() == 0, watch.err
    lines = watch.out.splitlines()
    assert lines[0].startswith(f"watching {run.operation_id} at ws://127.0.0.1:")
    assert "socket     connected" in lines
    streamed = "".join(ast.literal_eval(line[11:]) for line in lines if line.startswith("text "))
    assert streamed == TEXT
    assert lines[-1] == "outcome    completed (agent_event)"
    assert run.token not in watch.out + watch.err


async def test_watch_new_follows_a_run_from_its_first_event() -> None:
    """`--new` follows the run as a new one; it still ends with its outcome."""
    with trio.fail_after(20):
        async with open_gateway() as gateway:
            run = gateway.start_run(_slow())
            async with spawn(*_watch_args(gateway, run, "--new")) as watch:
                assert await watch.wait() == 0, watch.err
    assert "(new run)" in watch.out.splitlines()[0]
    assert watch.out.splitlines()[-1] == "outcome    completed (agent_event)"


async def test_watch_without_a_token_url_ends_as_auth_failure() -> None:
    """Without --token-url an expired token cannot be refreshed: the run ends as an auth
    failure once the refresh budget is spent, the problem says how to get a token (not
    an exception class), and the exit code is 1."""
    with trio.fail_after(20):
        async with open_gateway() as gateway:
            run = gateway.start_run(clean_run(TEXT, delay=0.5, chunks=20))
            async with spawn(*_watch_args(gateway, run)) as watch:
                await _subscribed(gateway)
                gateway.faults.expire_tokens(run.operation_id)
                assert await watch.wait() == 1
    assert f"problem    {NO_TOKEN_URL}" in watch.out
    assert "TokenUnavailable" not in watch.out
    assert watch.out.splitlines()[-1].startswith("outcome    auth_failed (refresh_failed)")
    assert run.token not in watch.out + watch.err


async def test_watch_of_a_forgotten_operation_exits_1() -> None:
    """The gateway forgot the run and the socket dropped: `auth_failed` ends it; exit 1."""
    with trio.fail_after(20):
        async with open_gateway() as gateway:
            run = gateway.start_run(clean_run(TEXT, delay=0.5, chunks=20))
            async with spawn(*_watch_args(gateway, run)) as watch:
                await _subscribed(gateway)
                gateway.faults.forget(run.operation_id)
                gateway.faults.drop_sockets(run.operation_id)
                assert await watch.wait() == 1
    assert watch.out.splitlines()[-1] == (
        "outcome    auth_failed (auth_failed): operation not found"
    )


async def test_watch_records_the_session_without_the_token(tmp_path: Path) -> None:
    """`--record FILE` writes the session as JSON Lines, token redacted."""
    log = tmp_path / "watch.jsonl"
    with trio.fail_after(20):
        async with open_gateway() as gateway:
            run = gateway.start_run(clean_run(TEXT, chunks=3))
            async with spawn(*_watch_args(gateway, run, "--record", str(log))) as watch:
                assert await watch.wait() == 0, watch.err
    recorded = log.read_text()
    assert recorded.count("\n") > 5
    assert run.token not in recorded


async def test_watch_timeout_and_ctrl_c() -> None:
    """A run that never ends: `--timeout` gives up with one line (exit 1); Ctrl-C exits 130."""
    endless = Script(
        name="endless", steps=(Emit(type=EventType.AGENT_RUNTIME_INIT), Pause(seconds=math.inf))
    )
    with trio.fail_after(60):  # a hang guard: two interpreter start-ups on a loaded machine
        async with open_gateway() as gateway:
            run = gateway.start_run(endless)
            async with spawn(*_watch_args(gateway, run, "--timeout", "0.5")) as watch:
                assert await watch.wait() == 1
            assert (
                watch.err
                == f"gatewayops watch: error: {run.operation_id} did not finish within 0.5 s\n"
            )
            async with spawn(*_watch_args(gateway, run)) as watch:
                await watch.wait_for("socket     connected")
                watch.process.send_signal(signal.SIGINT)
                assert await watch.wait() == 130
            assert watch.err == "gatewayops watch: interrupted\n"


async def test_watch_with_a_token_url_renews_an_expired_token() -> None:
    """With --token-url, an `auth_expired` is answered with a fresh token from the
    gateway's token endpoint: watch authenticates again and follows the run to its end."""
    endless = Script(
        name="endless", steps=(Emit(type=EventType.AGENT_RUNTIME_INIT), Pause(seconds=math.inf))
    )
    with trio.fail_after(30):
        async with open_gateway() as gateway, trio.open_nursery() as nursery:
            token_url = await nursery.start(serve_http_endpoint, gateway) + TOKEN_PATH
            run = gateway.start_run(endless)
            async with spawn(*_watch_args(gateway, run, "--token-url", token_url)) as watch:
                await _subscribed(gateway)
                gateway.faults.expire_tokens(run.operation_id)
                while watch.out.count("socket     connected") < 2:  # again, with the fresh one
                    await watch.changed()
                await gateway.interrupt(run.operation_id)
                assert await watch.wait() == 0, watch.err
            nursery.cancel_scope.cancel()
    lines = watch.out.splitlines()
    assert "socket     expired" in lines
    assert "problem" not in watch.out
    assert lines[-1].startswith("outcome    interrupted")


async def test_ctrl_c_on_serve_closes_a_followed_socket_with_1001() -> None:
    """Stopping serve while a watch follows a run closes the watch's socket with 1001
    (going away), logged by serve; the watch then retries, saying why."""
    with trio.fail_after(30):
        async with spawn("serve", "--port", "0", "--runs", "1", "--delay", "5") as serve:
            await serve.wait_for("\n  gatewayops watch ")
            argv = printed_watch_command(serve.out)
            async with spawn(*argv[1:]) as watch:
                await watch.wait_for("socket     connected")
                serve.process.send_signal(signal.SIGINT)
                assert await serve.wait() == 130
                await watch.wait_for("gateway shutting down")
                watch.process.send_signal(signal.SIGINT)
                assert await watch.wait() == 130
    assert "socket-1: closed 1001, the gateway is shutting down" in serve.out
    assert (
        "socket     retry 1 within 1 s: socket closed (code 1001, 'gateway shutting down')"
        in watch.out
    )
