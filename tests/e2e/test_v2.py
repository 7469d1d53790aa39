"""Protocol v2 end to end: the real client over one user socket to the reference gateway.

Everything is real and on 127.0.0.1: the gateway's ``/v2/ws`` hub, its user token
service and its v2 faults (`Gateway.v2.faults`), and `open_client(protocol="v2")` over
`WebSocketTransport`. Tests wait for outcomes and conditions, never for wall-clock time.
PROTOCOL.md 7.1 (one socket, the user token before every dial, `ready`), 7.4
(resubscribe from each cursor), 7.6 (4401, the dial budget, unavailable, the fallback,
the application's disconnect and connect).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
import trio

from gatewayops.effects import UserTokenFn
from gatewayops.gateway import Gateway, MuxFaults, RunHandle, Script
from gatewayops.store import FinishSource, Operation, OperationStatus, Outcome, Protocol, Result

from .helpers import FAST, Env, assert_text_once, assert_v2_nothing_leaked, e2e, long_script

SHORT_WATCHDOG = attrs.evolve(FAST, connect_timeout_ms=300)
"""The fast timings, with a connect watchdog short enough for a hub that never says
`ready` to cost a fraction of a second (only where that fault is injected: under load
a short watchdog could give up on a healthy dial)."""

DEADLINE = 20
"""Seconds a test may take at most (it waits for conditions, so a hang fails here)."""


@attrs.define
class CountedTokens:
    """The gateway's user token service, counting how often the client asked it."""

    gateway: Gateway
    calls: int = 0

    async def __call__(self) -> str:
        self.calls += 1
        return await self.gateway.v2.user_token()


def counted(box: list[CountedTokens]) -> Callable[[Gateway], UserTokenFn]:
    """A `user_token` builder for `e2e` that leaves its counter in `box`."""

    def build(gateway: Gateway) -> UserTokenFn:
        box.append(CountedTokens(gateway))
        return box[0]

    return build


Started = list[tuple[RunHandle, Script]]


def start_runs(env: Env, count: int, *, chunks: int = 20) -> Started:
    """Start `count` streaming runs of the default user and follow each; with each run,
    its script."""
    scripts = [long_script(f"run{n}", chunks=chunks) for n in range(count)]
    return [(env.start(script), script) for script in scripts]


def has_text(op: Operation) -> bool:
    """Whether the operation has shown some of its text yet."""
    return bool(op.transcript.text)


async def finish_all(env: Env, runs: Started) -> list[Operation]:
    """Wait for every run to finish; each one's final snapshot, checked for its text."""
    finished = []
    for run, script in runs:
        outcome, op = await env.finish(run)
        assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
        assert_text_once(op, script)
        finished.append(op)
    return finished


async def finish_each_as(
    env: Env, runs: Started, result: Result, source: FinishSource
) -> list[Outcome]:
    """Wait for every run to finish; each must end with `result` from `source`."""
    outcomes = []
    for run, _ in runs:
        outcome, _ = await env.finish(run)
        assert (outcome.result, outcome.source) == (result, source)
        outcomes.append(outcome)
    return outcomes


async def test_several_runs_share_one_v2_socket_and_finish_once_each() -> None:
    """Three runs followed at once ride on one v2 socket (the hub sees one socket with
    three subscriptions; one user token was asked for); each finishes once with its
    full text, and then the lazy socket closes."""
    tokens: list[CountedTokens] = []
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", user_token=counted(tokens)) as env:
            runs = start_runs(env, 3)
            hub = await env.gateway.v2.wait_statistics(lambda s: s.subscriptions == 3)
            assert (hub.sockets, hub.users) == (1, 1)
            await finish_all(env, runs)
            assert tokens[0].calls == 1
            await assert_v2_nothing_leaked(env)


async def test_a_link_drop_loses_and_doubles_nothing_in_any_run() -> None:
    """The hub drops the socket (no close frame) while it carries three live
    subscriptions, mid-stream: the client redials, resubscribes each from its own
    cursor, and every run still finishes once with its text, no chunk lost or shown
    twice."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2") as env:
            runs = start_runs(env, 3)
            for run, _ in runs:
                await env.until(run, has_text)
            assert env.gateway.v2.faults.drop_links() == (1, 3)
            ops = await finish_all(env, runs)
            assert all(env.link(op).generation >= 2 for op in ops)
            await assert_v2_nothing_leaked(env)


async def test_disconnect_mid_stream_then_connect_loses_and_doubles_nothing() -> None:
    """The application disconnects the user's socket while it carries three live runs
    (the hub sees it close; the runs keep going there), then connects again: one new
    socket resubscribes each run from its own cursor, and every run finishes once with
    its full text, no chunk lost or shown twice."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2") as env:
            runs = start_runs(env, 3)
            for run, _ in runs:
                await env.until(run, has_text)
            env.client.disconnect(gateway_url=env.gateway.url)
            await env.gateway.v2.wait_statistics(lambda s: s.sockets == 0)
            assert all(env.operation(run).status is OperationStatus.RUNNING for run, _ in runs)
            env.client.connect(gateway_url=env.gateway.url)
            hub = await env.gateway.v2.wait_statistics(lambda s: s.subscriptions == 3)
            assert hub.sockets == 1
            ops = await finish_all(env, runs)
            assert all(env.link(op).generation == 2 for op in ops)
            await assert_v2_nothing_leaked(env)


