"""The reference gateway's controls of protocol v2: the ``/user-token`` route of its HTTP
endpoint (a v2 client's token provider), the v2 counts in `Gateway.statistics`, the
``/v2/ws`` 404 of an old worker, and `Faults.clear` turning the v2 faults off too.
Spoken to over raw HTTP and raw WebSockets on 127.0.0.1."""

from __future__ import annotations

import json

import trio
from _gateway_helpers import paused_run, upgrade_request
from _http_helpers import endpoint, request
from _mux_helpers import open_mux, ready_mux
from trio.testing import MockClock

from gatewayops.gateway import DEFAULT_USER, USER_TOKEN_PATH, Gateway
from gatewayops.protocol import Ready


def _body(token: str) -> bytes:
    return json.dumps({"token": token}).encode()


async def test_an_expired_user_token_is_traded_for_one_that_opens_a_v2_socket(
    gateway: Gateway,
) -> None:
    """POST /user-token with an expired user token answers 200 with a fresh token of the
    same user, and the hub greets a socket opened with it with ready for that user."""
    expired = gateway.v2.issue_user_token("user-7", ttl_seconds=-1)
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            status, answer = await request(base + USER_TOKEN_PATH, body=_body(expired))
        assert status == 200
        async with open_mux(gateway, answer["token"]) as client:
            ready = await client.expect(Ready)
    assert ready.user_id == "user-7"


async def test_the_user_token_service_fault_is_a_503_once(gateway: Gateway) -> None:
    """With fail_user_tokens(1), the first POST /user-token is 503 naming the failure and
    the next one gets a token."""
    gateway.v2.faults.fail_user_tokens(1)
    token = gateway.v2.issue_user_token()
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            failed = await request(base + USER_TOKEN_PATH, body=_body(token))
            recovered = await request(base + USER_TOKEN_PATH, body=_body(token))
    assert failed == (503, {"error": f"the user token service failed for {DEFAULT_USER!r}"})
    assert recovered[0] == 200


async def test_a_runs_token_and_a_user_token_do_not_open_each_others_route(
    gateway: Gateway,
) -> None:
    """A run's (v1) token is refused 401 by /user-token, and a user token 401 by /token:
    neither credential reaches further than it speaks for."""
    run = gateway.start_run(paused_run())
    with trio.fail_after(10):
        async with endpoint(gateway) as base:
            for_user = await request(base + USER_TOKEN_PATH, body=_body(run.token))
            user_token = gateway.v2.issue_user_token()
            for_run = await request(base + "/token", body=_body(user_token))
    assert for_user == (401, {"error": "invalid token: bad signature"})
    assert for_run == (401, {"error": "invalid token: bad signature"})


async def test_statistics_count_v2_sockets_subscriptions_and_4401s(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Two ready v2 sockets of one user, one subscribed as the executor to a run and one
    not, and one upgrade refused 4401: the gateway's statistics say so, and count the
    v2 sockets among the open ones."""
    run = gateway.start_run(paused_run())
    with trio.fail_after(20):
        async with open_mux(gateway, "not-a-token") as refused:
            await refused.expect_closed()
        async with (
            ready_mux(gateway, client_id="a") as (first, _),
            ready_mux(gateway, client_id="b") as (second, _),
        ):
            await first.subscribe(run.operation_id, executor=True)
            await second.subscribe(run.operation_id)
            stats = gateway.statistics()
    assert (stats.v2_sockets, stats.v2_users, stats.v2_subscriptions) == (2, 1, 2)
    assert (stats.v2_executors, stats.v2_refused_total) == (1, 1)
    assert (stats.open_sockets, stats.accepted_total) == (2, 3)


async def test_a_removed_endpoint_answers_404_until_cleared(gateway: Gateway) -> None:
    """remove_endpoint(): a v2 upgrade is refused with HTTP 404 (counted as rejected), as
    an old worker without /v2/ws; after Faults.clear the next one is greeted with ready."""
    gateway.v2.faults.remove_endpoint()
    with trio.fail_after(10):
        for _ in range(2):
            response = await upgrade_request(gateway, "/v2/ws?token=x&clientId=c")
            assert response.startswith(b"HTTP/1.1 404 ")
        gateway.faults.clear()
        async with open_mux(gateway) as client:
            await client.expect(Ready)
    assert gateway.statistics().rejected_total == 2


async def test_clearing_the_faults_clears_the_v2_ones(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Faults.clear turns off the lasting v2 switches as well: after a 4401 storm, a
    withheld ready and a failing token service were armed for every socket, a socket is
    greeted with ready again and the token service answers."""
    gateway.v2.faults.reject_upgrades(None)
    gateway.v2.faults.withhold_ready(None)
    gateway.v2.faults.fail_user_tokens(None)
    gateway.faults.clear()
    with trio.fail_after(10):
        token = await gateway.v2.user_token()
        async with open_mux(gateway, token) as client:
            await client.expect(Ready)
