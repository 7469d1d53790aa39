"""`gatewayops watch --protocol v2`: several operations followed over one socket, with
the user's token from the gateway's ``/user-token``; real processes on loopback.

`watch` runs as a subprocess against a gateway in this test's process (so the test can
drop the link while it follows), or against `serve` in another one.
"""

from __future__ import annotations

import ast
import shlex
import signal
import socket

import trio

from gatewayops.gateway import USER_TOKEN_PATH, clean_run, open_gateway, serve_http_endpoint

from .helpers import spawn

TEXT = "over one socket one chunk at a time"


def _complete_line(out: str, needle: str) -> str:
    """The first line of `out` that holds `needle` and has ended ("" if none yet)."""
    return next((line for line in out.split("\n")[:-1] if needle in line), "")


async def test_serve_prints_a_v2_watch_command_that_follows_every_demo_run() -> None:
    """`serve --runs 2` prints a `watch --protocol v2` command naming both runs, the
    user token URL and a user token; it follows both to their end (exit 0), each line
    after its operation's id, and prints no token."""
    with trio.fail_after(30):
        async with spawn("serve", "--port", "0", "--runs", "2", "--delay", "0.01") as serve:
            while not (line := _complete_line(serve.out, "--protocol v2")):
                await serve.changed()
            argv = shlex.split(line)
            assert argv[3:7] == ["op-1", "op-2", "--protocol", "v2"]
            assert argv[7] == "--token-url"
            assert argv[8].endswith("/user-token")
            token = argv[argv.index("--token") + 1]
            async with spawn(*argv[1:]) as watch:
                assert await watch.wait() == 0, watch.err
            serve.process.send_signal(signal.SIGINT)
            assert await serve.wait() == 130
    lines = watch.out.splitlines()
    assert lines[0].startswith("watching op-1, op-2 at ws://127.0.0.1:")
    assert "/v2/ws?token=<redacted>&clientId=watch over protocol v2 (attach)" in lines[0]
    assert "op-1  outcome    completed (agent_event)" in lines
    assert "op-2  outcome    completed (agent_event)" in lines
    assert token not in watch.out + watch.err


async def test_two_runs_share_one_socket_and_survive_its_drop() -> None:
    """Two runs are followed over one v2 socket (the hub holds one socket and two
    subscriptions); when it drops, a fresh user token from /user-token opens the next
    and both runs end completed, their text shown once each."""
    with trio.fail_after(30):
        async with open_gateway() as gateway, trio.open_nursery() as nursery:
            user_token_url = await nursery.start(serve_http_endpoint, gateway) + USER_TOKEN_PATH
            first = gateway.start_run(clean_run(TEXT, chunks=len(TEXT.split()), delay=0.1))
            second = gateway.start_run(clean_run(TEXT, chunks=len(TEXT.split()), delay=0.1))
            token = gateway.v2.issue_user_token()
            argv = ["watch", gateway.url, first.operation_id, second.operation_id, "--new"]
            argv += ["--protocol", "v2", "--token", token, "--token-url", user_token_url]
            async with spawn(*argv) as watch:
                stats = await gateway.wait_statistics(lambda s: s.v2_subscriptions == 2)
                assert (stats.v2_sockets, stats.v2_users) == (1, 1)
                assert gateway.v2.faults.drop_links() == (1, 2)
                assert await watch.wait() == 0, watch.err
            nursery.cancel_scope.cancel()
    for run in (first, second):
        prefix = f"{run.operation_id}  "
        lines = [line[len(prefix) :] for line in watch.out.splitlines() if line.startswith(prefix)]
        shown = "".join(ast.literal_eval(line[11:]) for line in lines if line.startswith("text "))
        assert shown == TEXT
        assert lines[-1] == "outcome    completed (agent_event)"
    assert token not in watch.out + watch.err


async def test_a_refused_user_token_ends_every_operation_as_an_auth_failure() -> None:
    """A token the hub refuses (4401 at every upgrade) and no --token-url: the retries
    are spent and each operation ends as an auth failure; exit 1, no traceback."""
    with trio.fail_after(30):
        async with open_gateway() as gateway:
            run = gateway.start_run(clean_run(TEXT, chunks=4, delay=0.5))
            argv = ["watch", gateway.url, run.operation_id, "--protocol", "v2"]
            async with spawn(*argv, "--token", "not-a-user-token") as watch:
                assert await watch.wait() == 1
    assert watch.out.splitlines()[-1].startswith("outcome    auth_failed")
    assert "close 4401 auth_failed" in watch.out
    assert "Traceback" not in watch.err


async def test_an_unreachable_gateway_is_one_line_and_exit_1() -> None:
    """Nothing listens at the URL: the dial budget is spent and watch says so in one
    line on stderr, exit 1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with trio.fail_after(30):
        argv = ["watch", f"ws://127.0.0.1:{port}", "op-1", "op-2", "--protocol", "v2"]
        async with spawn(*argv, "--token", "t") as watch:
            assert await watch.wait() == 1
    (line,) = watch.err.splitlines()
    assert line.startswith("gatewayops watch: ")
    assert "protocol v2 unavailable" in line
