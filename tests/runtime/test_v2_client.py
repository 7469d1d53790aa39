"""`open_client(protocol="v2")` over the memory transport: one socket for every operation.

PROTOCOL.md 7.1 (the URL, the user token before every dial, nothing sent before `ready`),
7.4 (a subscription per operation), 7.6 (a lazy socket closes after the last
subscription; the network coming back redials at once).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from gatewayops.effects import open_client
from gatewayops.protocol import Subscribe, Unsubscribe
from gatewayops.store import (
    Action,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    Result,
    StoreConfig,
    connection_status,
)
from gatewayops.transport import Connection, MemoryTransport

from .helpers import GATEWAY, OP, Recorder, refresh_ok, settle
from .mux_helpers import (
    OP2,
    OP3,
    UserTokens,
    expect,
    greet,
    mux_chunk,
    mux_end,
    path,
    query,
    ready,
    receive,
    send,
    start,
    subscriptions,
    v2_client_on,
)


async def test_v2_without_a_user_token_is_refused() -> None:
    """`open_client(protocol="v2")` without `user_token` raises ValueError at once."""
    with pytest.raises(ValueError, match="user_token is required"):
        async with open_client(refresh_token=refresh_ok, protocol="v2"):
            pass  # pragma: no cover - never entered


async def test_an_unknown_fallback_is_refused() -> None:
    """`fallback` takes "v1" or None; anything else raises ValueError naming it."""
    with pytest.raises(ValueError, match="fallback: expected 'v1' or None, got 'v3'"):
        async with open_client(
            refresh_token=refresh_ok, protocol="v2", user_token=UserTokens(), fallback="v3"
        ):
            pass  # pragma: no cover - never entered


async def test_fallback_v1_and_the_protocol_are_written_into_the_config(
    transport: MemoryTransport,
) -> None:
    """`protocol="v2", fallback="v1"` leave the rest of the given config as it was."""
    config = StoreConfig(heartbeat_interval_ms=10_000)
    async with v2_client_on(transport, config=config, fallback="v1") as client:
        got = client.state.config
    assert (got.protocol.value, got.v2_fallback, got.heartbeat_interval_ms) == ("v2", True, 10_000)


async def test_the_url_is_the_v2_path_with_a_user_token_and_the_client_id(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """The user's socket dials <base>/v2/ws?token=<user token>&clientId=<id>."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await transport.accept()
        assert path(server.url) == f"{GATEWAY}/v2/ws"
        params = query(server.url)
        assert params["token"] == ["user-jwt-1"]
        assert len(params["clientId"]) == 1
        assert params["clientId"][0]


async def test_the_token_provider_is_awaited_before_every_dial(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Each dial of the user's socket carries a token fetched for it (three dials, three
    calls, three different tokens) and the same client id."""
    tokens = UserTokens()
    async with v2_client_on(transport, user_token=tokens) as client:
        start(client)
        for _ in range(3):
            server = await ready(transport)
            await expect(server, Subscribe)
            server.abort()
        await transport.accept()
    assert tokens.calls == 4
    assert [query(url)["token"][0] for url in transport.attempts] == [
        "user-jwt-1",
        "user-jwt-2",
        "user-jwt-3",
        "user-jwt-4",
    ]
    assert len({query(url)["clientId"][0] for url in transport.attempts}) == 1


async def test_nothing_is_sent_before_ready(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """An open socket without `ready` gets no frame (no subscribe, no heartbeat); the
    `subscribe` goes out once the hub greets."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await transport.accept()
        with trio.move_on_after(10):
            await server.receive()
            pytest.fail("a frame was sent before ready")
        assert connection_status(client.state, OP) is ConnectionStatus.AUTHENTICATING
        greet(server)
        subscribe = await expect(server, Subscribe)
    assert (subscribe.operation_id, subscribe.last_event_id, subscribe.executor) == (OP, "", True)


