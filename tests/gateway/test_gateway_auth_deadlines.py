"""The auth deadlines: an upgraded socket must `auth` in time, and again after `auth_expired`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
from _gateway_helpers import connect, paused_run
from trio.testing import MockClock

from gatewayops.gateway import Gateway, open_gateway
from gatewayops.protocol import AuthExpired, AuthSuccess, Heartbeat, HeartbeatAck


@pytest.mark.parametrize(
    ("settings", "deadline"), [({}, 10.0), ({"auth_timeout": 2.5}, 2.5)], ids=["default", "2.5s"]
)
async def test_socket_that_never_sends_auth_is_closed_1008_at_the_deadline(
    autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, Any],
    deadline: float,
) -> None:
    """No `auth` frame within `auth_timeout` (default 10 s): close 1008, one log line, counted."""
    caplog.set_level(logging.INFO, logger="gatewayops.gateway")
    async with open_gateway(**settings) as gateway:
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            opened = trio.current_time()
            closed = await client.expect_closed()
            waited = trio.current_time() - opened
        stats = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
    assert (closed.code, closed.reason) == (1008, "auth timeout")
    assert waited == pytest.approx(deadline)
    assert stats.auth_timeouts_total == 1
    assert caplog.text.count("no auth frame within") == 1


async def test_malformed_frames_do_not_hold_off_the_auth_deadline(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Frames that do not decode are not an `auth`: the socket is still closed at 10 s."""
    with trio.fail_after(60):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            opened = trio.current_time()
            for _ in range(3):
                await trio.sleep(3)
                await client.ws.send_message("{not json")
            closed = await client.expect_closed()
            waited = trio.current_time() - opened
    assert (closed.code, closed.reason) == (1008, "auth timeout")
    assert waited == pytest.approx(10.0)


async def test_auth_in_time_lifts_the_deadline(gateway: Gateway, autojump_clock: MockClock) -> None:
    """A socket that authenticates at 9 s is never closed by the auth deadline."""
    with trio.fail_after(200):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await trio.sleep(9)
            await client.expect_auth_success(handle.token)
            assert await client.silent_for(100)
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
    assert gateway.statistics().auth_timeouts_total == 0


@pytest.mark.parametrize(
    ("settings", "deadline"),
    [({}, 30.0), ({"expired_auth_timeout": 4.0}, 4.0)],
    ids=["default", "4s"],
)
async def test_expired_token_socket_is_closed_1008_if_not_authenticated_in_time(
    autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, Any],
    deadline: float,
) -> None:
    """After `auth_expired`, no successful `auth` within `expired_auth_timeout`: close 1008."""
    caplog.set_level(logging.INFO, logger="gatewayops.gateway")
    async with open_gateway(**settings) as gateway:
        handle = gateway.start_run(paused_run(), topic_id="t")
        stale = gateway.issue_token("t", handle.operation_id, ttl_seconds=-1)
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(stale) == AuthExpired()
            told = trio.current_time()
            closed = await client.expect_closed()
            waited = trio.current_time() - told
        stats = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
    assert (closed.code, closed.reason) == (1008, "auth timeout after auth_expired")
    assert waited == pytest.approx(deadline)
    assert (stats.expired_auth_timeouts_total, stats.auth_timeouts_total) == (1, 0)
    assert caplog.text.count("not authenticated within") == 1


async def test_more_expired_tokens_do_not_extend_the_expired_deadline(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """The 30 s run from the first `auth_expired`; another expired token at 20 s changes nothing."""
    with trio.fail_after(100):
        handle = gateway.start_run(paused_run(), topic_id="t")
        stale = gateway.issue_token("t", handle.operation_id, ttl_seconds=-1)
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(stale) == AuthExpired()
            told = trio.current_time()
            await trio.sleep(20)
            assert await client.authenticate(stale) == AuthExpired()
            await client.expect_closed()
            waited = trio.current_time() - told
    assert waited == pytest.approx(30.0)


async def test_fresh_auth_after_auth_expired_lifts_the_deadline(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A refreshed token accepted at 25 s keeps the socket open well past 30 s."""
    with trio.fail_after(200):
        handle = gateway.start_run(paused_run(), topic_id="t")
        stale = gateway.issue_token("t", handle.operation_id, ttl_seconds=-1)
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(stale) == AuthExpired()
            await trio.sleep(25)
            fresh = await gateway.refresh_token("t")
            assert await client.authenticate(fresh) == AuthSuccess()
            assert await client.silent_for(100)
    assert gateway.statistics().expired_auth_timeouts_total == 0


async def test_socket_expired_by_the_fault_is_bounded_too(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """An authenticated socket told `auth_expired` by `expire_tokens` is closed 30 s later."""
    with trio.fail_after(100):
        handle = gateway.start_run(paused_run(chunks=0), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await trio.sleep(50)
            assert gateway.faults.expire_tokens(handle.operation_id) == 1
            assert await client.receive() == AuthExpired()
            told = trio.current_time()
            closed = await client.expect_closed()
            waited = trio.current_time() - told
    assert (closed.code, closed.reason) == (1008, "auth timeout after auth_expired")
    assert waited == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("auth_timeout", 0, "positive, finite number of seconds, got 0"),
        ("auth_timeout", float("inf"), "positive, finite number of seconds, got inf"),
        ("expired_auth_timeout", -1.0, "positive, finite number of seconds, got -1.0"),
        ("handshake_timeout", float("nan"), "positive, finite number of seconds, got nan"),
        ("max_outbox_frames", 0, "positive integer, got 0"),
        ("max_outbox_chars", 1.5, "positive integer, got 1.5"),
        ("max_frame_chars", True, "positive integer, got True"),
    ],
)
async def test_bad_limits_are_refused_naming_the_setting(
    setting: str, value: object, expected: str
) -> None:
    """`open_gateway` refuses a limit that is not positive with a `ValueError` naming it."""
    with pytest.raises(ValueError, match=f"^{setting}: expected a {expected}$"):
        async with open_gateway(**{setting: value}):  # type: ignore[arg-type]
            pass
