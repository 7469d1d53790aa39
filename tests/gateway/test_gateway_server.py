"""The v1 conversation over real loopback sockets: handshake, auth, resume, live events."""

from __future__ import annotations

import math

import jwt
import pytest
import trio
from _gateway_helpers import EPOCH, connect, ids, paused_run, upgrade_request
from trio.testing import MockClock

from gatewayops.gateway import Gateway, clean_run, error_run, open_gateway, tool_run
from gatewayops.protocol import (
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    EventType,
    Heartbeat,
    HeartbeatAck,
    Interrupt,
    Resume,
    ResumeComplete,
    SessionComplete,
    SessionStatus,
    ToolResult,
)

FORGERY_KEY = b"k" * 32


async def test_auth_then_resume_replays_everything_and_reports_status(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """`auth_success`, then `resume{''}` replays every event in id order, then `resume_complete`."""
    with trio.fail_after(10):
        handle = gateway.start_run(clean_run("hello world", chunks=3), topic_id="t")
        await gateway.wait_finished(handle.operation_id)
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(handle.token) == AuthSuccess()
            events, status = await client.resume("")
    assert events == list(gateway.events(handle.operation_id))
    assert ids(events) == list(range(1, len(events) + 1))
    assert status == ResumeComplete(status=SessionStatus.COMPLETED)
    assert events[0].event.timestamp == EPOCH * 1000


async def test_resume_from_a_cursor_replays_only_later_events(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """`resume{lastEventId:'3'}` replays ids 4 and up only, then the status."""
    with trio.fail_after(10):
        handle = gateway.start_run(clean_run("abcdef", chunks=3), topic_id="t")
        await gateway.wait_finished(handle.operation_id)
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            events, status = await client.resume("3")
    total = len(gateway.events(handle.operation_id))
    assert ids(events) == list(range(4, total + 1))
    assert status.status is SessionStatus.COMPLETED


async def test_legacy_resume_of_an_ended_run_gets_session_complete(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Without `wantStatus`, a resume of an ended operation ends with `session_complete`."""
    with trio.fail_after(10):
        handle = gateway.start_run(clean_run("ab", chunks=1), topic_id="t")
        await gateway.wait_finished(handle.operation_id)
        last = gateway.events(handle.operation_id)[-1].id or ""
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.send(Resume(last_event_id=last, want_status=False))
            assert await client.receive() == SessionComplete()


async def test_live_events_follow_the_replay_without_gap_or_duplicate(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Joining mid-run: replay, `resume_complete{running}`, then live events, ids contiguous."""
    with trio.fail_after(30):
        handle = gateway.start_run(clean_run("abcdefgh", chunks=8, delay=1.0), topic_id="t")
        await trio.sleep(3.5)
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            replayed, status = await client.resume("")
            live = await client.events_until(EventType.AGENT_RUNTIME_END)
            assert await client.receive() == SessionComplete()
    assert status.status is SessionStatus.RUNNING
    assert len(replayed) >= 4
    assert live
    assert ids(replayed + live) == list(range(1, len(replayed) + len(live) + 1))


async def test_run_end_sends_terminal_then_session_complete(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """An interrupted run sends `agent_runtime_end{interrupted}`, then `session_complete`."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.resume("")
            assert await gateway.interrupt(handle.operation_id, "t")
            end = await client.expect(AgentEventMessage)
            assert await client.receive() == SessionComplete()
    assert end.event.type == EventType.AGENT_RUNTIME_END
    assert end.event.data == {"reason": "interrupted"}
    assert gateway.operation_status(handle.operation_id) is SessionStatus.INTERRUPTED


async def test_expired_token_gets_auth_expired_and_socket_stays_open(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A token past `exp` gets `auth_expired`; the socket stays usable for a fresh `auth`."""
    with trio.fail_after(100):
        handle = gateway.start_run(paused_run(), topic_id="t")
        stale = gateway.issue_token("t", handle.operation_id, ttl_seconds=60)
        await trio.sleep(61)
        async with connect(gateway, handle.operation_id) as client:
            assert await client.authenticate(stale) == AuthExpired()
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
            fresh = await gateway.refresh_token("t")
            assert await client.authenticate(fresh) == AuthSuccess()


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda claims: jwt.encode(claims, FORGERY_KEY, algorithm="HS256"), "bad signature"),
        (lambda claims: jwt.encode(claims, None, algorithm="none"), "algorithm not allowed"),
        (lambda claims: "garbage", "malformed"),
    ],
    ids=["forged", "alg-none", "garbage"],
)
async def test_bad_tokens_get_auth_failed_and_the_socket_closes(
    gateway: Gateway, autojump_clock: MockClock, forge: object, reason: str
) -> None:
    """Forged, unsigned or malformed tokens get `auth_failed{reason}`, then a close."""
    assert callable(forge)
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        claims = {
            "topic": "t",
            "op": handle.operation_id,
            "exp": EPOCH + 600,
            "iat": 0,
            "gen": 10**6,
        }
        async with connect(gateway, handle.operation_id) as client:
            answer = await client.authenticate(forge(claims))
            assert isinstance(answer, AuthFailed)
            assert reason in answer.reason
            await client.expect_closed()


@pytest.mark.parametrize(
    ("exp", "problem"),
    [
        (math.nan, "exp claim must be a finite number, got nan"),
        (math.inf, "exp claim must be a finite number, got inf"),
        (10**400, "exp claim out of range (0 to 253402300799 epoch seconds)"),
    ],
    ids=["nan", "infinity", "10**400"],
)
async def test_validly_signed_absurd_exp_gets_auth_failed_not_a_crash(
    gateway: Gateway,
    autojump_clock: MockClock,
    caplog: pytest.LogCaptureFixture,
    exp: float,
    problem: str,
) -> None:
    """A gateway-signed token whose `exp` is NaN, infinite or 10**400 gets `auth_failed` + 1008.

    Before, NaN and infinity authenticated as tokens that never expire and 10**400 crashed
    the connection handler (OverflowError).
    """
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        claims = {"topic": "t", "op": handle.operation_id, "exp": exp, "iat": 0, "gen": 10**6}
        token = jwt.encode(claims, gateway._tokens._secret, algorithm="HS256")
        async with connect(gateway, handle.operation_id) as client:
            answer = await client.authenticate(token)
            closed = await client.expect_closed()
    assert answer == AuthFailed(reason=f"invalid token: {problem}")
    assert (closed.code, closed.reason) == (1008, "auth failed")
    assert "connection handler failed" not in caplog.text


async def test_token_of_another_operation_gets_auth_failed(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A valid token scoped to a different operation is refused on this operation's socket."""
    with trio.fail_after(10):
        first = gateway.start_run(paused_run(), topic_id="t1")
        second = gateway.start_run(paused_run(), topic_id="t2")
        async with connect(gateway, first.operation_id) as client:
            answer = await client.authenticate(second.token)
    assert answer == AuthFailed(reason="invalid token: issued for another operation")


async def test_unknown_operation_gets_operation_not_found(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A well-signed token for an operation the gateway never had gets `operation not found`."""
    with trio.fail_after(10):
        token = gateway.issue_token("t", "op-ghost")
        async with connect(gateway, "op-ghost") as client:
            assert await client.authenticate(token) == AuthFailed(reason="operation not found")
            await client.expect_closed()


async def test_first_frame_must_be_auth(gateway: Gateway, autojump_clock: MockClock) -> None:
    """A well-formed `heartbeat` before `auth` gets `auth_failed` and a close."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.send(Heartbeat())
            assert await client.receive() == AuthFailed(reason="expected auth as the first frame")
            await client.expect_closed()


async def test_malformed_client_frames_are_ignored(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Non-JSON, unknown-type and mistyped frames are ignored; the socket keeps working."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.ws.send_message("{definitely not json")
            await client.expect_auth_success(handle.token)
            await client.ws.send_message('{"type":"telepathy"}')
            await client.ws.send_message('{"type":"tool_result","toolCallId":5,"success":true}')
            await client.send(Interrupt())
            await client.send(Heartbeat())
            assert await client.receive() == HeartbeatAck()
    assert gateway.operation_status(handle.operation_id) is SessionStatus.RUNNING


async def test_tool_execute_waits_for_the_client_tool_result(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """The run waits at `tool_execute` for the matching `tool_result`, which shapes `tool_end`."""
    with trio.fail_after(30):
        handle = gateway.start_run(tool_run(timeout_ms=20_000), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            replayed, _ = await client.resume("")
            seen = replayed + (
                []
                if replayed[-1].event.type == EventType.TOOL_EXECUTE
                else await client.events_until(EventType.TOOL_EXECUTE)
            )
            execute = seen[-1].event.data
            await trio.sleep(5)
            assert gateway.tool_outcomes(handle.operation_id) == ()
            await client.send(ToolResult(tool_call_id="wrong-id", success=True, content="no"))
            await client.send(
                ToolResult(tool_call_id=execute["toolCallId"], success=True, content="42")
            )
            tool_end = await client.expect(AgentEventMessage)
            await client.events_until(EventType.AGENT_RUNTIME_END)
    assert execute["executionTimeoutMs"] == 20_000
    assert tool_end.event.type == EventType.TOOL_END
    assert tool_end.event.data["isSuccess"] is True
    assert tool_end.event.data["result"] == "42"
    assert tool_end.event.data["executionTime"] == 5000
    [outcome] = gateway.tool_outcomes(handle.operation_id)
    assert outcome.result is not None
    assert outcome.result.content == "42"


async def test_heartbeat_gets_heartbeat_ack(gateway: Gateway, autojump_clock: MockClock) -> None:
    """Each `heartbeat` on an authenticated socket gets one `heartbeat_ack`."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            for _ in range(3):
                await client.send(Heartbeat())
                assert await client.receive() == HeartbeatAck()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v3/ws?operationId=op-1", 404),
        ("/ws", 400),
        ("/ws?operationId=", 400),
        ("/v2/ws?token=x", 400),
    ],
)
async def test_handshake_rejections(
    gateway: Gateway, autojump_clock: MockClock, path: str, status: int
) -> None:
    """Another path is rejected with HTTP 404, a missing `operationId` (v1) or `clientId`
    (v2) with 400."""
    with trio.fail_after(10):
        response = await upgrade_request(gateway, path)
    assert response.startswith(f"HTTP/1.1 {status} ".encode())
    assert gateway.statistics().rejected_total == 1


async def test_sockets_are_counted_until_closed(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """Statistics count open, authenticated and subscribed sockets, and drop them on close."""
    with trio.fail_after(10):
        handle = gateway.start_run(paused_run(), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.resume("")
            stats = await gateway.wait_statistics(lambda s: s.subscribed_sockets == 1)
            assert (stats.open_sockets, stats.authenticated_sockets, stats.live_runs) == (1, 1, 1)
        stats = await gateway.wait_statistics(lambda s: s.open_sockets == 0)
    assert stats.subscribed_sockets == 0
    assert stats.accepted_total == 1


async def test_gateway_binds_loopback_only() -> None:
    """A non-loopback host is refused before anything is bound."""
    with pytest.raises(ValueError, match="loopback"):
        async with open_gateway(host="0.0.0.0"):
            pass


async def test_gateway_url_points_at_the_bound_port(autojump_clock: MockClock) -> None:
    """`url` is ``ws://127.0.0.1:PORT`` and the operation URL follows PROTOCOL.md 1.1."""
    async with open_gateway() as gw:
        assert gw.url.startswith("ws://127.0.0.1:")
        assert gw.operation_url("op 1") == gw.url + "/ws?operationId=op%201"


async def test_error_run_sends_error_then_session_complete(
    gateway: Gateway, autojump_clock: MockClock
) -> None:
    """A run that fails sends its live subscribers `error{message}`, then `session_complete`."""
    with trio.fail_after(30):
        handle = gateway.start_run(error_run("provider down", delay=1.0), topic_id="t")
        async with connect(gateway, handle.operation_id) as client:
            await client.expect_auth_success(handle.token)
            await client.resume("")
            events = await client.events_until(EventType.ERROR)
            assert await client.receive() == SessionComplete()
    assert events[-1].event.data == {"message": "provider down"}
    assert gateway.operation_status(handle.operation_id) is SessionStatus.ERROR