async def test_several_operations_share_one_socket_and_each_finishes(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Three operations are subscribed over one socket; the hub's frames are routed by
    their envelope, and `wait_finished` returns each one's own outcome while the socket
    stays up for the others."""
    async with v2_client_on(transport) as client:
        for op in (OP, OP2, OP3):
            start(client, op)
        server = await ready(transport)
        assert set(await subscriptions(server, 3)) == {OP, OP2, OP3}
        for n, op in enumerate((OP, OP2, OP3)):
            send(server, mux_chunk(f"hello {op}", id="1", op=op))
            send(server, mux_chunk("!", id="2", op=op))
            if n < 2:
                send(server, mux_end(id="3", op=op))
                outcome = await client.wait_finished(op)
                assert (outcome.result, outcome.source) == (
                    Result.COMPLETED,
                    FinishSource.AGENT_EVENT,
                )
                assert server.closed is None  # the others still ride on it
        send(server, mux_end(id="3", op=OP3))
        await client.wait_finished(OP3)
        texts = {op: client.state.operations[op].transcript.text for op in (OP, OP2, OP3)}
    assert texts == {op: f"hello {op}!" for op in (OP, OP2, OP3)}
    assert len(transport.attempts) == 1


async def test_a_start_on_a_ready_socket_subscribes_at_once(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """An operation started while the socket is ready is subscribed on it at once (no
    second dial)."""
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        start(client, OP2)
        assert (await expect(server, Subscribe)).operation_id == OP2
        assert len(transport.attempts) == 1


async def test_the_lazy_socket_closes_after_the_last_operation_ends(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """When its last operation ended, the user's socket is closed by the client in the
    same instant (code 1000) and not redialled; a later start dials a new one."""
    async with v2_client_on(transport) as client:
        start(client)
        start(client, OP2)
        server = await ready(transport)
        await subscriptions(server, 2)
        send(server, mux_end(id="1", op=OP))
        await client.wait_finished(OP)
        assert server.closed is None  # OP2 still rides on it
        assert isinstance(await receive(server), Unsubscribe)
        send(server, mux_end(id="1", op=OP2))
        ended = trio.current_time()
        await client.wait_finished(OP2)
        info = await server.wait_closed()
        assert (trio.current_time(), info.by_client, info.code) == (ended, True, 1000)
        await trio.sleep(600)
        assert len(transport.attempts) == 1
        assert client.statistics().open_sockets == 0
        start(client, OP3)
        again = await ready(transport)
        assert (await expect(again, Subscribe)).operation_id == OP3


class _SlowWrite:
    """A client connection whose every write takes a second."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.url = connection.url

    async def send(self, text: str) -> None:
        await trio.sleep(1)
        await self._connection.send(text)

    async def receive(self) -> str | bytes:
        return await self._connection.receive()

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        await self._connection.aclose(code, reason)


class _SlowWrites(MemoryTransport):
    """The memory transport, with writes that take a second each."""

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        async with super().connect(url) as connection:
            yield _SlowWrite(connection)


async def test_the_lazy_socket_closes_only_once_the_last_unsubscribe_is_written(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The idle close (0 ms) waits for the write still in flight: the hub reads the
    last `unsubscribe` before the close, which comes when that write is done."""
    transport = _SlowWrites()
    async with v2_client_on(transport) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, mux_end(id="1", op=OP))
        ended = trio.current_time()
        await client.wait_finished(OP)
        assert isinstance(await receive(server), Unsubscribe)
        info = await server.wait_closed()
        assert (trio.current_time() - ended, info.by_client, info.code) == (1, True, 1000)


async def test_a_start_in_the_same_turn_as_the_last_end_reuses_the_socket(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """An operation started by a listener right when the last one finishes keeps the
    lazy socket (the idle close waits for the next turn): no second dial."""
    async with v2_client_on(transport) as client:

        def chain(old: GatewayState, new: GatewayState, action: Action) -> None:
            op = new.operations.get(OP)
            if op is not None and op.is_finished and OP2 not in new.operations:
                start(client, OP2)

        client.subscribe(chain)
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, mux_end(id="1", op=OP))
        await client.wait_finished(OP)
        frames = [await receive(server), await receive(server)]
        await settle()
        assert server.closed is None
    assert [type(f) for f in frames] == [Unsubscribe, Subscribe]
    assert len(transport.attempts) == 1


async def test_network_restored_redials_at_once(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A link waiting out a long backoff dials the moment `network_restored()` is
    called, and the operation is subscribed again from its cursor."""
    config = StoreConfig(protocol="v2", initial_backoff_ms=60_000, max_backoff_ms=60_000)
    async with v2_client_on(transport, config=config) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, mux_chunk("a", id="4"))
        await settle()
        server.abort()
        await settle()
        assert connection_status(client.state, OP) is ConnectionStatus.RECONNECTING
        lost_at = trio.current_time()
        client.network_restored()
        again = await ready(transport)
        assert trio.current_time() == lost_at
        subscribe = await expect(again, Subscribe)
    assert subscribe.last_event_id == "4"


async def test_network_restored_with_nothing_waiting_dials_nothing(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """With no operation followed, `network_restored()` opens no socket."""
    async with v2_client_on(transport) as client:
        client.network_restored()
        await trio.sleep(60)
    assert transport.attempts == []


async def test_an_agent_event_for_an_unknown_operation_is_dropped(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A hub frame for an operation the client does not follow changes nothing."""
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, mux_end(id="1", op="someone-else"))
        send(server, mux_chunk("mine", id="1"))
        await settle()
        assert client.state.operations[OP].transcript.text == "mine"
        assert "someone-else" not in client.state.operations
        assert recorder.finished == []
