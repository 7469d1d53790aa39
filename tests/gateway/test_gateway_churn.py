"""Connections that come and go, however they end, leave nothing behind in the gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
import trio
from _gateway_helpers import abandoned_upgrade, connect, paused_run, upgrade_request
from trio.testing import MockClock, wait_all_tasks_blocked

from gatewayops.gateway import Gateway, GatewayStatistics, RunHandle
from gatewayops.protocol import AuthExpired, AuthFailed

PER_KIND = 60
AT_ONCE = 40


async def _hang_up_before_upgrade(gateway: Gateway, run: RunHandle) -> None:
    await abandoned_upgrade(gateway, run.operation_id, sent=0)


async def _hang_up_mid_upgrade(gateway: Gateway, run: RunHandle) -> None:
    await abandoned_upgrade(gateway, run.operation_id, sent=40)


async def _hang_up_after_upgrade_request(gateway: Gateway, run: RunHandle) -> None:
    await abandoned_upgrade(gateway, run.operation_id, sent=None)


async def _rejected(gateway: Gateway, run: RunHandle) -> None:
    await upgrade_request(gateway, "/elsewhere")


async def _leave_without_auth(gateway: Gateway, run: RunHandle) -> None:
    async with connect(gateway, run.operation_id):
        pass


async def _follow_then_leave(gateway: Gateway, run: RunHandle) -> None:
    async with connect(gateway, run.operation_id) as client:
        await client.expect_auth_success(run.token)
        await client.resume("")


async def _follow_then_drop(gateway: Gateway, run: RunHandle) -> None:
    async with connect(gateway, run.operation_id) as client:
        await client.expect_auth_success(run.token)
        await client.resume("")
        await trio.aclose_forcefully(client.ws._stream)


async def _bad_token(gateway: Gateway, run: RunHandle) -> None:
    async with connect(gateway, run.operation_id) as client:
        assert isinstance(await client.authenticate("garbage"), AuthFailed)
        await client.expect_closed()


async def _expired_token(gateway: Gateway, run: RunHandle) -> None:
    stale = gateway.issue_token(run.topic_id, run.operation_id, ttl_seconds=-1)
    async with connect(gateway, run.operation_id) as client:
        assert await client.authenticate(stale) == AuthExpired()


Kind = Callable[[Gateway, RunHandle], Awaitable[None]]
UPGRADED: tuple[Kind, ...] = (
    _leave_without_auth,
    _follow_then_leave,
    _follow_then_drop,
    _bad_token,
    _expired_token,
)
KINDS: tuple[Kind, ...] = (
    _hang_up_before_upgrade,
    _hang_up_mid_upgrade,
    _hang_up_after_upgrade_request,
    _rejected,
    *UPGRADED,
)


def _held_now(stats: GatewayStatistics) -> dict[str, Any]:
    """Everything the gateway holds at this moment (its running totals left out)."""
    return {
        name: value for name, value in attrs.asdict(stats).items() if not name.endswith("_total")
    }


async def test_hundreds_of_connections_leave_no_task_or_bookkeeping_behind(
    gateway: Gateway, autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """540 connections, ended nine different ways, return tasks and counters to baseline.

    Without waiting for any timeout: the whole churn and the return to baseline happen
    within one virtual second, while the handshake timeout is ten. (Connections that
    hung up mid-handshake used to keep their handler task until that timeout.)
    """
    run = gateway.start_run(paused_run(), topic_id="t")
    await wait_all_tasks_blocked()
    baseline = gateway.statistics()
    limiter = trio.CapacityLimiter(AT_ONCE)

    async def one(kind: Kind) -> None:
        async with limiter:
            await kind(gateway, run)

    with trio.fail_after(1):
        async with trio.open_nursery() as nursery:
            for _ in range(PER_KIND):
                for kind in KINDS:
                    nursery.start_soon(one, kind)
        await gateway.wait_statistics(
            lambda s: s.open_sockets == 0 and s.handshaking_connections == 0
        )
        await wait_all_tasks_blocked()
    after = gateway.statistics()
    assert _held_now(after) == _held_now(baseline)
    assert after.accepted_total >= PER_KIND * len(UPGRADED)
    assert after.rejected_total == PER_KIND
    assert gateway._registry.peers() == ()
    assert "connection handler failed" not in caplog.text
