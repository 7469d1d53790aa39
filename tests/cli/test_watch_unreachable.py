"""`gatewayops watch` against a gateway it cannot reach (issue 16, item 2).

Until the first connection, the third refused dial in a row (``--dial-attempts``) ends
`watch` with one line naming the refusal, exit 1; after a first connection it keeps
reconnecting, printing each retry with its delay and its reason; ``--timeout`` names the
last problem. The line builder is tested as a pure function; the rest as subprocesses
against ports on 127.0.0.1 that nothing listens on.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import attrs
import pytest
import trio

from gatewayops.cli._watch_lines import changes
from gatewayops.gateway import Gateway, clean_run, open_gateway
from gatewayops.store import ConnectionStatus, Link, Operation, StoreConfig

from .helpers import spawn

REFUSED = "cannot connect to 127.0.0.1:9: Connection refused"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _link(status: ConnectionStatus, attempt: int = 0) -> Link:
    return Link(id="op-1", url="ws://x/ws", operation_id="op-1", status=status, attempt=attempt)


def test_a_retry_line_names_its_number_its_delay_and_its_reason() -> None:
    """Moving to reconnecting prints one line, ``retry N within D s: PROBLEM`` (D is the
    backoff before jitter), and no separate problem line for the same problem."""
    before = Operation(id="op-1", topic_id="t", link_id="op-1", token="x")
    after = attrs.evolve(before, last_problem=REFUSED)
    lines = changes(
        before,
        after,
        _link(ConnectionStatus.CONNECTING, attempt=2),
        _link(ConnectionStatus.RECONNECTING, attempt=3),
        StoreConfig(),
    )
    assert lines == [f"socket     retry 3 within 4 s: {REFUSED}"]


def test_a_problem_without_a_retry_still_has_its_own_line() -> None:
    """A problem that does not come with a reconnect (a bad frame) is printed as before."""
    before = Operation(id="op-1", topic_id="t", link_id="op-1", token="x")
    after = attrs.evolve(before, last_problem="bad frame: not JSON")
    connected = _link(ConnectionStatus.CONNECTED)
    lines = changes(before, after, connected, connected, StoreConfig())
    assert lines == ["problem    bad frame: not JSON"]


def _watch(port: int, *extra: str) -> list[str]:
    url = f"ws://127.0.0.1:{port}"
    return ["watch", url, "--operation", "op-1", "--token", "t", *extra]


async def test_an_unreachable_gateway_is_one_line_and_exit_1(closed_port: int) -> None:
    """Three refused dials (the default budget) end watch: stderr is one line naming the
    refusal and the attempts, exit 1; stdout shows the two retries before it."""
    with trio.fail_after(30):
        async with spawn(*_watch(closed_port)) as watch:
            assert await watch.wait() == 1
    refused = f"cannot connect to 127.0.0.1:{closed_port}: Connection refused"
    assert watch.err == f"gatewayops watch: error: {refused} (3 attempts)\n"
    retries = [line for line in watch.out.splitlines() if " retry " in line]
    assert retries == [
        f"socket     retry 1 within 1 s: {refused}",
        f"socket     retry 2 within 2 s: {refused}",
    ]


async def test_dial_attempts_sets_the_budget(closed_port: int) -> None:
    """``--dial-attempts 1`` gives up at the first refused dial, without a retry."""
    with trio.fail_after(30):
        async with spawn(*_watch(closed_port, "--dial-attempts", "1")) as watch:
            assert await watch.wait() == 1
    assert watch.err.endswith("Connection refused (1 attempt)\n")
    assert " retry " not in watch.out


async def test_a_timeout_names_the_last_problem(closed_port: int) -> None:
    """With the budget off (``--dial-attempts 0``), ``--timeout`` ends watch and its line
    says why the run did not finish: the refused dial."""
    with trio.fail_after(30):
        async with spawn(*_watch(closed_port, "--dial-attempts", "0", "--timeout", "0.5")) as w:
            assert await w.wait() == 1
    assert w.err == (
        "gatewayops watch: error: op-1 did not finish within 0.5 s: "
        f"cannot connect to 127.0.0.1:{closed_port}: Connection refused\n"
    )


async def _serve_until_cancelled(
    task_status: trio.TaskStatus[tuple[Gateway, trio.CancelScope]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A reference gateway that stops listening when its cancel scope is cancelled."""
    with trio.CancelScope() as scope:
        async with open_gateway() as gateway:
            task_status.started((gateway, scope))
            await trio.sleep_forever()


async def test_after_a_first_connection_watch_keeps_reconnecting() -> None:
    """Connected once, watch does not give up however many dials fail: with a budget of
    1 and the gateway gone, the second and third retries still come (then Ctrl-C)."""
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            gateway, stop_gateway = await nursery.start(_serve_until_cancelled)
            run = gateway.start_run(clean_run("slow", chunks=40, delay=0.5))
            argv = ["watch", gateway.url, "--operation", run.operation_id, "--token", run.token]
            async with spawn(*argv, "--dial-attempts", "1") as watch:
                await watch.wait_for("socket     connected")
                stop_gateway.cancel()
                await watch.wait_for("socket     retry 3 within 4 s: cannot connect to")
                watch.process.send_signal(signal.SIGINT)
                assert await watch.wait() == 130
    assert "socket     retry 2 within 2 s: cannot connect to" in watch.out
    assert watch.err == "gatewayops watch: interrupted\n"


async def test_an_unreachable_gateway_still_finishes_the_recording(
    closed_port: int, tmp_path: Path
) -> None:
    """With --record, giving up still says where the log is and leaves it whole: its last
    record is the run's end, unreachable, from the dial budget."""
    log = tmp_path / "unreachable.jsonl"
    with trio.fail_after(30):
        async with spawn(*_watch(closed_port, "--dial-attempts", "1", "--record", str(log))) as w:
            assert await w.wait() == 1
    assert w.out.splitlines()[-1] == f"recorded to {log}"
    assert w.err.endswith("Connection refused (1 attempt)\n")
    last = log.read_text().splitlines()[-1]
    assert '"type":"NotifyFinished"' in last
    assert '"result":"unreachable","source":"dial_budget"' in last
