"""Authentication through the runtime: refresh, redial with the same cursor, failures.

PROTOCOL.md 5, 11 (invariants 1-4, 10) and 12.2-12.3.
"""

from __future__ import annotations

import trio

from gatewayops.exceptions import OperationNotFound, TokenUnavailable
from gatewayops.protocol import Auth, AuthExpired, AuthFailed, AuthSuccess, Resume
from gatewayops.store import FinishSource, Result, TokenRefreshFailed
from gatewayops.transport import MemoryTransport

from .helpers import (
    FRESH_TOKEN,
    GATEWAY,
    OP,
    TOKEN,
    TOPIC,
    Recorder,
    chunk,
    client_on,
    expect,
    handshake,
    runtime_end,
)


async def test_auth_expired_refreshes_and_resumes_from_the_same_cursor(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """After `auth_expired` the client redials with the fresh token and `resume{lastEventId}`."""
    topics: list[str] = []

    async def refresh(topic_id: str) -> str:
        topics.append(topic_id)
        await trio.sleep(1)
        return FRESH_TOKEN

    async with client_on(transport, refresh_token=refresh) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        first, resume = await handshake(transport)
        assert resume == Resume(last_event_id="", want_status=True)
        first.send_message(chunk("a", id="1"))
        first.send_message(chunk("b", id="2"))
        first.send_message(AuthExpired())
        info = await first.wait_closed()
        assert info.by_client
        assert info.code == 1000
        second = await transport.accept()
        assert (await expect(second, Auth)).token == FRESH_TOKEN
        second.send_message(AuthSuccess())
        assert await expect(second, Resume) == Resume(last_event_id="2", want_status=True)
        second.send_message(chunk("c", id="3"))  # only what came after the cursor
        second.send_message(runtime_end(id="4"))
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert topics == [TOPIC]
    assert outcome.result is Result.COMPLETED
    assert op.transcript.text == "abc"
    assert op.last_event_id == "4"
    assert op.problems == 0


async def test_failed_refreshes_end_the_run_after_closing_the_socket(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Three failing refreshes end the run as an auth failure; the socket closed first."""
    recorder = Recorder()
    calls = 0

    async def refresh(topic_id: str) -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("token service down")

    async with client_on(transport, refresh_token=refresh, recorder=recorder) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(AuthExpired())
        outcome = await client.wait_finished(OP)
        assert server.closed is not None
        assert server.closed.by_client
        assert server.closed.code == 1000
        assert client.statistics().open_sockets == 0
    assert (outcome.result, outcome.source) == (Result.AUTH_FAILED, FinishSource.REFRESH_FAILED)
    assert "token service down" in outcome.detail
    assert calls == 3
    assert [f.not_found for f in recorder.of_type(TokenRefreshFailed)] == [False] * 3
    assert len(recorder.finished) == 1


async def test_token_still_expired_after_the_budget_ends_the_run(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A gateway that keeps saying `auth_expired` ends the run after 3 refreshes."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        servers = []
        for _ in range(4):
            server = await transport.accept()
            await expect(server, Auth)
            server.send_message(AuthExpired())
            servers.append(server)
        outcome = await client.wait_finished(OP)
        assert all(s.closed is not None and s.closed.by_client for s in servers)
    assert (outcome.result, outcome.source) == (Result.AUTH_FAILED, FinishSource.REFRESH_BUDGET)


async def test_refresh_not_found_ends_the_run_as_gone(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`OperationNotFound` from `refresh_token` ends the run cleanly, with no new socket."""

    async def refresh(topic_id: str) -> str:
        raise OperationNotFound("operation op-1 was garbage-collected")

    async with client_on(transport, refresh_token=refresh) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(AuthExpired())
        outcome = await client.wait_finished(OP)
        await trio.sleep(60)
        assert len(transport.attempts) == 1
    assert (outcome.result, outcome.source) == (Result.GONE, FinishSource.REFRESH_NOT_FOUND)
    assert outcome.detail == "operation op-1 was garbage-collected"


async def test_auth_failed_ends_the_run_and_never_redials(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`auth_failed` is terminal: the socket closes and nothing is dialled again."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server = await transport.accept()
        await expect(server, Auth)
        server.send_message(AuthFailed(reason="operation not found"))
        outcome = await client.wait_finished(OP)
        assert server.closed is not None
        assert server.closed.by_client
        await trio.sleep(300)
        assert len(transport.attempts) == 1
        assert client.statistics().armed_timers == 0
    assert (outcome.result, outcome.detail) == (Result.AUTH_FAILED, "operation not found")


async def test_handshake_rejected_with_404_ends_the_run(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """An HTTP 404 on the upgrade is fatal: the run ends as rejected, without retries."""
    transport.reject_next(404)
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        outcome = await client.wait_finished(OP)
    assert (outcome.result, outcome.source) == (Result.REJECTED, FinishSource.CONNECTION_REJECTED)
    assert "404" in outcome.detail
    assert len(transport.attempts) == 1


async def test_handshake_rejected_with_503_is_retried(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """HTTP 503, 429 and 408 on the upgrade are retried after the backoff."""
    transport.reject_next(503)
    transport.reject_next(429)
    transport.reject_next(408)
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        await handshake(transport)
        assert trio.current_time() == 1 + 2 + 4
        assert len(transport.attempts) == 4


async def test_listeners_never_see_a_finished_operation_with_its_socket_open(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Resources are reconciled before listeners hear of a step: when a listener first sees
    the operation finished, its socket is already closing and no timer is armed (11.3)."""
    async with client_on(transport) as client:
        seen: list[tuple[int, int]] = []

        def listener(old: object, new: object, action: object) -> None:
            op = client.state.operations.get(OP)
            if op is not None and op.is_finished and not seen:
                stats = client.statistics()
                seen.append((stats.open_sockets, stats.armed_timers))

        client.subscribe(listener)
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server = await transport.accept()
        await expect(server, Auth)
        server.send_message(AuthFailed(reason="operation not found"))
        await client.wait_finished(OP)
    assert seen == [(0, 0)]


async def test_token_unavailable_is_shown_without_its_class_name(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A refresh that raises `TokenUnavailable` fails with its message as it is (written
    for the user), where another exception is shown as ``Name: message``."""
    recorder = Recorder()
    advice = "the token expired: pass --token-url"

    async def refresh(topic_id: str) -> str:
        await trio.lowlevel.checkpoint()
        raise TokenUnavailable(advice)

    async with client_on(transport, refresh_token=refresh, recorder=recorder) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(AuthExpired())
        outcome = await client.wait_finished(OP)
    assert [failed.error for failed in recorder.of_type(TokenRefreshFailed)] == [advice] * 3
    assert "TokenUnavailable" not in outcome.detail
