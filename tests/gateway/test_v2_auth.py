"""The v2 endpoint's auth at the upgrade (PROTOCOL.md 7.1) and its user tokens."""

from __future__ import annotations

import logging

import pytest
import trio
from _gateway_helpers import paused_run, upgrade_request
from _mux_helpers import open_mux, ready_mux
from trio.testing import MockClock

from gatewayops.exceptions import UserTokenUnavailable
from gatewayops.gateway import AUTH_CLOSE_CODE, DEFAULT_USER, Gateway
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.gateway._user_tokens import ExpiredUser, UserTokenAuthority, ValidUser
from gatewayops.protocol import MUX_PROTOCOL, Ready


async def test_a_good_token_is_greeted_with_ready_first(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """The first frame on a v2 socket is ready{userId, connectionId, protocol: 2}."""
    with trio.fail_after(10):
        async with open_mux(gateway) as client:
            ready = await client.expect(Ready)
    assert ready.user_id == DEFAULT_USER
    assert ready.connection_id
    assert ready.protocol == MUX_PROTOCOL


async def test_each_socket_gets_its_own_connection_id(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Two sockets of one user are told different connection ids."""
    with trio.fail_after(10):
        async with ready_mux(gateway) as (_, first), ready_mux(gateway) as (_, second):
            assert first.connection_id != second.connection_id


async def test_an_expired_user_token_closes_4401_auth_expired(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A token whose only fault is its age: close 4401 with reason auth_expired."""
    with trio.fail_after(10):
        async with open_mux(gateway, gateway.v2.issue_user_token(ttl_seconds=-1)) as client:
            closed = await client.expect_closed()
    assert (closed.code, closed.reason) == (AUTH_CLOSE_CODE, "auth_expired")


@pytest.mark.parametrize("kind", ["garbage", "operation token", "another gateway's"])
async def test_a_bad_token_closes_4401_auth_failed(
    gateway: Gateway, autojump_clock: MockClock, kind: str
) -> None:
    """Garbage, a v1 operation token (it has no `sub`), or a user token signed elsewhere:
    4401 auth_failed."""
    if kind == "garbage":
        token = "not-a-jwt"
    elif kind == "operation token":
        token = gateway.start_run(paused_run()).token
    else:
        token = UserTokenAuthority(GatewayClock()).issue(DEFAULT_USER)
    with trio.fail_after(10):
        async with open_mux(gateway, token) as client:
            closed = await client.expect_closed()
    assert (closed.code, closed.reason) == (AUTH_CLOSE_CODE, "auth_failed")


async def test_a_token_expires_by_the_gateway_clock(autojump_clock: MockClock) -> None:
    """A user token checks as valid until `exp` by the gateway clock, then as expired."""
    authority = UserTokenAuthority(GatewayClock(epoch=1_000.0))
    token = authority.issue("user-9", ttl_seconds=60)
    assert authority.check(token) == ValidUser(user_id="user-9")
    await trio.sleep(61)
    assert authority.check(token) == ExpiredUser(user_id="user-9")


@pytest.mark.parametrize(
    ("user_id", "ttl", "named"), [("", 60.0, "user_id"), ("u", float("nan"), "ttl_seconds")]
)
async def test_issuing_refuses_what_would_not_verify(user_id: str, ttl: float, named: str) -> None:
    """An empty user id or an unusable lifetime is refused when issuing, naming it."""
    authority = UserTokenAuthority(GatewayClock())
    with pytest.raises(ValueError, match=named):
        authority.issue(user_id, ttl)


async def test_the_token_service_fails_when_told_to_then_recovers(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """fail_user_tokens(1): the next user_token raises UserTokenUnavailable, then works."""
    gateway.v2.faults.fail_user_tokens(1)
    with pytest.raises(UserTokenUnavailable, match=DEFAULT_USER):
        await gateway.v2.user_token()
    token = await gateway.v2.user_token()
    with trio.fail_after(10):
        async with open_mux(gateway, token) as client:
            await client.expect(Ready)


async def test_no_log_line_of_the_v2_endpoint_carries_a_token(
    gateway: Gateway, autojump_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused upgrade (its URL logged), a 4401 close and a served socket log their
    lines with the token redacted, never raw."""
    caplog.set_level(logging.INFO, logger="gatewayops.gateway")
    token = gateway.v2.issue_user_token()
    with trio.fail_after(10):
        response = await upgrade_request(gateway, f"/v2/ws?token={token}")
        async with open_mux(gateway, gateway.v2.issue_user_token(ttl_seconds=-1)) as client:
            await client.expect_closed()
        async with open_mux(gateway, token) as client:
            await client.expect(Ready)
    assert response.startswith(b"HTTP/1.1 400 ")
    assert "token=<redacted>" in caplog.text
    assert "closed 4401 auth_expired" in caplog.text
    assert token not in caplog.text
