"""Every fault the reference gateway can inject, against the real client on loopback.

Each test starts a short run, lets it stream, injects one fault (docs/gateway.md lists
them), and checks the state the client ends in, that the text was shown exactly once,
and that nothing leaked on either side.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS, SessionStatus
from gatewayops.store import FinishSource, Operation, Result, StoreConfig
from gatewayops.transport import WebSocketTransport

from .helpers import FAST, Env, assert_nothing_leaked, assert_text_once, e2e, long_script


def _streaming(env: Env, count: int = 5) -> Callable[[Operation], bool]:
    """Connected and at least `count` events in: a point well inside the run."""
    return lambda op: op.transcript.events >= count and env.link(op).status == "connected"


async def test_malformed_frame_is_counted_and_the_socket_kept() -> None:
    """A non-JSON frame is reported (`bad_frames`), the socket stays up, the run completes."""
    script = long_script("malformed")
    with trio.fail_after(10):
        async with e2e() as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            assert env.gateway.faults.send_malformed_frame(run.operation_id) == 1
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert op.bad_frames >= 1
            assert env.link(op).generation == 1
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_oversized_frame_is_rejected_by_size_and_the_run_completes() -> None:
    """A frame over the codec's limit is refused unparsed (`bad_frames`); the run goes on.

    The transport's own limit is raised so the frame reaches the codec's size check.
    """
    script = long_script("oversized")
    transport = WebSocketTransport(max_message_size=2 * DEFAULT_MAX_FRAME_CHARS)
    with trio.fail_after(10):
        async with e2e(transport=transport) as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            assert env.gateway.faults.send_oversized_frame(run.operation_id) == 1
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert op.bad_frames >= 1
            assert env.link(op).generation == 1
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_oversized_frame_over_the_transport_limit_reconnects_and_resumes() -> None:
    """With the default transport the frame closes the socket (1009): reconnect, resume."""
    script = long_script("too-big")
    with trio.fail_after(10):
        async with e2e() as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            assert env.gateway.faults.send_oversized_frame(run.operation_id) == 1
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert env.link(op).generation >= 2
            assert "1009" in (op.last_problem or "")  # reported as a too-large close
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_blackholed_handshake_trips_the_connect_watchdog() -> None:
    """A handshake nobody answers: the watchdog gives up, the retry connects (#19021)."""
    script = long_script("blackhole", chunks=8)
    with trio.fail_after(10):
        async with e2e(config=StoreConfig(connect_timeout_ms=300, initial_backoff_ms=50)) as env:
            env.gateway.faults.blackhole_handshakes(1)
            run = env.start(script)
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert env.link(op).generation == 2
            assert env.gateway.statistics().accepted_total == 1
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_unanswered_auth_trips_the_connect_watchdog() -> None:
    """A socket whose `auth` is never answered: the same watchdog covers the wait."""
    script = long_script("silent-auth", chunks=8)
    with trio.fail_after(10):
        async with e2e(config=StoreConfig(connect_timeout_ms=300, initial_backoff_ms=50)) as env:
            env.gateway.faults.ignore_auth(1)
            run = env.start(script)
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert env.link(op).generation == 2
            assert env.gateway.statistics().accepted_total == 2
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_unacked_heartbeats_force_a_reconnect() -> None:
    """Heartbeats go unanswered: after the missed limit the client redials and resumes."""
    script = long_script("heartbeat", chunks=30)
    config = StoreConfig(heartbeat_interval_ms=40, max_missed_heartbeats=2, initial_backoff_ms=50)
    with trio.fail_after(10):
        async with e2e(config=config) as env:
            run = env.gateway.start_run(script)
            env.gateway.faults.stop_heartbeat_acks(run.operation_id)
            env.client.start(
                operation_id=run.operation_id,
                topic_id=run.topic_id,
                gateway_url=env.gateway.url,
                token=run.token,
            )
            await env.until(run, lambda op: env.link(op).generation >= 2)
            env.gateway.faults.resume_heartbeat_acks()
            outcome, op = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            assert env.link(op).generation >= 2
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_forgotten_during_refresh_ends_gone_without_a_retry_loop() -> None:
    """Token expired, then the run is forgotten: the refresh says "not found" and the run
    ends as gone at once, socket closed, no redial (#17332)."""
    script = long_script("gone")
    with trio.fail_after(10):
        async with e2e() as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            env.gateway.faults.expire_tokens(run.operation_id)
            env.gateway.faults.forget(run.operation_id)
            outcome, op = await env.finish(run)
            assert (outcome.result, outcome.source) == (
                Result.GONE,
                FinishSource.REFRESH_NOT_FOUND,
            )
            assert env.link(op).generation == 1
            assert env.gateway.statistics().accepted_total == 1
            await assert_nothing_leaked(env)


def _member_seen(op: Operation) -> bool:
    return op.transcript.member_events >= 1


async def test_mirrored_member_terminal_and_echo_do_not_end_the_supervisor() -> None:
    """A member's `agent_runtime_end` and its echo `session_complete` are ignored; the
    supervisor streams on and ends on its own terminal (PROTOCOL.md 4.3)."""
    script = long_script("supervisor")
    with trio.fail_after(10):
        async with e2e() as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            assert env.gateway.faults.mirror_member_terminal(run.operation_id) is not None
            op = await env.until(run, _member_seen)
            assert not op.is_finished
            outcome, op = await env.finish(run)
            assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
            assert op.transcript.member_events == 1
            assert op.echo.owed_echoes == 0
            assert_text_once(op, script)
            await assert_nothing_leaked(env)


async def test_replayed_member_terminal_explains_a_stale_resume_status() -> None:
    """The member ends while the supervisor's socket is down: the replay carries the member
    terminal and `resume_complete(completed)` is its stale status, so the supervisor keeps
    streaming and ends on its own terminal (PROTOCOL.md 4.3, invariant 6)."""
    script = long_script("stale", chunks=30)
    with trio.fail_after(10):
        async with e2e(config=FAST) as env:
            run = env.start(script)
            await env.until(run, _streaming(env))
            env.gateway.faults.drop_sockets(run.operation_id)
            assert env.gateway.faults.mirror_member_terminal(run.operation_id) is not None
            outcome, op = await env.finish(run)
            assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
            assert env.link(op).generation >= 2
            assert op.transcript.member_events == 1
            statuses = env.witness.resume_statuses[run.operation_id]
            assert statuses == [SessionStatus.RUNNING, SessionStatus.COMPLETED]  # 2nd is stale
            assert_text_once(op, script)
            await assert_nothing_leaked(env)
