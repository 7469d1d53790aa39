"""Losing the user's v2 socket, and v2 being refused or unavailable, over the memory
transport: every operation it carries is resubscribed, moved to v1, or finished once.

PROTOCOL.md 7.4 (resubscribe each from its own cursor on `ready`), 7.6 (4401 retried at
once with a fresh token, the dial-failure budget counting token failures, unavailable:
the fallback to v1 or the end of every run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from gatewayops.protocol import Auth, AuthSuccess, Resume, Subscribe
from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    Protocol,
    Result,
    connection_status,
    link,
)
from gatewayops.transport import ConnectFailed, Connection, MemoryTransport

from . import helpers as v1
from .helpers import OP, TOKEN, Recorder, settle
from .mux_helpers import (
    OP2,
    OP3,
    UserTokens,
    expect,
    mux_chunk,
    mux_end,
    query,
    ready,
    send,
    start,
    subscriptions,
    v2_client_on,
)

ALL = (OP, OP2, OP3)


async def test_a_drop_resubscribes_each_operation_from_its_own_cursor(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """After the socket drops, the next `ready` resubscribes every operation with the id
    of the last event it took; what the hub replays again is not shown twice."""
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder) as client:
        for op in ALL:
            start(client, op)
        server = await ready(transport)
        await subscriptions(server, 3)
        send(server, mux_chunk("a", id="1", op=OP))
        send(server, mux_chunk("b", id="2", op=OP))
        send(server, mux_chunk("x", id="7", op=OP2))
        await settle()
        server.abort()
        again = await ready(transport)
        cursors = {op: s.last_event_id for op, s in (await subscriptions(again, 3)).items()}
        assert cursors == {OP: "2", OP2: "7", OP3: ""}
        send(again, mux_chunk("b", id="2", op=OP))  # replayed again: dropped
        send(again, mux_chunk("c", id="3", op=OP))
        send(again, mux_chunk("y", id="8", op=OP2))
        send(again, mux_chunk("z", id="1", op=OP3))
        for op, last in ((OP, "4"), (OP2, "9"), (OP3, "2")):
            send(again, mux_end(id=last, op=op))
            await client.wait_finished(op)
        texts = {op: client.state.operations[op].transcript.text for op in ALL}
    assert texts == {OP: "abc", OP2: "xy", OP3: "z"}
    assert Counter(n.operation_id for n in recorder.finished) == dict.fromkeys(ALL, 1)


async def test_a_4401_redials_at_once_with_a_fresh_token(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A close with code 4401 is redialled at the same instant (no backoff) with a token
    fetched for the new dial; the operation is then subscribed on the new socket."""
    tokens = UserTokens()
    async with v2_client_on(transport, user_token=tokens) as client:
        start(client)
        refused = await transport.accept()
        closed_at = trio.current_time()
        refused.close(4401, "auth_expired")
        again = await ready(transport)
        assert trio.current_time() == closed_at
        assert (await expect(again, Subscribe)).operation_id == OP
        assert connection_status(client.state, OP) is ConnectionStatus.CONNECTED
    assert [query(url)["token"][0] for url in transport.attempts] == ["user-jwt-1", "user-jwt-2"]