@pytest.mark.parametrize(
    "strike",
    [
        pytest.param(lambda faults: faults.reject_upgrades(2), id="4401-storm"),
        pytest.param(lambda faults: faults.fail_user_tokens(2), id="token-service-fails"),
    ],
)
async def test_two_failed_dials_within_the_budget_are_retried_with_a_fresh_token(
    strike: Callable[[MuxFaults], None],
) -> None:
    """Two dials in a row fail (closed 4401 at the upgrade, or the user token service
    fails): each redial asks the token service again (three calls), and the runs then
    finish with their text over the third dial."""
    tokens: list[CountedTokens] = []
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", user_token=counted(tokens)) as env:
            strike(env.gateway.v2.faults)
            runs = start_runs(env, 2, chunks=4)
            await finish_all(env, runs)
            assert tokens[0].calls == 3
            await assert_v2_nothing_leaked(env)


async def test_three_4401_in_a_row_end_every_run_as_an_auth_failure() -> None:
    """Without a fallback, a third 4401 in a row ends each run once as `auth_failed`."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2") as env:
            env.gateway.v2.faults.reject_upgrades(None, reason="auth_failed")
            runs = start_runs(env, 2, chunks=4)
            await finish_each_as(env, runs, Result.AUTH_FAILED, FinishSource.AUTH_FAILED)
            await assert_v2_nothing_leaked(env)


async def test_a_socket_that_never_says_ready_is_given_up_and_redialled() -> None:
    """The hub opens a socket but never says `ready`: the connect watchdog gives it up,
    the next dial is greeted, and the runs finish with their text."""
    with trio.fail_after(DEADLINE):
        async with e2e(config=SHORT_WATCHDOG, protocol="v2") as env:
            env.gateway.v2.faults.withhold_ready(1)
            runs = start_runs(env, 2, chunks=4)
            ops = await finish_all(env, runs)
            assert all(env.link(op).generation == 2 for op in ops)
            await assert_v2_nothing_leaked(env)


async def test_no_user_token_at_all_ends_every_run_as_v2_unavailable() -> None:
    """A user token service that always fails spends the dial budget: each run
    finishes once as unreachable with the v2-unavailable source, naming the cause."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2") as env:
            env.gateway.v2.faults.fail_user_tokens(None)
            runs = start_runs(env, 3, chunks=4)
            outcomes = await finish_each_as(
                env, runs, Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE
            )
            assert all("UserTokenUnavailable" in outcome.detail for outcome in outcomes)
            await assert_v2_nothing_leaked(env)


async def test_a_hub_that_never_says_ready_without_fallback_ends_every_run_once() -> None:
    """Every socket opens without `ready`: after the dial budget, with no fallback,
    each run finishes exactly once as unreachable / v2-unavailable."""
    with trio.fail_after(DEADLINE):
        async with e2e(config=SHORT_WATCHDOG, protocol="v2") as env:
            env.gateway.v2.faults.withhold_ready(None)
            runs = start_runs(env, 3, chunks=4)
            await finish_each_as(env, runs, Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE)
            await assert_v2_nothing_leaked(env)


async def test_v2_unavailable_from_the_start_falls_back_to_v1_for_every_run() -> None:
    """With fallback="v1", a v2 endpoint that refuses every upgrade makes v2 unavailable
    and every run is followed over a v1 socket of its own to its end, with its text."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", fallback="v1") as env:
            env.gateway.v2.faults.reject_upgrades(None)
            runs = start_runs(env, 3, chunks=6)
            ops = await finish_all(env, runs)
            assert {env.link(op).protocol for op in ops} == {Protocol.V1}
            await assert_v2_nothing_leaked(env)


async def test_a_fallback_mid_stream_loses_and_doubles_nothing() -> None:
    """Runs streaming over v2 lose the socket and v2 stays refused: each moves to v1
    from its v2 cursor and finishes once with its full text (the v1 resume replays
    only what v2 had not delivered)."""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", fallback="v1") as env:
            runs = start_runs(env, 3)
            for run, _ in runs:
                await env.until(run, has_text)
            env.gateway.v2.faults.reject_upgrades(None)
            env.gateway.v2.faults.drop_links()
            ops = await finish_all(env, runs)
            assert {env.link(op).protocol for op in ops} == {Protocol.V1}
            await assert_v2_nothing_leaked(env)


async def test_the_fallback_after_failed_dials_keeps_v1_for_new_runs() -> None:
    """Once v2 fell back (a hub that never says `ready`), a run started later goes
    straight to v1 and finishes there."""
    with trio.fail_after(DEADLINE):
        async with e2e(config=SHORT_WATCHDOG, protocol="v2", fallback="v1") as env:
            env.gateway.v2.faults.withhold_ready(None)
            first = start_runs(env, 1, chunks=4)
            await finish_all(env, first)
            later = env.start(long_script("later", chunks=4))
            outcome, op = await env.finish(later)
            assert outcome.result is Result.COMPLETED
            assert env.link(op).protocol is Protocol.V1
            await assert_v2_nothing_leaked(env)