async def test_three_4401_in_a_row_end_every_operation_as_an_auth_failure(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Without a fallback, the third 4401 in a row ends each operation once, as
    `auth_failed`, and nothing more is dialled."""
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder) as client:
        start(client)
        start(client, OP2)
        for _ in range(3):
            (await transport.accept()).close(4401, "auth_failed")
        outcomes = [await client.wait_finished(op) for op in (OP, OP2)]
        await trio.sleep(600)
    assert {(o.result, o.source) for o in outcomes} == {
        (Result.AUTH_FAILED, FinishSource.AUTH_FAILED)
    }
    assert "close 4401 auth_failed (3 in a row)" in outcomes[0].detail
    assert len(transport.attempts) == 3
    assert len(recorder.finished) == 2


async def test_a_ready_starts_the_4401_count_again(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Two 4401s, a `ready`, then two more: the operation is still followed (the count
    of refusals in a row started again at the `ready`)."""
    async with v2_client_on(transport) as client:
        start(client)
        for _ in range(2):
            (await transport.accept()).close(4401, "auth_expired")
        healthy = await ready(transport)
        await expect(healthy, Subscribe)
        healthy.abort()
        for _ in range(2):
            (await transport.accept()).close(4401, "auth_expired")
        last = await ready(transport)
        await expect(last, Subscribe)
        assert not client.state.operations[OP].is_finished


async def test_token_provider_failures_count_against_the_dial_budget(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A user-token service that fails three times spends the default budget of three
    dials: the operation ends as unreachable because v2 is unavailable, no socket was
    ever dialled, and the cause is named."""
    tokens = UserTokens(failures=10)
    async with v2_client_on(transport, user_token=tokens) as client:
        start(client)
        outcome = await client.wait_finished(OP)
        await trio.sleep(600)
    assert (outcome.result, outcome.source) == (Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE)
    assert "no user token: RuntimeError: token service down (call 3)" in outcome.detail
    assert tokens.calls == 3
    assert transport.attempts == []


async def test_a_token_failure_within_the_budget_is_retried(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Two failures of the user-token service, then a token: the third dial goes out
    after the backoff and the operation is subscribed."""
    tokens = UserTokens(failures=2)
    async with v2_client_on(transport, user_token=tokens) as client:
        start(client)
        server = await ready(transport)
        assert (await expect(server, Subscribe)).operation_id == OP
    assert tokens.calls == 3
    assert tokens.times == [0, 1, 3]  # backoff of 1 s, then 2 s (jitter off)


async def test_a_token_provider_that_never_answers_is_cut_off_by_the_watchdog(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """The connect watchdog counts the wait for the user token: a provider that hangs
    costs 15 s per dial, each a failed dial, and the budget then ends the run."""

    async def hangs() -> str:
        await trio.sleep_forever()

    async with v2_client_on(transport, user_token=hangs) as client:
        start(client)
        outcome = await client.wait_finished(OP)
    assert outcome.source is FinishSource.V2_UNAVAILABLE
    assert "no ready within 15000 ms" in outcome.detail
    assert trio.current_time() == 15 + 1 + 15 + 2 + 15
    assert transport.attempts == []


async def test_unavailable_finishes_every_operation_once_as_v2_unavailable(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Three refused dials (the budget): each of three operations finishes exactly once,
    unreachable with the v2-unavailable source; the link dials no more."""
    transport.refuse_next(3)
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder) as client:
        for op in ALL:
            start(client, op)
        outcomes = {op: await client.wait_finished(op) for op in ALL}
        await trio.sleep(600)
        mux = link(client.state, OP)
        assert mux is not None
        assert mux.unavailable
        assert client.statistics().open_sockets == 0
    assert {(o.result, o.source) for o in outcomes.values()} == {
        (Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE)
    }
    assert Counter(n.operation_id for n in recorder.finished) == dict.fromkeys(ALL, 1)
    assert len(transport.attempts) == 3


async def test_a_socket_that_never_says_ready_counts_as_a_failed_dial(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Sockets that open but never get `ready` are given up by the connect watchdog
    (15 s each) and, after the budget, the operation ends as v2-unavailable."""
    async with v2_client_on(transport) as client:
        start(client)
        for _ in range(3):
            await transport.accept()
        outcome = await client.wait_finished(OP)
    assert outcome.source is FinishSource.V2_UNAVAILABLE
    assert "no ready within 15000 ms" in outcome.detail
    assert trio.current_time() == 15 + 1 + 15 + 2 + 15


async def test_fallback_moves_live_operations_to_v1_and_finishes_each(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """With fallback="v1", v2 becoming unavailable moves each live operation to a v1
    socket of its own, authenticated with its own token and resumed from its v2 cursor;
    each then finishes once over v1 with its whole text."""
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder, fallback="v1") as client:
        start(client)
        start(client, OP2)
        server = await ready(transport)
        await subscriptions(server, 2)
        send(server, mux_chunk("v2-", id="5", op=OP))
        await settle()
        transport.refuse_next(3)
        server.abort()
        resumes: dict[str, str] = {}
        sockets = {}
        for _ in range(2):
            v1_server = await transport.accept()
            auth = await v1.expect(v1_server, Auth)
            assert auth.token == TOKEN
            v1_server.send_message(AuthSuccess())
            resume = await v1.expect(v1_server, Resume)
            op = query(v1_server.url)["operationId"][0]
            resumes[op], sockets[op] = resume.last_event_id, v1_server
        assert resumes == {OP: "5", OP2: ""}
        for op, v1_server in sockets.items():
            assert client.state.links[client.state.operations[op].link_id].protocol is Protocol.V1
            v1_server.send_message(v1.chunk("v1", id="6", op=op))
            v1_server.send_message(v1.runtime_end(id="7", op=op))
        outcomes = {op: await client.wait_finished(op) for op in (OP, OP2)}
        texts = {op: client.state.operations[op].transcript.text for op in (OP, OP2)}
    assert {o.result for o in outcomes.values()} == {Result.COMPLETED}
    assert texts == {OP: "v2-v1", OP2: "v1"}
    assert Counter(n.operation_id for n in recorder.finished) == {OP: 1, OP2: 1}


async def test_after_fallback_a_new_start_goes_straight_to_v1(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Once v2 is unavailable (fallback on), a new operation dials its own v1 socket
    instead of the user's v2 socket."""
    transport.refuse_next(3)
    async with v2_client_on(transport, fallback="v1") as client:
        start(client)
        first, _ = await v1.handshake(transport)
        start(client, OP2)
        second, _ = await v1.handshake(transport)
    assert [query(s.url)["operationId"][0] for s in (first, second)] == [OP, OP2]
    assert all("/v2/ws" in url for url in transport.attempts[:3])
    assert not any("/v2/ws" in url for url in transport.attempts[3:])


class _RefusingWithTheUrl(MemoryTransport):
    """A transport whose every dial fails for good, quoting the URL it was given (as
    `WebSocketTransport` does for a URL it cannot dial)."""

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        self.attempts.append(url)
        await trio.lowlevel.checkpoint()
        raise ConnectFailed(f"cannot dial {url!r}: no such thing", fatal=True)
        yield  # pragma: no cover - an async generator that never yields


async def test_a_dial_error_quoting_the_url_does_not_leak_the_user_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A transport error that quotes the dialled URL (which carries the user token)
    ends the run with a detail in which the token is redacted."""
    transport = _RefusingWithTheUrl()
    async with v2_client_on(transport) as client:
        start(client)
        outcome = await client.wait_finished(OP)
        mux = link(client.state, OP)
        assert mux is not None
    assert outcome.source is FinishSource.V2_UNAVAILABLE
    assert "token=<redacted>" in outcome.detail
    for text in (outcome.detail, mux.last_problem or "", repr(client.state)):
        assert "user-jwt-1" not in text
